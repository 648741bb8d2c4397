#pragma once
// A replica's batching in simulated time: the shared scheduler (core/serving) decides each iteration,
// the performance model says how long it takes. The replica actor asks for the next run of
// iterations, waits for it (or for an arrival), and then applies the iterations that finished. A run
// is one iteration or, with fast forward, a decode run up to the next finish: its outcome is known in
// advance, so the event loop need not stop at each of its iterations.
#include <vector>

#include "core/serving/scheduler.hpp"
#include "perf/performance_model.hpp"

namespace aidc {

// What a replica reports while it works, at simulated times; the replica actor implements it.
class ReplicaEvents {
 public:
  virtual ~ReplicaEvents() = default;
  virtual void on_first_token(const Request& request, double time) = 0;
  virtual void on_finished(const Request& request, double time) = 0;
  // One iteration ran over [start, end) with these tokens and KV blocks in use.
  virtual void on_iteration(double start, double end, int prefill_tokens, int decode_tokens, long long kv_blocks_used) = 0;
  virtual void on_preempted(const Request& request, double time) = 0;
};

class ReplicaScheduler {
 public:
  ReplicaScheduler(SchedulerLimits limits, const PerformanceModel& performance, bool fast_forward);

  const Scheduler& scheduler() const { return scheduler_; }
  void enqueue(const Request& request) { scheduler_.add(request); }
  bool resume(const Request& request, int computed, int generated) { return scheduler_.resume(request, computed, generated); }
  bool can_never_fit(const Request& request) const { return scheduler_.can_never_fit(request); }
  bool idle() const { return scheduler_.idle(); }
  std::size_t waiting() const { return scheduler_.waiting(); }
  std::vector<Request> take_all() { return scheduler_.take_all(); }

  // Clock the GPUs run at (power limit, thermal throttling), (0, 1]: stretches the compute-bound
  // part of the iterations planned from now on.
  void set_clock_fraction(double clock_fraction) { clock_fraction_ = clock_fraction; }
  // Cost of the iterations applied so far, at nominal clocks: what the facility model turns into watts.
  const StepCost& work_done() const { return work_done_; }

  // Plans the next run of iterations from the current state; returns their durations in order.
  // Call only when !idle(). Planning one iteration may preempt sequences (reported via events).
  const std::vector<double>& plan(double now, ReplicaEvents& events);
  // Applies the first `iterations` iterations of the planned run, which started at `start`.
  void apply(int iterations, double start, ReplicaEvents& events);

 private:
  // The shared scheduler's events, stamped with the simulated time they happen at.
  class Stamped final : public SchedulerEvents {
   public:
    Stamped(ReplicaEvents& events, double time) : events_(events), time_(time) {}
    void on_first_token(const Request& r) override { events_.on_first_token(r, time_); }
    void on_finished(const Request& r) override { events_.on_finished(r, time_); }
    void on_preempted(const Request& r) override { events_.on_preempted(r, time_); }

   private:
    ReplicaEvents& events_;
    double time_;
  };

  void plan_decode_run(int iterations);

  Scheduler scheduler_;
  const PerformanceModel& performance_;
  const bool fast_forward_;
  BatchShape shape_;
  std::vector<double> durations_;
  std::vector<StepCost> costs_;  // [i]: the planned iteration i at nominal clocks
  std::vector<long long> run_blocks_used_;  // [i]: blocks in use after iteration i of a decode run
  double clock_fraction_ = 1.0;
  StepCost work_done_;
  bool planned_decode_run_ = false;
};

}  // namespace aidc
