#include "perf/memory_plan.hpp"

#include <cmath>

#include "catalog/catalog.hpp"
#include "scenario/scenario.hpp"

#include "core/model/operator_loads.hpp"

namespace aidc {

MemoryPlan plan_memory(const ModelConfig& model, const GpuSpec& gpu, const DeploymentSpec& d) {
  MemoryPlan plan;
  // Tensor parallelism shards every weight matrix; embeddings are sharded by vocabulary too.
  plan.weight_bytes_per_gpu = double(model.parameter_count()) * bytes_per_value(d.precision) / d.tensor_parallel;
  plan.kv_bytes_per_token_per_gpu =
      kv_bytes_per_token_per_rank(model, bytes_per_value(d.kv_cache_precision), d.tensor_parallel) * model.layers;
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
