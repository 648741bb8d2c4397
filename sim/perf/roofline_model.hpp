#pragma once
#include "catalog/catalog.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

// Operator-level roofline: every operator of a layer takes max(FLOPs / achievable FLOP/s,
// bytes / achievable bandwidth) on one tensor-parallel rank, plus collectives on the server's
// GPU-to-GPU links and a fixed per-iteration overhead. Achievable = catalog peak x efficiency.
class RooflineModel final : public PerformanceModel {
 public:
  RooflineModel(const ModelSpec& model, const GpuSpec& gpu, const ServerSpec& server, const DeploymentSpec& deployment,
                double step_overhead_s);
  StepCost step(const BatchShape& batch) const override;
  std::string description() const override;

 private:
  void add_operator(StepCost& cost, double flops, double bytes) const;
  void add_layer_linears(StepCost& cost, double tokens, double layers, double weight_params, double activation_values) const;
  void add_attention(StepCost& cost, const BatchShape& batch) const;
  void add_mlp(StepCost& cost, double tokens) const;
  void add_collectives(StepCost& cost, double tokens) const;

  const ModelSpec model_;
  const GpuSpec gpu_;
  const int tp_, ep_;
  const double weight_bytes_, kv_bytes_;
  const double flops_per_s_, bytes_per_s_, link_bytes_per_s_;
  const double step_overhead_s_;
  const std::string precision_;
};

}  // namespace aidc
