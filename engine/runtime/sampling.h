#pragma once
// CPU reference of token sampling (greedy; temperature with top-p). The GPU kernel in
// kernels/sampling.cu follows the same rule so both pick the same token for the same draw.
#include <cstdint>

#include "runtime/batch.h"

namespace aidc {

// The kept set is every token whose probability is >= the smallest probability of the highest-
// probability prefix whose mass reaches top_p; the token is found by walking the kept set in index
// order until the running mass exceeds u * kept mass, u = hash_unit(seed, draw).
int sample_token(const float* logits, int vocab, const SamplingParams& params, uint64_t draw);
// The same rule with the uniform u given (what the GPU kernel receives, drawn on the host).
int sample_with_uniform(const float* logits, int vocab, float temperature, float top_p, float u);

}  // namespace aidc
