#pragma once
// Two DeepSeek serving features as a layer over any performance model (docs/deepseek-scale.md):
//  - multi-token prediction: each decode step also runs the MTP module and verifies one draft token
//    per sequence, so it computes two tokens per sequence and yields 1 + acceptance of them on average.
//    The scheduler emits one token per step, so a decode-only step is reported at its time divided by
//    the tokens it yields: tokens per second and mean TPOT come out right; steps that also prefill run
//    without drafts.
//  - prefix cache: that share of each prompt chunk's tokens is read from the cache, not computed; they
//    count as context the computed tokens attend to.
#include <memory>

#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

// Expected tokens one step yields with `draft_tokens` drafts, each accepted with probability
// `acceptance` when every draft before it was: 1 + a + a^2 + ... + a^draft_tokens.
double mtp_tokens_per_step(double acceptance, int draft_tokens);

class SpeculationAndCacheModel final : public PerformanceModel {
 public:
  SpeculationAndCacheModel(std::unique_ptr<PerformanceModel> inner, const DeploymentSpec& deployment, int layers);
  StepCost token_cost(int tokens, int logits_rows, int sequences) const override;
  StepCost attention_cost(const BatchShape& batch) const override;
  std::string description() const override;
  ModelFidelity fidelity() const override { return inner_->fidelity(); }

 private:
  bool drafts(int tokens, int sequences) const { return mtp_ && tokens == sequences; }
  const std::unique_ptr<PerformanceModel> inner_;
  const bool mtp_;
  const double tokens_per_step_, mtp_layer_share_, hit_rate_;
};

// Wraps `inner` when the deployment asks for either feature; else returns it as is.
std::unique_ptr<PerformanceModel> with_speculation_and_cache(std::unique_ptr<PerformanceModel> inner,
                                                             const DeploymentSpec& deployment, int layers);

}  // namespace aidc
