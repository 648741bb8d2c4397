#include "perf/speculation_and_cache.hpp"

#include <cmath>
#include <cstdio>

namespace aidc {
namespace {
constexpr int kMtpDrafts = 1;  // DeepSeek-V3 ships one MTP module: one draft token per step
}

double mtp_tokens_per_step(double acceptance, int draft_tokens) {
  double tokens = 1, run = 1;
  for (int i = 0; i < draft_tokens; ++i) tokens += (run *= acceptance);
  return tokens;
}

SpeculationAndCacheModel::SpeculationAndCacheModel(std::unique_ptr<PerformanceModel> inner, const DeploymentSpec& d, int layers)
    : inner_(std::move(inner)),
      mtp_(d.mtp_acceptance > 0),
      tokens_per_step_(mtp_tokens_per_step(d.mtp_acceptance, kMtpDrafts)),
      mtp_layer_share_(1.0 + double(kMtpDrafts) / layers),  // the MTP module is one more transformer layer
      hit_rate_(d.prefix_cache_hit_rate) {}

namespace {
StepCost scaled(StepCost cost, double k) {
  cost.compute_bound_s *= k, cost.memory_bound_s *= k, cost.communication_s *= k, cost.overhead_s *= k;
  return cost;
}
}  // namespace

StepCost SpeculationAndCacheModel::token_cost(int tokens, int logits_rows, int sequences) const {
  if (drafts(tokens, sequences)) {
    const StepCost both = inner_->token_cost(2 * tokens, 2 * logits_rows, sequences);
    StepCost cost = scaled(both, mtp_layer_share_ / tokens_per_step_);
    cost.overhead_s = both.overhead_s / tokens_per_step_;  // the host's work per step does not grow with the MTP layer
    return cost;
  }
  // Prompt tokens beyond one per sequence are the prefill's; the cached share of them is not computed.
  const int cached = static_cast<int>(std::lround(hit_rate_ * std::max(0, tokens - sequences)));
  return inner_->token_cost(tokens - cached, logits_rows, sequences);
}

StepCost SpeculationAndCacheModel::attention_cost(const BatchShape& batch) const {
  if (drafts(batch.tokens(), batch.decode_sequences + static_cast<int>(batch.prefills.size()))) {
    BatchShape verify = batch;  // the token and its draft, the draft seeing one more key
    verify.decode_sequences = 2 * batch.decode_sequences;
    verify.decode_context_tokens = 2 * batch.decode_context_tokens + batch.decode_sequences;
    verify.logits_rows = 2 * batch.logits_rows;
    return scaled(inner_->attention_cost(verify), mtp_layer_share_ / tokens_per_step_);
  }
  BatchShape computed = batch;
  for (auto& chunk : computed.prefills) {
    const int cached = static_cast<int>(std::lround(hit_rate_ * chunk.tokens));
    chunk.tokens -= cached;
    chunk.context_before += cached;
  }
  return inner_->attention_cost(computed);
}

std::string SpeculationAndCacheModel::description() const {
  char text[160];
  std::snprintf(text, sizeof text, "; MTP %.2f tokens per decode step, %.0f%% of prompt tokens from the prefix cache",
                mtp_ ? tokens_per_step_ : 1.0, hit_rate_ * 100);
  return inner_->description() + text;
}

std::unique_ptr<PerformanceModel> with_speculation_and_cache(std::unique_ptr<PerformanceModel> inner, const DeploymentSpec& d,
                                                             int layers) {
  if (d.mtp_acceptance <= 0 && d.prefix_cache_hit_rate <= 0) return inner;
  return std::make_unique<SpeculationAndCacheModel>(std::move(inner), d, layers);
}

}  // namespace aidc
