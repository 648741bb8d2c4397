#pragma once
#include "catalog/catalog.hpp"
#include "perf/collectives.hpp"
#include "core/model/operator_loads.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

// Operator-level roofline: every operator of a layer takes max(FLOPs / achievable FLOP/s,
// bytes / achievable bandwidth) on one tensor-parallel rank, plus collectives on the server's
// GPU-to-GPU links and a fixed per-iteration overhead. Achievable = catalog peak x efficiency.
class RooflineModel final : public PerformanceModel {
 public:
  RooflineModel(const ModelConfig& model, const GpuSpec& gpu, const ServerSpec& server, const DeploymentSpec& deployment,
                double step_overhead_s);
  StepCost token_cost(int tokens, int logits_rows, int sequences) const override;
  StepCost attention_cost(const BatchShape& batch) const override;
  std::string description() const override;

 private:
  void add(StepCost& cost, const OperatorLoad& load) const;

  const ModelConfig model_;
  const GpuSpec gpu_;
  const int tp_;
  const double weight_bytes_, kv_bytes_;
  const double flops_per_s_, bytes_per_s_;
  const Collectives collectives_;
  const double step_overhead_s_;
  const std::string precision_;
};

// Dense peak FLOP/s of a GPU at a precision (int4 is weight-only: bf16 math).
double peak_tflops(const GpuSpec& gpu, Precision precision);

}  // namespace aidc
