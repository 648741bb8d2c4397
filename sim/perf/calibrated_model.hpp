#pragma once
// Iteration time from operator timings measured by `aidc-engine profile` (docs/calibration.md).
// Inside the measured grids: interpolation (log-linear in token counts). Outside them, for another
// GPU, or for another tensor-parallel degree: the nearest measurement scaled by the ratio of the
// operator's roofline times (target GPU over profiled GPU), and the report says how often.
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "core/calibration/profile.hpp"
#include "perf/collectives.hpp"
#include "core/model/operator_loads.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

// A measured curve y(x) over increasing x; interpolates linearly in log(x).
struct Curve {
  std::vector<double> x, y;  // null cells dropped
  double at(double value, bool& outside) const;
};

// A measured surface z(rows, cols); bilinear in log space.
struct Surface {
  std::vector<double> rows, cols;
  std::vector<std::vector<double>> z;  // z[i][j]; NaN where not measured
  double at(double row, double col, bool& outside) const;
};

// What the model uses of a calibration profile, as curves and surfaces to interpolate.
struct MeasuredProfile {
  std::string file, gpu_name, driver, date, precision;
  int tp = 1;
  double copy_gb_s = 0, gemm_tflops = 0;
  struct Operator {
    std::string name;
    double in = 0, out = 0;  // linear layers: the measured GEMM's shape
    int per_layer = 1;       // 0: once per step
    Curve time_us;           // unmeasured cells dropped
  };
  std::vector<Operator> linears, elementwise;
  Surface prefill_attention, decode_attention;
  Curve moe_time_us, step_overhead_us;
};

class CalibratedModel final : public PerformanceModel {
 public:
  CalibratedModel(const CalibrationProfile& profile, const ModelConfig& model, const GpuSpec& gpu, const ServerSpec& server,
                  const DeploymentSpec& deployment);
  StepCost token_cost(int tokens, int logits_rows, int sequences) const override;
  StepCost attention_cost(const BatchShape& batch) const override;
  std::string description() const override;

 private:
  void add(StepCost& cost, double measured_us, const OperatorLoad& measured, const OperatorLoad& wanted, double count,
           bool rescale) const;
  void count(bool extrapolated) const;

  const MeasuredProfile profile_;
  const ModelConfig model_;
  const GpuSpec gpu_;
  const int tp_;
  const bool same_gpu_;
  const double weight_bytes_, kv_bytes_;
  const double target_flops_per_s_, target_bytes_per_s_;
  const Collectives collectives_;
  // Operator evaluations, and those that left the measured grid, for the report.
  mutable long long evaluations_ = 0, extrapolated_ = 0;
};

}  // namespace aidc
