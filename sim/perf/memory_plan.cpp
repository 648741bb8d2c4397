#include "perf/memory_plan.hpp"

#include <cmath>

namespace aidc {

MemoryPlan plan_memory(const ModelSpec& model, const GpuSpec& gpu, const DeploymentSpec& d) {
  MemoryPlan plan;
  // Tensor parallelism shards every weight matrix; embeddings are sharded by vocabulary too.
  plan.weight_bytes_per_gpu = model.total_params() * bytes_per_value(d.precision) / d.tensor_parallel;
  // K/V heads shard across TP ranks; an MLA latent (or fewer KV heads than ranks) is replicated.
  const double kv_shards = model.attention == AttentionKind::MultiLatent
                               ? 1.0
                               : std::min<double>(d.tensor_parallel, model.kv_heads);
  plan.kv_bytes_per_token_per_gpu =
      model.kv_values_per_token_per_layer() * model.layers * bytes_per_value(d.kv_cache_precision) / kv_shards;
  plan.usable_bytes_per_gpu = gpu.memory_gb * 1e9 * d.kv_cache_memory_fraction;
  plan.kv_bytes_per_gpu = plan.usable_bytes_per_gpu - plan.weight_bytes_per_gpu - d.activation_reserve_gb * 1e9;
  if (plan.kv_bytes_per_gpu > 0 && plan.kv_bytes_per_token_per_gpu > 0) {
    plan.kv_blocks = static_cast<long long>(
        std::floor(plan.kv_bytes_per_gpu / (plan.kv_bytes_per_token_per_gpu * d.kv_block_tokens)));
    plan.kv_capacity_tokens = plan.kv_blocks * d.kv_block_tokens;
  }
  return plan;
}

}  // namespace aidc
