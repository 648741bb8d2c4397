#pragma once
// Iteration-level continuous batching as vLLM schedules it, as plain data: waiting and running
// queues, a paged KV cache of numbered blocks, admission by free blocks, preemption by recompute when
// blocks run out, chunked prefill sharing a per-iteration token budget with decodes, a cap on running
// sequences and the model's context limit.
//
// ONE scheduler for aidc: the engine's runtime runs the batch it returns on a GPU or CPU backend; the
// simulator's replica asks its performance model how long that batch takes. Like vLLM v1,
// schedule() returns what to run and update_from_output() takes what came of it.
//
// Decode runs (the simulator's fast forward): when every running sequence decodes and nothing
// waiting can be admitted, the coming iterations are fixed until a sequence finishes or the cache
// runs out of blocks, so they can be planned and applied together.
#include <cstdint>
#include <deque>
#include <vector>

#include "core/serving/batch_shape.hpp"
#include "core/serving/request.hpp"

namespace aidc {

struct SchedulerLimits {
  int max_batch_sequences = 256;      // running sequences
  int max_batch_tokens = 8192;        // tokens per iteration, prefill chunks and decodes together
  int chunked_prefill_tokens = 2048;  // largest prefill chunk; 0: a prompt is prefilled whole
  int kv_block_tokens = 16;
  long long kv_blocks = 0;
  int max_context = 1 << 30;  // the model's context window: longer requests can never run
  bool shortest_prompt_first = false;
};

// What the scheduler tells its user as requests move; the engine streams tokens from these, the
// simulator's replica turns them into messages at the iteration's end time.
class SchedulerEvents {
 public:
  virtual ~SchedulerEvents() = default;
  virtual void on_first_token(const Request& request) = 0;
  virtual void on_finished(const Request& request) = 0;
  virtual void on_preempted(const Request& request) = 0;
};

// One sequence's share of the planned iteration. Valid until the next call that changes the scheduler.
// (Plain pointers, not std::span: the engine's CUDA files compile as C++17.)
struct ScheduledSequence {
  const Request* request = nullptr;
  int start = 0;        // position of its first new token: tokens already in the KV cache
  int tokens = 0;       // new tokens this iteration (1 when decoding)
  bool samples = false;  // this iteration's logits give its next token
  const std::vector<int>* blocks = nullptr;  // KV blocks holding positions [0, start + tokens), in order
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerLimits limits);

  const SchedulerLimits& limits() const { return limits_; }
  // True when the request can never run here, whatever else runs: longer than the context, than the
  // whole KV cache, or (without chunking) than an iteration's token budget.
  bool can_never_fit(const Request& request) const;
  void add(const Request& request);
  // A request that made progress before it came here (a run started from a snapshot of a deployment,
  // a request moving between pools): `generated` output tokens exist and `computed` of its prompt and
  // generated tokens have their KV in this cache. With computed > 0 it joins the running batch holding
  // blocks for them; with 0 it waits and prefills prompt and generated tokens (as after a preemption).
  // Returns false, changing nothing, when the batch is full or the blocks are not free. Throws
  // std::invalid_argument for progress no run produces: generated outside [0, max_output_tokens), or
  // computed outside [0, prompt + generated) (the newest token's KV is written by the step after it).
  bool resume(const Request& request, int computed, int generated);
  // Drops a waiting or running request (its client went away); its blocks return to the pool.
  bool abort(std::uint64_t request_id);
  // Removes every request, running or waiting, and frees their blocks: the replica failed.
  std::vector<Request> take_all();

  bool idle() const { return running_.empty() && waiting_.empty(); }
  std::size_t waiting() const { return waiting_.size(); }
  std::size_t running() const { return running_.size(); }
  long long kv_blocks_used() const { return limits_.kv_blocks - static_cast<long long>(free_blocks_.size()); }
  long long kv_blocks_total() const { return limits_.kv_blocks; }
  long long preemptions() const { return preemptions_; }
  // Every request here with its progress (as resume() takes it): running in admission order, then
  // waiting in queue order. What a snapshot of the replica holds (the live twin's start state).
  struct Progress {
    Request request;
    int computed = 0;
    int generated = 0;
  };
  std::vector<Progress> progress() const;

  // Plans the next iteration from the current state; it may preempt (reported through `events`).
  // Call only when !idle(). The result and shape() describe the planned iteration.
  const std::vector<ScheduledSequence>& schedule(SchedulerEvents& events);
  const BatchShape& shape() const { return shape_; }
  // Applies the planned iteration: every scheduled token is now in the KV cache, every sampling
  // sequence has one more token. `stopped`: requests that ended early on this iteration's token
  // (a stop token); the others finish when they reach max_output_tokens.
  void update_from_output(SchedulerEvents& events, const std::vector<std::uint64_t>& stopped = {});

  // Decode runs. Returns how many iterations (2..limit) can run as one decode run from the current
  // state, or 0 when none can (then plan single iterations). Changes nothing.
  int decode_run_length(int limit) const;
  // KV blocks in use after iteration s (1-based) of a decode run of `iterations` planned now.
  std::vector<long long> decode_run_blocks_used(int iterations) const;
  // Sum over running sequences of the KV length their next decode step attends to.
  double decode_context_tokens() const;
  // Applies `iterations` decode iterations to every running sequence (at most decode_run_length()).
  void apply_decode_run(int iterations, SchedulerEvents& events);

 private:
  struct Sequence {
    Request request;
    int prompt = 0;     // tokens to prefill: the prompt, plus generated tokens after a preemption
    int computed = 0;   // tokens whose KV is cached
    int generated = 0;
    std::vector<int> blocks;
    int scheduled = 0;    // tokens in the planned iteration
    bool samples = false;  // the planned iteration samples a token for it
    bool first_token_sent = false;
    bool decoding() const { return computed >= prompt; }
  };

  long long blocks_for(long long tokens) const;
  void grow(Sequence& seq, long long blocks);
  void release(Sequence& seq);
  void preempt(std::size_t running_index, SchedulerEvents& events);
  void finish(std::size_t running_index, SchedulerEvents& events);
  int admissible_chunk(const Sequence& seq, int budget) const;
  std::size_t next_waiting() const;  // index in waiting_ of the next to admit

  SchedulerLimits limits_;
  std::vector<int> free_blocks_;  // block ids; the last is handed out first
  std::deque<Sequence> waiting_;
  std::vector<Sequence> running_;  // in admission order; the last is preempted first
  std::vector<ScheduledSequence> scheduled_;
  BatchShape shape_;
  long long preemptions_ = 0;
};

}  // namespace aidc
