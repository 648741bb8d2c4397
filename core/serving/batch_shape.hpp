#pragma once
// What one scheduler iteration computes, as the performance models and the engine's profiler see it.
#include <vector>

namespace aidc {

struct PrefillChunk {
  int tokens = 0;          // prompt tokens computed in this iteration
  int context_before = 0;  // tokens of the same request already in the KV cache
};

// Reused between iterations to avoid allocating on the hot path.
struct BatchShape {
  std::vector<PrefillChunk> prefills;
  int decode_sequences = 0;
  double decode_context_tokens = 0;  // sum over decoding sequences of their KV length
  int logits_rows = 0;               // sequences that sample a token this iteration

  int prefill_tokens() const {
    int total = 0;
    for (const auto& chunk : prefills) total += chunk.tokens;
    return total;
  }
  int tokens() const { return prefill_tokens() + decode_sequences; }
  void clear() {
    prefills.clear();
    decode_sequences = 0;
    decode_context_tokens = 0;
    logits_rows = 0;
  }
};

}  // namespace aidc
