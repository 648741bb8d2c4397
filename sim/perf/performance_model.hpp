#pragma once
// The time one iteration of a replica takes, as a function of what is in the batch.
// Implementations: RooflineModel (operator-level, from catalog peaks) and, from engine
// measurements, a calibrated model. The replica scheduler only sees this interface.
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
};

}  // namespace aidc
