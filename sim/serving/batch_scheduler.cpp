#include "serving/batch_scheduler.hpp"

#include <algorithm>
#include <limits>

namespace aidc {
namespace {
// Iterations planned per fast-forward run. Arrivals usually cut a run after a few iterations, so
// planning far ahead is wasted work; an uninterrupted run simply continues with the next one.
constexpr int kMaxFastForwardIterations = 64;
}  // namespace

BatchScheduler::BatchScheduler(SchedulerLimits limits, const PerformanceModel& performance)
    : limits_(limits), performance_(performance), free_blocks_(limits.kv_blocks) {}

long long BatchScheduler::blocks_for(long long tokens) const {
  return (tokens + limits_.kv_block_tokens - 1) / limits_.kv_block_tokens;
}

bool BatchScheduler::can_never_fit(const Request& request) const {
  const bool prompt_too_long_for_batch =
      limits_.chunked_prefill_tokens == 0 && request.prompt_tokens > limits_.max_batch_tokens;
  const long long tokens = static_cast<long long>(request.prompt_tokens) + request.output_tokens;
  return prompt_too_long_for_batch || tokens > limits_.max_context || blocks_for(tokens) > limits_.kv_blocks;
}

void BatchScheduler::enqueue(const Request& request) {
  Sequence seq;
  seq.request = request;
  seq.prompt = request.prompt_tokens;
  waiting_.push_back(seq);
}

std::size_t BatchScheduler::next_waiting() const {
  if (!limits_.shortest_prompt_first) return 0;
  const auto shortest = std::min_element(waiting_.begin(), waiting_.end(),
                                         [](const Sequence& a, const Sequence& b) { return a.prompt < b.prompt; });
  return static_cast<std::size_t>(shortest - waiting_.begin());
}

// Prompt tokens of `seq` that fit this iteration; 0 when none may run.
int BatchScheduler::admissible_chunk(const Sequence& seq, int budget) const {
  const int remaining = seq.prompt - seq.computed;
  if (limits_.chunked_prefill_tokens == 0) return remaining <= budget ? remaining : 0;
  return std::min({remaining, budget, limits_.chunked_prefill_tokens});
}

void BatchScheduler::preempt(std::size_t index, double now, SchedulerEvents& events) {
  Sequence seq = running_[index];
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(index));
  free_blocks_ += seq.blocks;
  seq.blocks = 0;
  seq.prompt = seq.request.prompt_tokens + seq.generated;  // recompute everything seen so far
  seq.computed = 0;
  seq.scheduled = 0;
  events.on_preempted(seq.request, now);
  waiting_.push_front(seq);
}

const std::vector<double>& BatchScheduler::plan(double now, SchedulerEvents& events) {
  planned_decode_run_ = limits_.fast_forward && can_fast_forward();
  if (planned_decode_run_) plan_decode_run();
  if (!planned_decode_run_) plan_single_iteration(now, events);
  return durations_;
}

void BatchScheduler::plan_single_iteration(double now, SchedulerEvents& events) {
  int budget = limits_.max_batch_tokens;
  bool preempted = false;
  for (std::size_t i = 0; i < running_.size(); ++i) {
    Sequence& seq = running_[i];
    const int tokens = seq.decoding() ? 1 : admissible_chunk(seq, budget);
    seq.scheduled = 0;
    if (tokens <= 0) continue;
    const long long need = blocks_for(seq.computed + tokens) - seq.blocks;
    while (need > free_blocks_ && running_.size() - 1 > i) {
      preempt(running_.size() - 1, now, events);
      preempted = true;
    }
    if (need > free_blocks_) {  // not even alone does it fit: it waits for others to finish
      preempt(i, now, events);
      preempted = true;
      break;
    }
    running_[i].blocks += need;
    free_blocks_ -= need;
    running_[i].scheduled = tokens;
    budget -= tokens;
  }
  // Like vLLM, admit nothing in an iteration that had to preempt.
  while (!preempted && !waiting_.empty() && static_cast<int>(running_.size()) < limits_.max_batch_sequences &&
         budget > 0) {
    const auto next = waiting_.begin() + static_cast<std::ptrdiff_t>(next_waiting());
    const int tokens = admissible_chunk(*next, budget);
    const long long need = blocks_for(tokens);
    if (tokens <= 0 || need > free_blocks_) break;
    Sequence seq = *next;
    waiting_.erase(next);
    seq.blocks = need;
    seq.scheduled = tokens;
    free_blocks_ -= need;
    budget -= tokens;
    running_.push_back(seq);
  }
  shape_.clear();
  for (auto& seq : running_) {
    seq.samples = seq.scheduled > 0 && seq.computed + seq.scheduled >= seq.prompt;
    if (seq.scheduled == 0) continue;
    if (seq.decoding()) {
      ++shape_.decode_sequences;
      shape_.decode_context_tokens += seq.computed + 1;
    } else {
      shape_.prefills.push_back({seq.scheduled, seq.computed});
    }
    if (seq.samples) ++shape_.logits_rows;
  }
  costs_.assign(1, performance_.step(shape_));
  durations_.assign(1, costs_.front().seconds(clock_fraction_));
}

// Every running sequence decodes and nothing waiting can start: the coming iterations are fixed
// until a sequence finishes or the KV cache runs out of blocks.
bool BatchScheduler::can_fast_forward() const {
  if (running_.empty()) return false;
  for (const auto& seq : running_)
    if (!seq.decoding()) return false;
  if (waiting_.empty()) return true;
  const int budget = limits_.max_batch_tokens - static_cast<int>(running_.size());
  if (static_cast<int>(running_.size()) >= limits_.max_batch_sequences || budget <= 0) return true;
  long long decode_need = 0;
  for (const auto& seq : running_) decode_need += blocks_for(seq.computed + 1) - seq.blocks;
  const Sequence& head = waiting_[next_waiting()];
  const int tokens = admissible_chunk(head, budget);
  // Free blocks only shrink during the run, so a head blocked now stays blocked.
  return tokens <= 0 || blocks_for(tokens) > free_blocks_ - decode_need;
}

void BatchScheduler::plan_decode_run() {
  int iterations = kMaxFastForwardIterations;
  for (const auto& seq : running_) iterations = std::min(iterations, seq.request.output_tokens - seq.generated);
  // New blocks needed at each iteration of the run; stop before one that would not fit.
  run_blocks_used_.assign(static_cast<std::size_t>(iterations) + 1, 0);
  const int block = limits_.kv_block_tokens;
  for (const auto& seq : running_) {
    const long long spare = seq.blocks * block - seq.computed;  // tokens that still fit its blocks
    for (long long s = spare + 1; s <= iterations; s += block) ++run_blocks_used_[static_cast<std::size_t>(s)];
  }
  int fitting = 0;
  run_blocks_used_[0] = kv_blocks_used();
  for (int s = 1; s <= iterations; ++s) {
    run_blocks_used_[static_cast<std::size_t>(s)] += run_blocks_used_[static_cast<std::size_t>(s) - 1];
    if (run_blocks_used_[static_cast<std::size_t>(s)] > limits_.kv_blocks) break;
    fitting = s;
  }
  if (fitting < 2) {  // nothing to gain: let the single-iteration path (and its preemption) run
    planned_decode_run_ = false;
    return;
  }
  shape_.clear();
  shape_.decode_sequences = static_cast<int>(running_.size());
  shape_.logits_rows = shape_.decode_sequences;
  double context = 0;
  for (const auto& seq : running_) context += seq.computed + 1;
  // Only attention changes from one iteration of the run to the next.
  const StepCost fixed = performance_.token_cost(shape_.decode_sequences, shape_.logits_rows, shape_.decode_sequences);
  durations_.clear();
  costs_.clear();
  for (int s = 0; s < fitting; ++s) {
    shape_.decode_context_tokens = context + static_cast<double>(s) * shape_.decode_sequences;
    StepCost cost = fixed;
    cost += performance_.attention_cost(shape_);
    costs_.push_back(cost);
    durations_.push_back(cost.seconds(clock_fraction_));
  }
}

void BatchScheduler::apply(int iterations, double start, SchedulerEvents& events) {
  if (planned_decode_run_)
    apply_decode_run(iterations, start, events);
  else
    apply_single_iteration(start, events);
}

void BatchScheduler::finish_sequence(std::size_t index, double time, SchedulerEvents& events) {
  free_blocks_ += running_[index].blocks;
  const Request request = running_[index].request;
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(index));
  events.on_finished(request, time);
}

void BatchScheduler::apply_single_iteration(double start, SchedulerEvents& events) {
  const double end = start + durations_.front();
  work_done_ += costs_.front();
  int prefill_tokens = 0, generated = 0;
  for (auto& seq : running_) {
    if (seq.scheduled == 0) continue;
    if (!seq.decoding()) prefill_tokens += seq.scheduled;
    seq.computed += seq.scheduled;
    seq.scheduled = 0;
    if (seq.samples) ++generated;
  }
  events.on_iteration(start, end, prefill_tokens, generated, kv_blocks_used());
  for (std::size_t i = 0; i < running_.size();) {
    Sequence& seq = running_[i];
    if (seq.samples) {
      seq.samples = false;
      ++seq.generated;
      if (!seq.first_token_sent) {
        seq.first_token_sent = true;
        events.on_first_token(seq.request, end);
      }
      if (seq.generated >= seq.request.output_tokens) {
        finish_sequence(i, end, events);
        continue;
      }
    }
    ++i;
  }
}

void BatchScheduler::apply_decode_run(int iterations, double start, SchedulerEvents& events) {
  // Blocks in use after each iteration were counted when the run was planned.
  double time = start;
  const int sequences = static_cast<int>(running_.size());
  for (int s = 1; s <= iterations; ++s) {
    const double end = time + durations_[static_cast<std::size_t>(s) - 1];
    work_done_ += costs_[static_cast<std::size_t>(s) - 1];
    events.on_iteration(time, end, 0, sequences, run_blocks_used_[static_cast<std::size_t>(s)]);
    time = end;
  }
  for (auto& seq : running_) {
    seq.computed += iterations;
    seq.generated += iterations;
    const long long need = blocks_for(seq.computed) - seq.blocks;
    seq.blocks += need;
    free_blocks_ -= need;
  }
  for (std::size_t i = 0; i < running_.size();) {
    if (running_[i].generated >= running_[i].request.output_tokens) {
      finish_sequence(i, time, events);
      continue;
    }
    ++i;
  }
}

std::vector<Request> BatchScheduler::take_all() {
  std::vector<Request> taken;
  for (const auto& seq : running_) taken.push_back(seq.request);
  for (const auto& seq : waiting_) taken.push_back(seq.request);
  running_.clear();
  waiting_.clear();
  free_blocks_ = limits_.kv_blocks;
  return taken;
}

}  // namespace aidc
