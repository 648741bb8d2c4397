#pragma once
// The time one iteration of a replica takes, as a function of what is in the batch.
// Implementations: RooflineModel (operator-level, from catalog peaks) and, from engine
// measurements, a calibrated model. The replica scheduler only sees this interface.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/serving/batch_shape.hpp"

namespace aidc {

// Iteration time split by what bounds it, so slower clocks (power caps, throttling) can stretch
// only the compute-bound part.
struct StepCost {
  double compute_bound_s = 0;
  double memory_bound_s = 0;
  double communication_s = 0;
  double overhead_s = 0;
  double seconds(double clock_fraction = 1.0) const {
    return compute_bound_s / clock_fraction + memory_bound_s + communication_s + overhead_s;
  }
  StepCost& operator+=(const StepCost& o) {
    compute_bound_s += o.compute_bound_s;
    memory_bound_s += o.memory_bound_s;
    communication_s += o.communication_s;
    overhead_s += o.overhead_s;
    return *this;
  }
};

// What a report states about a model's own accuracy (docs/fidelity.md, "Error bands"): which kind of
// model, the relative error to expect from it (mean absolute error where it was checked against
// measurements) and where this run went beyond what it was checked on.
struct ModelFidelity {
  std::string kind;        // "profile" | "fit" | "roofline"
  std::string band_basis;  // where the band comes from
  double throughput_band = 0, tpot_band = 0;  // expected relative error of throughput and TPOT
  struct Range {
    int max_decode_batch = 0;
    double max_context_tokens = 0;  // mean KV length per decoding sequence, largest over steps
  };
  Range checked;                          // what the band was measured over
  Range seen;                             // what this run asked of the model
  std::vector<std::string> out_of_range;  // each way the run left the checked range, in words
};

// An iteration's cost splits in two: what depends only on how many tokens run, how many rows sample
// and how many sequences are scheduled (linear layers, MoE, norms, collectives, CPU overhead) - the
// same through a whole decode run - and attention, which grows with each sequence's context.
class PerformanceModel {
 public:
  virtual ~PerformanceModel() = default;
  virtual StepCost token_cost(int tokens, int logits_rows, int sequences) const = 0;
  virtual StepCost attention_cost(const BatchShape& batch) const = 0;
  StepCost step(const BatchShape& batch) const {
    if (batch.tokens() <= 0) return {};
    StepCost cost = token_cost(batch.tokens(), batch.logits_rows,
                               batch.decode_sequences + static_cast<int>(batch.prefills.size()));
    cost += attention_cost(batch);
    return cost;
  }
  // One line for reports: which model, from which data.
  virtual std::string description() const = 0;
  // Its accuracy and the range it was checked on, with what the run has asked of it so far; a model
  // nobody checked (a test's stand-in) states kind "unchecked" and no band.
  virtual ModelFidelity fidelity() const {
    ModelFidelity unchecked;
    unchecked.kind = "unchecked";
    return with_range_checks(unchecked);
  }

 protected:
  // Implementations call this from attention_cost (it sees every iteration's composition) so
  // fidelity() can say what the run asked for.
  void note(const BatchShape& batch) const {
    seen_.max_decode_batch = std::max(seen_.max_decode_batch, batch.decode_sequences);
    if (batch.decode_sequences > 0)
      seen_.max_context_tokens = std::max(seen_.max_context_tokens, batch.decode_context_tokens / batch.decode_sequences);
    for (const auto& chunk : batch.prefills)
      seen_.max_context_tokens = std::max(seen_.max_context_tokens, double(chunk.context_before + chunk.tokens));
  }
  // The checks every kind shares: batch and context beyond the checked range.
  ModelFidelity with_range_checks(ModelFidelity f) const {
    f.seen = seen_;
    if (f.checked.max_decode_batch > 0 && seen_.max_decode_batch > f.checked.max_decode_batch)
      f.out_of_range.push_back("decode batch " + std::to_string(seen_.max_decode_batch) + " > " +
                               std::to_string(f.checked.max_decode_batch) + " checked");
    if (f.checked.max_context_tokens > 0 && seen_.max_context_tokens > f.checked.max_context_tokens)
      f.out_of_range.push_back("context " + std::to_string(long(seen_.max_context_tokens)) + " tokens > " +
                               std::to_string(long(f.checked.max_context_tokens)) + " checked");
    return f;
  }

 private:
  mutable ModelFidelity::Range seen_;
};

}  // namespace aidc
