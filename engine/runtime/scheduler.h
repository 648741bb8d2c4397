#pragma once
// Iteration-level continuous batching with chunked prefill over a paged KV cache (the policy the
// simulator models): each step first gives every decoding request one token, then fills the rest of
// the token budget with prefill chunks, oldest request first. A request is admitted only when the
// cache has blocks for its prompt plus max_new_tokens, so nothing is ever preempted.
#include <deque>
#include <functional>
#include <vector>

#include "runtime/batch.h"

namespace aidc {

struct Request {
  int id = 0;
  std::vector<int> prompt;
  int max_new_tokens = 16;
  SamplingParams sampling;
  std::vector<int> stop_tokens;
  // Filled in by the engine.
  std::vector<int> output;
  bool finished = false;
};

struct SchedulerLimits {
  int max_batch_tokens = 2048;  // tokens per step (prefill chunk budget included)
  int max_running = 256;        // sequences in the running set
};

class BlockAllocator {
 public:
  explicit BlockAllocator(int blocks);
  int free_blocks() const { return static_cast<int>(free_.size()); }
  std::vector<int> take(int n);
  void give_back(const std::vector<int>& blocks);

 private:
  std::vector<int> free_;
};

class Engine {
 public:
  Engine(Backend& backend, SchedulerLimits limits);
  void submit(Request request);
  bool idle() const { return waiting_.empty() && running_.empty(); }
  // One iteration: schedule, forward, sample, retire. Returns the batch it ran.
  StepBatch step();
  // Runs until every request finished; returns them in submission order.
  std::vector<Request> run_all();
  const std::vector<Request>& finished() const { return done_; }

 private:
  struct Running {
    Request req;
    std::vector<int> blocks;
    int cached = 0;  // tokens whose K/V are in the cache
    int order = 0;
  };
  int tokens_of(const Running& r) const;  // prompt + output so far

  Backend& backend_;
  SchedulerLimits limits_;
  BlockAllocator blocks_;
  std::deque<std::pair<int, Request>> waiting_;
  std::vector<Running> running_;
  std::vector<Request> done_;
  int submitted_ = 0;
};

}  // namespace aidc
