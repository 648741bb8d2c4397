#pragma once
#include "catalog/catalog.hpp"
#include "perf/collectives.hpp"
#include "core/model/operator_loads.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

// Operator-level roofline: every operator of a layer takes max(FLOPs / achievable FLOP/s,
// bytes / achievable bandwidth) on one tensor-parallel rank, plus collectives on the server's
// GPU-to-GPU links and a fixed per-iteration host overhead. Achievable = catalog peak x efficiency,
// with two regimes for the linear layers (weights x activations), which dominate a step: large-batch
// GEMMs at the precision's own linear efficiency, small-batch GEMVs reading their weights at the
// weight-read efficiency; attention and element-wise kernels at the microbenchmark efficiencies.
class RooflineModel final : public PerformanceModel {
 public:
  RooflineModel(const ModelConfig& model, const GpuSpec& gpu, const ServerSpec& server, const DeploymentSpec& deployment,
                double step_overhead_s);
  StepCost token_cost(int tokens, int logits_rows, int sequences) const override;
  StepCost attention_cost(const BatchShape& batch) const override;
  std::string description() const override;
  ModelFidelity fidelity() const override;

 private:
  // The operator's time at the given achievable rates, into the bound it falls under.
  static void add(StepCost& cost, const OperatorLoad& load, double flops_per_s, double bytes_per_s);
  void add(StepCost& cost, const OperatorLoad& load) const { add(cost, load, flops_per_s_, bytes_per_s_); }
  void add_linear(StepCost& cost, const OperatorLoad& load) const { add(cost, load, linear_flops_per_s_, weight_bytes_per_s_); }

  const ModelConfig model_;
  const GpuSpec gpu_;
  const int tp_;
  const double weight_bytes_, kv_bytes_;
  const double flops_per_s_, bytes_per_s_;
  const double linear_flops_per_s_, weight_bytes_per_s_;
  const Collectives collectives_;
  const double step_overhead_s_;
  const std::string precision_;
};

// Dense peak FLOP/s of a GPU at a precision (int4 is weight-only: bf16 math).
double peak_tflops(const GpuSpec& gpu, Precision precision);
// The fraction of that peak the linear layers of a serving step reach at large batch.
double linear_efficiency(const GpuSpec& gpu, Precision precision);

}  // namespace aidc
