#pragma once
// The engine's serving loop: the shared scheduler (core/serving) decides each iteration, a backend
// (GPU or CPU) runs it, and sampled tokens come back as events. Not thread-safe: one thread steps it
// (the server's engine thread); others hand it work through that thread.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/serving/scheduler.hpp"
#include "runtime/batch.h"

namespace aidc {

// What a client asked for: the tokens, how to sample, when to stop.
struct Generation {
  std::uint64_t id = 0;
  std::vector<int> prompt;
  int max_new_tokens = 16;
  SamplingParams sampling;
  std::vector<int> stop_tokens;  // generation ends after emitting one of these
};

enum class FinishReason { None, Stop, Length };

// One token sampled for a request in an iteration; `finish` says whether it was the last.
struct TokenEvent {
  std::uint64_t id = 0;
  int token = 0;
  FinishReason finish = FinishReason::None;
};

struct Finished {
  std::uint64_t id = 0;
  std::vector<int> output;
  FinishReason finish = FinishReason::None;
};

class Engine final : private SchedulerEvents {
 public:
  Engine(Backend& backend, SchedulerLimits limits);

  // Throws EngineError when the request could never run (empty prompt, no tokens to generate, longer
  // than the context or the whole KV cache); ids must be unique among requests in the engine.
  void submit(Generation generation);
  // Drops a waiting or running request; returns false when it is not (or no longer) here.
  bool abort(std::uint64_t id);
  bool idle() const { return scheduler_.idle(); }

  // One iteration: schedule, forward, sample, retire. Returns the tokens sampled in it, in batch order.
  const std::vector<TokenEvent>& step();
  // Runs until every request finished; returns them in submission order (the generate command, tests).
  std::vector<Finished> run_all();

  const Scheduler& scheduler() const { return scheduler_; }
  // The last iteration's batch as the backend ran it (bench, tests).
  const StepBatch& last_batch() const { return batch_; }

 private:
  struct Content {
    Generation generation;
    std::vector<int> output;
    std::uint64_t order = 0;
  };
  void on_first_token(const Request&) override {}
  void on_finished(const Request& request) override;
  void on_preempted(const Request&) override {}

  Backend& backend_;
  Scheduler scheduler_;
  std::unordered_map<std::uint64_t, Content> contents_;
  std::vector<Finished> finished_;  // retired during run_all
  std::vector<TokenEvent> events_;
  StepBatch batch_;
  std::uint64_t submitted_ = 0;
  bool collect_finished_ = false;
};

}  // namespace aidc
