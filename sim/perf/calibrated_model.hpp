#pragma once
// Iteration time from operator timings measured by `aidc-engine profile` (docs/calibration.md).
// Inside the measured grids: interpolation, linear in token and context counts. Outside them, for another
// GPU, or for another tensor-parallel degree: the nearest measurement scaled by the ratio of the
// operator's roofline times (target GPU over profiled GPU), and the report says how often.
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "core/calibration/profile.hpp"
#include "perf/collectives.hpp"
#include "core/model/operator_loads.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

// A measured curve y(x) over increasing x; interpolates linearly in x.
struct Curve {
  std::vector<double> x, y;  // null cells dropped
  double at(double value, bool& outside) const;
};

// A measured surface z(rows, cols); bilinear.
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
  std::optional<CalibrationProfile::EndToEnd> end_to_end;  // whole steps, timed by the same profile run
};

class CalibratedModel final : public PerformanceModel {
 public:
  CalibratedModel(const CalibrationProfile& profile, const ModelConfig& model, const GpuSpec& gpu, const ServerSpec& server,
                  const DeploymentSpec& deployment);
  StepCost token_cost(int tokens, int logits_rows, int sequences) const override;
  StepCost attention_cost(const BatchShape& batch) const override;
  std::string description() const override;
  ModelFidelity fidelity() const override;

 private:
  void add(StepCost& cost, double measured_us, const OperatorLoad& measured, const OperatorLoad& wanted, double count,
           bool rescale) const;
  void count(bool extrapolated) const;
  // The GPU work (compute- and memory-bound parts) of a step with `tokens` batch tokens, scaled by the
  // profile's whole-step correction at that size.
  void correct(StepCost& cost, int tokens) const;
  // `as_profiled`: priced on the profiled GPU and TP as measured, uncorrected (for the correction itself).
  StepCost token_cost_at(int tokens, int logits_rows, int sequences, bool as_profiled) const;
  StepCost attention_cost_at(const BatchShape& batch, bool as_profiled) const;
  Curve whole_step_correction() const;

  const MeasuredProfile profile_;
  const ModelConfig model_;
  const GpuSpec gpu_;
  const int tp_;
  const bool same_gpu_;
  const double weight_bytes_, kv_bytes_;
  const double target_flops_per_s_, target_bytes_per_s_;
  const Collectives collectives_;
  // Operators timed one at a time add up to more than the same step run whole (launch gaps and cold
  // caches between timed kernels; work that overlaps in a real step): measured whole step over the sum
  // of its operators, at the profile's own end-to-end points, by batch tokens. Identity without them.
  Curve step_correction_;
  // Operator evaluations, and those that left the measured grid, for the report.
  mutable long long evaluations_ = 0, extrapolated_ = 0;
};

}  // namespace aidc
