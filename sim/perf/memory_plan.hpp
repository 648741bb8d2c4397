#pragma once
// How a replica's GPU memory divides into weights, a reserve, and the paged KV cache, for the
// replica's layout (tensor, pipeline and expert parallelism, data-parallel attention).
// The scenario loader plans it once per scenario (Scenario::memory); the run and the reports read that.
namespace aidc {

struct ModelConfig;
struct GpuSpec;
struct DeploymentSpec;

struct MemoryPlan {
  double weight_bytes_per_gpu = 0;
  double kv_bytes_per_token_per_gpu = 0;  // all layers this GPU caches
  double usable_bytes_per_gpu = 0;        // memory * kv_cache_memory_fraction
  double kv_bytes_per_gpu = 0;            // what is left for the KV cache (may be negative)
  long long kv_blocks = 0;                // per replica (every attention group's together)
  long long kv_capacity_tokens = 0;       // per replica
  long long kv_tokens_per_attention_group = 0;  // what one sequence can use at most
};

// Weight parameters one GPU holds. Tensor parallelism shards every matrix; pipeline stages split the
// layers evenly; with data-parallel attention each group of tensor_parallel GPUs holds everything but
// the routed experts, which (with their redundant copies) are sharded over all expert_parallel GPUs.
double weight_parameters_per_gpu(const ModelConfig& model, const DeploymentSpec& deployment);
MemoryPlan plan_memory(const ModelConfig& model, const GpuSpec& gpu, const DeploymentSpec& deployment);

}  // namespace aidc
