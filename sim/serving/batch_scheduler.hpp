#pragma once
// Iteration-level continuous batching as vLLM schedules it, as plain data (no SimGrid): waiting and
// running queues, a paged KV cache counted in blocks, admission by free blocks, preemption by
// recompute when blocks run out, and chunked prefill sharing a token budget with decodes.
//
// The replica actor asks for the next run of iterations, waits for it (or for an arrival), and then
// applies the iterations that finished. A run is one iteration, or - when every running sequence is
// decoding and nothing can be admitted - the iterations up to the next finish ("fast forward"):
// their outcome is known in advance, so the event loop need not stop at each of them.
#include <deque>
#include <memory>
#include <vector>

#include "perf/performance_model.hpp"
#include "serving/request.hpp"

namespace aidc {

struct SchedulerLimits {
  int max_batch_sequences = 256;
  int max_batch_tokens = 8192;
  int chunked_prefill_tokens = 2048;  // 0: a prompt is prefilled whole
  int kv_block_tokens = 16;
  long long kv_blocks = 0;
  int max_context = 1 << 30;  // the model's context window: longer requests are rejected
  bool shortest_prompt_first = false;
  bool fast_forward = true;
};

// What a replica reports while it works; the metrics recorder and the replica actor implement it.
class SchedulerEvents {
 public:
  virtual ~SchedulerEvents() = default;
  virtual void on_first_token(const Request& request, double time) = 0;
  virtual void on_finished(const Request& request, double time) = 0;
  // One iteration ran over [start, end) with these tokens and KV blocks in use.
  virtual void on_iteration(double start, double end, int prefill_tokens, int decode_tokens, long long kv_blocks_used) = 0;
  virtual void on_preempted(const Request& request, double time) = 0;
};

class BatchScheduler {
 public:
  BatchScheduler(SchedulerLimits limits, const PerformanceModel& performance);

  void enqueue(const Request& request);
  bool idle() const { return running_.empty() && waiting_.empty(); }
  std::size_t waiting() const { return waiting_.size(); }
  std::size_t running() const { return running_.size(); }
  long long kv_blocks_used() const { return limits_.kv_blocks - free_blocks_; }
  long long kv_blocks_total() const { return limits_.kv_blocks; }
  // True when the request can never fit this replica's KV cache, whatever else runs.
  bool can_never_fit(const Request& request) const;

  // Clock the GPUs run at (power limit, thermal throttling), (0, 1]: stretches the compute-bound
  // part of the iterations planned from now on.
  void set_clock_fraction(double clock_fraction) { clock_fraction_ = clock_fraction; }
  // Cost of the iterations applied so far, at nominal clocks: what the facility model turns into watts.
  const StepCost& work_done() const { return work_done_; }
  // Removes every request, running or waiting, and frees their KV blocks: the replica failed.
  std::vector<Request> take_all();

  // Plans the next run of iterations from the current state; returns their durations in order.
  // Call only when !idle(). Planning one iteration may preempt sequences (reported via events).
  const std::vector<double>& plan(double now, SchedulerEvents& events);
  // Applies the first `iterations` iterations of the planned run, which started at `start`.
  void apply(int iterations, double start, SchedulerEvents& events);

 private:
  struct Sequence {
    Request request;
    int prompt = 0;       // tokens to prefill: the prompt, plus generated tokens after a preemption
    int computed = 0;     // tokens whose KV is cached
    int generated = 0;
    long long blocks = 0;
    int scheduled = 0;    // tokens in the planned iteration
    bool samples = false;  // the planned iteration samples a token for it
    bool first_token_sent = false;
    bool decoding() const { return computed >= prompt; }
  };

  long long blocks_for(long long tokens) const;
  void preempt(std::size_t running_index, double now, SchedulerEvents& events);
  void plan_single_iteration(double now, SchedulerEvents& events);
  bool can_fast_forward() const;
  void plan_decode_run();
  void apply_single_iteration(double start, SchedulerEvents& events);
  void apply_decode_run(int iterations, double start, SchedulerEvents& events);
  void finish_sequence(std::size_t running_index, double time, SchedulerEvents& events);
  int admissible_chunk(const Sequence& seq, int budget) const;
  std::size_t next_waiting() const;  // index in waiting_ of the next to admit

  SchedulerLimits limits_;
  const PerformanceModel& performance_;
  long long free_blocks_;
  std::deque<Sequence> waiting_;
  std::vector<Sequence> running_;  // in admission order; the last is preempted first
  BatchShape shape_;
  std::vector<double> durations_;
  std::vector<StepCost> costs_;  // [i]: the planned iteration i at nominal clocks
  double clock_fraction_ = 1.0;
  StepCost work_done_;
  std::vector<long long> run_blocks_used_;  // [i]: blocks in use after iteration i of a decode run
  bool planned_decode_run_ = false;
};

}  // namespace aidc
