#include "perf/memory_plan.hpp"

#include <cmath>

#include "catalog/catalog.hpp"
#include "scenario/scenario.hpp"

#include "core/model/operator_loads.hpp"

namespace aidc {

double weight_parameters_per_gpu(const ModelConfig& model, const DeploymentSpec& d) {
  const double total = double(model.parameter_count());
  if (!d.data_parallel_attention) return total / (d.tensor_parallel * d.pipeline_parallel);
  const double routed_per_layer = double(model.moe.n_routed_experts) * double(model.expert_parameters());
  const double routed = routed_per_layer * model.moe_layer_count();
  const double experts_held = double(model.moe.n_routed_experts + d.redundant_experts) / d.expert_parallel;
  return (total - routed) / d.tensor_parallel + experts_held * double(model.expert_parameters()) * model.moe_layer_count();
}

namespace {
constexpr double kBytesPerGiB = 1024.0 * 1024.0 * 1024.0;
}  // namespace

MemoryPlan plan_memory(const ModelConfig& model, const GpuSpec& gpu, const DeploymentSpec& d) {
  MemoryPlan plan;
  plan.weight_bytes_per_gpu = weight_parameters_per_gpu(model, d) * bytes_per_value(d.precision);
  // A pipeline stage caches its own layers (the first stages take the remainder); a data-parallel
  // attention group caches its own sequences only.
  const int layers_cached = (model.layers + d.pipeline_parallel - 1) / d.pipeline_parallel;
  plan.kv_bytes_per_token_per_gpu =
      kv_bytes_per_token_per_rank(model, bytes_per_value(d.kv_cache_precision), d.tensor_parallel) * layers_cached;
  // HBM capacities are binary: an "80 GB" H100 holds 80 GiB, of which CUDA reports 79.6 (docs/catalog.md).
  plan.usable_bytes_per_gpu = gpu.memory_gb * kBytesPerGiB * d.kv_cache_memory_fraction;
  plan.kv_bytes_per_gpu = plan.usable_bytes_per_gpu - plan.weight_bytes_per_gpu - d.activation_reserve_gb * 1e9;
  if (plan.kv_bytes_per_gpu > 0 && plan.kv_bytes_per_token_per_gpu > 0) {
    const long long blocks_per_group = static_cast<long long>(
        std::floor(plan.kv_bytes_per_gpu / (plan.kv_bytes_per_token_per_gpu * d.kv_block_tokens)));
    plan.kv_tokens_per_attention_group = blocks_per_group * d.kv_block_tokens;
    plan.kv_blocks = blocks_per_group * d.attention_groups();
    plan.kv_capacity_tokens = plan.kv_blocks * d.kv_block_tokens;
  }
  return plan;
}

}  // namespace aidc
