#pragma once
// One scheduler iteration as the model backends see it, and the interface both backends implement.
#include <cstdint>
#include <vector>

#include "model/config.h"

namespace aidc {

// The new tokens of one sequence in this step. Their K/V are appended to the paged cache at
// positions start_pos .. start_pos + n_tokens - 1; `blocks` covers all of them.
struct SeqChunk {
  int start_pos = 0;
  int n_tokens = 0;
  std::vector<int> blocks;
  bool all_logits = false;  // logits for every new token (parity tests), else only for the last
};

struct StepBatch {
  std::vector<int> tokens;  // the chunks' tokens, concatenated in order
  std::vector<SeqChunk> seqs;
  int logit_rows() const {
    int rows = 0;
    for (const SeqChunk& s : seqs) rows += s.all_logits ? s.n_tokens : 1;
    return rows;
  }
};

struct SamplingParams {
  float temperature = 0.0f;  // 0: greedy
  float top_p = 1.0f;
  uint64_t seed = 0;
};

// One logits row to sample from: the row, its parameters and the draw index (decode step).
struct SampleRequest {
  int row = 0;
  SamplingParams params;
  uint64_t draw = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const ModelConfig& config() const = 0;
  virtual int kv_blocks() const = 0;
  virtual int kv_block_tokens() const = 0;
  // Runs the model on `batch`, keeping logits_rows() x vocab logits inside the backend.
  virtual void forward(const StepBatch& batch) = 0;
  virtual std::vector<float> logits() = 0;
  virtual std::vector<int> sample(const std::vector<SampleRequest>& requests) = 0;
};

}  // namespace aidc
