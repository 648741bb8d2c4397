#pragma once
// Step time of replicas that span servers (docs/deepseek-scale.md).
//  - Pipeline parallel: the stages run one after another for a batch, so a step costs what the whole
//    model costs at the stage's tensor parallelism (the inner model) plus one activation send across
//    servers per stage boundary.
//  - Expert parallel with data-parallel attention (DeepSeek's EP32 / EP144): each of the replica's
//    attention groups (tensor_parallel GPUs) runs its share of the sequences through attention, the
//    dense layers and the shared experts; every GPU runs the routed experts it holds for the whole
//    replica's tokens (times the routing skew: the busiest GPU sets the step); dispatch (fp8 when the
//    weights are) and combine (bf16) all-to-all per MoE layer over NVLink and the fabric, hidden behind
//    compute with two micro-batches when asked.
#include <memory>

#include "catalog/catalog.hpp"
#include "core/model/operator_loads.hpp"
#include "perf/collectives.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

// How many of `servers` (holding a replica's routed experts in order) one token's experts reach on
// average: with group-limited routing (DeepSeek-V3: 4 of 8 groups) when the groups split evenly over the
// servers, else with its experts drawn uniformly.
double expected_servers_reached(const ModelConfig& model, int servers);

class ParallelLayoutModel final : public PerformanceModel {
 public:
  // `inner` times one pipeline stage's tensor-parallel group (pipeline layouts); unused with
  // data-parallel attention, which is timed from the catalog peaks as the roofline model does.
  ParallelLayoutModel(std::unique_ptr<PerformanceModel> inner, const ModelConfig& model, const GpuSpec& gpu,
                      const ServerSpec& server, const DatacenterSpec& datacenter, const DeploymentSpec& deployment,
                      double step_overhead_s);
  StepCost token_cost(int tokens, int logits_rows, int sequences) const override;
  StepCost attention_cost(const BatchShape& batch) const override;
  std::string description() const override;
  // Pipeline: the inner model's; data-parallel attention: its error against DeepSeek's own profile.
  ModelFidelity fidelity() const override;

  // The all-to-all of one MoE layer for `tokens` of the whole replica: dispatch and combine, seconds;
  // DeepEP's low-latency kernels for decode-only steps, its normal kernels for steps that prefill.
  double moe_all_to_all_seconds(double tokens, bool decode_only) const;

 private:
  StepCost expert_parallel_token_cost(double tokens, int logits_rows) const;
  // Compute and memory time of one micro-batch of `tokens` through every layer, without communication.
  StepCost micro_batch_compute(double tokens, double logits_rows) const;
  void add(StepCost& cost, const OperatorLoad& load, bool linear) const;

  const std::unique_ptr<PerformanceModel> inner_;
  const ModelConfig model_;
  const DeploymentSpec deployment_;
  const int gpus_per_server_;
  const RankSpread spread_;
  const FabricRates rates_;
  const double weight_bytes_, kv_bytes_, dispatch_bytes_;
  const double flops_per_s_, bytes_per_s_, linear_flops_per_s_, weight_bytes_per_s_;
  const double step_overhead_s_;
  const std::string gpu_id_;
};

}  // namespace aidc
