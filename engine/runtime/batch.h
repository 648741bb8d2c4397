#pragma once
// One scheduler iteration as the model backends see it, and the interface both backends implement.
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "core/model/config.hpp"

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

// Expert choices of a forward's routed (MoE) layers: [MoE layer][token * k + slot].
using ExpertChoices = std::vector<std::vector<int>>;

// Forced choices must name one list per MoE layer, k experts per token, each an expert of the model.
inline void require_valid_choices(const ModelConfig& c, const ExpertChoices& choices, int tokens) {
  const int k = c.moe.experts_per_token, experts = c.moe.n_routed_experts;
  require(static_cast<int>(choices.size()) == c.moe_layer_count(),
          "forced routing: " + std::to_string(choices.size()) + " layers given, the model has " +
              std::to_string(c.moe_layer_count()) + " MoE layers");
  for (size_t l = 0; l < choices.size(); ++l) {
    require(static_cast<int>(choices[l].size()) == tokens * k,
            "forced routing: MoE layer " + std::to_string(l) + " has " + std::to_string(choices[l].size()) +
                " choices, expected " + std::to_string(tokens) + " tokens x " + std::to_string(k));
    for (int e : choices[l])
      require(e >= 0 && e < experts, "forced routing: expert " + std::to_string(e) + " in MoE layer " +
                                         std::to_string(l) + " is not one of the model's " + std::to_string(experts));
  }
}

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
  // Comparisons with another implementation (tests, scripts/hf_parity.py): the next forward routes
  // every token to these experts instead of its own choice, its weights still from its own scores,
  // so logits differ by arithmetic alone; and, while recording, the last forward's own choices.
  virtual void force_routing(ExpertChoices experts) = 0;
  virtual void record_routing(bool on) = 0;
  virtual ExpertChoices routing_trace() = 0;
};

}  // namespace aidc
