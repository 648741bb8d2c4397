#include "serving/replica_scheduler.hpp"

namespace aidc {
namespace {
// Iterations planned per fast-forward run. Arrivals usually cut a run after a few iterations, so
// planning far ahead is wasted work; an uninterrupted run simply continues with the next one.
constexpr int kMaxFastForwardIterations = 64;
}  // namespace

ReplicaScheduler::ReplicaScheduler(SchedulerLimits limits, const PerformanceModel& performance, bool fast_forward)
    : scheduler_(limits), performance_(performance), fast_forward_(fast_forward) {}

const std::vector<double>& ReplicaScheduler::plan(double now, ReplicaEvents& events) {
  const int run = fast_forward_ ? scheduler_.decode_run_length(kMaxFastForwardIterations) : 0;
  planned_decode_run_ = run > 0;
  if (planned_decode_run_) {
    plan_decode_run(run);
  } else {
    Stamped stamped(events, now);
    scheduler_.schedule(stamped);
    costs_.assign(1, performance_.step(scheduler_.shape()));
    durations_.assign(1, costs_.front().seconds(clock_fraction_));
  }
  return durations_;
}

void ReplicaScheduler::plan_decode_run(int iterations) {
  run_blocks_used_ = scheduler_.decode_run_blocks_used(iterations);
  shape_.clear();
  shape_.decode_sequences = static_cast<int>(scheduler_.running());
  shape_.logits_rows = shape_.decode_sequences;
  const double context = scheduler_.decode_context_tokens();
  // Only attention changes from one iteration of the run to the next.
  const StepCost fixed = performance_.token_cost(shape_.decode_sequences, shape_.logits_rows, shape_.decode_sequences);
  durations_.clear();
  costs_.clear();
  for (int s = 0; s < iterations; ++s) {
    shape_.decode_context_tokens = context + static_cast<double>(s) * shape_.decode_sequences;
    StepCost cost = fixed;
    cost += performance_.attention_cost(shape_);
    costs_.push_back(cost);
    durations_.push_back(cost.seconds(clock_fraction_));
  }
}

void ReplicaScheduler::apply(int iterations, double start, ReplicaEvents& events) {
  if (!planned_decode_run_) {
    const double end = start + durations_.front();
    work_done_ += costs_.front();
    const BatchShape& shape = scheduler_.shape();
    events.on_iteration(start, end, shape.prefill_tokens(), shape.logits_rows,
                        scheduler_.kv_blocks_used());
    Stamped stamped(events, end);
    scheduler_.update_from_output(stamped);
    return;
  }
  double time = start;
  const int sequences = static_cast<int>(scheduler_.running());
  for (int s = 1; s <= iterations; ++s) {
    const double end = time + durations_[static_cast<std::size_t>(s) - 1];
    work_done_ += costs_[static_cast<std::size_t>(s) - 1];
    events.on_iteration(time, end, 0, sequences, run_blocks_used_[static_cast<std::size_t>(s)]);
    time = end;
  }
  Stamped stamped(events, time);
  scheduler_.apply_decode_run(iterations, stamped);
}

}  // namespace aidc
