#pragma once
// Steady-state throughput of one replica serving only prefill or only decode, the way a disaggregated
// pool runs (docs/deepseek-scale.md): what a published deployment reports per node, and what planning a
// prefill pool and a decode pool jointly starts from.
#include "perf/memory_plan.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

// Input tokens per second (prefix-cache hits included) when every step prefills as many whole prompts
// of `prompt_tokens` as max_batch_tokens holds (at least one).
double prefill_tokens_per_s(const PerformanceModel& performance, const DeploymentSpec& deployment, double prompt_tokens);

struct DecodeThroughput {
  int sequences = 0;        // in the replica's batch
  double step_s = 0;        // per output token (MTP included)
  double tokens_per_s = 0;  // output tokens, the whole replica
};
// The largest decode batch whose time per output token meets `tpot_s` and whose KV fits (each sequence
// holding `kv_tokens_per_sequence` at most, attending to `mean_context` on average), and its throughput.
DecodeThroughput decode_throughput(const PerformanceModel& performance, const DeploymentSpec& deployment, const MemoryPlan& memory,
                                   double mean_context, double kv_tokens_per_sequence, double tpot_s);

// A prefill pool and a decode pool sized together for a request rate: prefill replicas for the input
// tokens, decode replicas for the output tokens at the decode replica's throughput under the TPOT bound,
// each rounded up to whole replicas.
struct PoolSizes {
  int prefill_replicas = 0, decode_replicas = 0;
};
PoolSizes size_pools(double requests_per_s, double prompt_tokens, double output_tokens, double prefill_replica_tokens_per_s,
                     const DecodeThroughput& decode_replica);

}  // namespace aidc
