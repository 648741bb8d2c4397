#include "perf/pool_throughput.hpp"

#include <algorithm>
#include <cmath>

namespace aidc {

double prefill_tokens_per_s(const PerformanceModel& performance, const DeploymentSpec& d, double prompt_tokens) {
  const int prompts = std::max(1, static_cast<int>(d.max_batch_tokens / prompt_tokens));
  BatchShape batch;
  batch.prefills.assign(static_cast<std::size_t>(prompts), {static_cast<int>(prompt_tokens), 0});
  batch.logits_rows = prompts;
  return prompts * prompt_tokens / performance.step(batch).seconds();
}

DecodeThroughput decode_throughput(const PerformanceModel& performance, const DeploymentSpec& d, const MemoryPlan& memory,
                                   double mean_context, double kv_tokens_per_sequence, double tpot_s) {
  auto step_s = [&](int sequences) {
    BatchShape batch;
    batch.decode_sequences = batch.logits_rows = sequences;
    batch.decode_context_tokens = sequences * mean_context;
    return performance.step(batch).seconds();
  };
  const int fit = static_cast<int>(std::floor(double(memory.kv_capacity_tokens) / kv_tokens_per_sequence));
  int low = 0, high = std::min(d.max_batch_sequences, fit);  // step time grows with the batch: bisect
  while (low < high) {
    const int mid = (low + high + 1) / 2;
    if (step_s(mid) <= tpot_s)
      low = mid;
    else
      high = mid - 1;
  }
  DecodeThroughput result;
  if (low == 0) return result;
  result.sequences = low;
  result.step_s = step_s(low);
  result.tokens_per_s = low / result.step_s;
  return result;
}

PoolSizes size_pools(double requests_per_s, double prompt_tokens, double output_tokens, double prefill_replica_tokens_per_s,
                     const DecodeThroughput& decode_replica) {
  PoolSizes sizes;
  sizes.prefill_replicas = static_cast<int>(std::ceil(requests_per_s * prompt_tokens / prefill_replica_tokens_per_s));
  sizes.decode_replicas = static_cast<int>(std::ceil(requests_per_s * output_tokens / decode_replica.tokens_per_s));
  return sizes;
}

}  // namespace aidc
