#pragma once
// How a replica's GPU memory divides into weights, a reserve, and the paged KV cache.
// The scenario loader plans it once per scenario (Scenario::memory); the run and the reports read that.
namespace aidc {

struct ModelConfig;
struct GpuSpec;
struct DeploymentSpec;

struct MemoryPlan {
  double weight_bytes_per_gpu = 0;
  double kv_bytes_per_token_per_gpu = 0;  // all layers
  double usable_bytes_per_gpu = 0;        // memory * kv_cache_memory_fraction
  double kv_bytes_per_gpu = 0;            // what is left for the KV cache (may be negative)
  long long kv_blocks = 0;                // per replica
  long long kv_capacity_tokens = 0;
};

MemoryPlan plan_memory(const ModelConfig& model, const GpuSpec& gpu, const DeploymentSpec& deployment);

}  // namespace aidc
