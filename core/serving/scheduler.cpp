#include "core/serving/scheduler.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace aidc {

Scheduler::Scheduler(SchedulerLimits limits) : limits_(limits) {
  if (limits_.kv_blocks < 0 || limits_.kv_block_tokens <= 0 || limits_.max_batch_tokens <= 0 ||
      limits_.max_batch_sequences <= 0 || limits_.chunked_prefill_tokens < 0)
    throw std::invalid_argument("scheduler limits must be positive (kv_blocks " + std::to_string(limits_.kv_blocks) +
                                ", kv_block_tokens " + std::to_string(limits_.kv_block_tokens) + ")");
  free_blocks_.reserve(static_cast<std::size_t>(limits_.kv_blocks));
  for (long long b = limits_.kv_blocks - 1; b >= 0; --b) free_blocks_.push_back(static_cast<int>(b));
}

long long Scheduler::blocks_for(long long tokens) const {
  return (tokens + limits_.kv_block_tokens - 1) / limits_.kv_block_tokens;
}

void Scheduler::grow(Sequence& seq, long long blocks) {
  const auto n = static_cast<std::ptrdiff_t>(blocks);
  seq.blocks.insert(seq.blocks.end(), free_blocks_.end() - n, free_blocks_.end());
  free_blocks_.resize(free_blocks_.size() - static_cast<std::size_t>(n));
}

void Scheduler::release(Sequence& seq) {
  free_blocks_.insert(free_blocks_.end(), seq.blocks.rbegin(), seq.blocks.rend());
  seq.blocks.clear();
}

bool Scheduler::can_never_fit(const Request& request) const {
  const bool prompt_too_long_for_batch =
      limits_.chunked_prefill_tokens == 0 && request.prompt_tokens > limits_.max_batch_tokens;
  const long long tokens = static_cast<long long>(request.prompt_tokens) + request.max_output_tokens;
  return prompt_too_long_for_batch || tokens > limits_.max_context || blocks_for(tokens) > limits_.kv_blocks;
}

void Scheduler::add(const Request& request) {
  Sequence seq;
  seq.request = request;
  seq.prompt = request.prompt_tokens;
  waiting_.push_back(std::move(seq));
}

bool Scheduler::resume(const Request& request, int computed, int generated) {
  const int seen = request.prompt_tokens + generated;  // tokens that exist
  if (generated < 0 || generated >= request.max_output_tokens || computed < 0 || computed >= seen)
    throw std::invalid_argument("request " + std::to_string(request.id) + ": " + std::to_string(generated) + " of " +
                                std::to_string(request.max_output_tokens) + " tokens generated with " + std::to_string(computed) +
                                " of " + std::to_string(seen) + " tokens computed is not a state a run can be in");
  Sequence seq;
  seq.request = request;
  seq.generated = generated;
  seq.first_token_sent = generated > 0;
  // Decoding when every token but the newest is cached; otherwise still (re)computing the prefill.
  seq.prompt = generated > 0 && computed == seen - 1 ? request.prompt_tokens : seen;
  if (computed == 0) {
    waiting_.push_back(std::move(seq));
    return true;
  }
  const long long need = blocks_for(computed);
  if (static_cast<int>(running_.size()) >= limits_.max_batch_sequences || need > static_cast<long long>(free_blocks_.size()))
    return false;
  grow(seq, need);
  seq.computed = computed;
  running_.push_back(std::move(seq));
  return true;
}

bool Scheduler::abort(std::uint64_t request_id) {
  const auto same = [&](const Sequence& s) { return s.request.id == request_id; };
  if (auto it = std::find_if(running_.begin(), running_.end(), same); it != running_.end()) {
    release(*it);
    running_.erase(it);
    return true;
  }
  if (auto it = std::find_if(waiting_.begin(), waiting_.end(), same); it != waiting_.end()) {
    waiting_.erase(it);
    return true;
  }
  return false;
}

std::vector<Scheduler::Progress> Scheduler::progress() const {
  std::vector<Progress> all;
  for (const auto& seq : running_) all.push_back({seq.request, seq.computed, seq.generated});
  for (const auto& seq : waiting_) all.push_back({seq.request, seq.computed, seq.generated});
  return all;
}

std::vector<Request> Scheduler::take_all() {
  std::vector<Request> taken;
  for (auto& seq : running_) {
    taken.push_back(seq.request);
    release(seq);
  }
  for (const auto& seq : waiting_) taken.push_back(seq.request);
  running_.clear();
  waiting_.clear();
  scheduled_.clear();
  return taken;
}

std::size_t Scheduler::next_waiting() const {
  if (!limits_.shortest_prompt_first) return 0;
  const auto shortest = std::min_element(waiting_.begin(), waiting_.end(),
                                         [](const Sequence& a, const Sequence& b) { return a.prompt < b.prompt; });
  return static_cast<std::size_t>(shortest - waiting_.begin());
}

// Prompt tokens of `seq` that fit this iteration; 0 when none may run.
int Scheduler::admissible_chunk(const Sequence& seq, int budget) const {
  const int remaining = seq.prompt - seq.computed;
  if (limits_.chunked_prefill_tokens == 0) return remaining <= budget ? remaining : 0;
  return std::min({remaining, budget, limits_.chunked_prefill_tokens});
}

void Scheduler::preempt(std::size_t index, SchedulerEvents& events) {
  Sequence seq = std::move(running_[index]);
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(index));
  release(seq);
  seq.prompt = seq.request.prompt_tokens + seq.generated;  // recompute everything seen so far
  seq.computed = 0;
  seq.scheduled = 0;
  ++preemptions_;
  events.on_preempted(seq.request);
  waiting_.push_front(std::move(seq));
}

const std::vector<ScheduledSequence>& Scheduler::schedule(SchedulerEvents& events) {
  int budget = limits_.max_batch_tokens;
  bool preempted = false;
  for (std::size_t i = 0; i < running_.size(); ++i) {
    Sequence& seq = running_[i];
    const int tokens = seq.decoding() ? 1 : admissible_chunk(seq, budget);
    seq.scheduled = 0;
    if (tokens <= 0) continue;
    const long long need = blocks_for(seq.computed + tokens) - static_cast<long long>(seq.blocks.size());
    while (need > static_cast<long long>(free_blocks_.size()) && running_.size() - 1 > i) {
      preempt(running_.size() - 1, events);
      preempted = true;
    }
    if (need > static_cast<long long>(free_blocks_.size())) {  // not even alone does it fit: it waits
      preempt(i, events);
      preempted = true;
      break;
    }
    grow(running_[i], need);
    running_[i].scheduled = tokens;
    budget -= tokens;
  }
  // Like vLLM, admit nothing in an iteration that had to preempt.
  while (!preempted && !waiting_.empty() && static_cast<int>(running_.size()) < limits_.max_batch_sequences &&
         budget > 0) {
    const auto next = waiting_.begin() + static_cast<std::ptrdiff_t>(next_waiting());
    const int tokens = admissible_chunk(*next, budget);
    const long long need = blocks_for(tokens);
    if (tokens <= 0 || need > static_cast<long long>(free_blocks_.size())) break;
    Sequence seq = std::move(*next);
    waiting_.erase(next);
    grow(seq, need);
    seq.scheduled = tokens;
    budget -= tokens;
    running_.push_back(std::move(seq));
  }
  shape_.clear();
  scheduled_.clear();
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
    scheduled_.push_back({&seq.request, seq.computed, seq.scheduled, seq.samples, &seq.blocks});
  }
  return scheduled_;
}

void Scheduler::finish(std::size_t index, SchedulerEvents& events) {
  release(running_[index]);
  const Request request = running_[index].request;
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(index));
  events.on_finished(request);
}

void Scheduler::update_from_output(SchedulerEvents& events, const std::vector<std::uint64_t>& stopped) {
  scheduled_.clear();
  for (auto& seq : running_) {
    seq.computed += seq.scheduled;
    seq.scheduled = 0;
  }
  for (std::size_t i = 0; i < running_.size();) {
    Sequence& seq = running_[i];
    if (seq.samples) {
      seq.samples = false;
      ++seq.generated;
      if (!seq.first_token_sent) {
        seq.first_token_sent = true;
        events.on_first_token(seq.request);
      }
      const bool stop = std::find(stopped.begin(), stopped.end(), seq.request.id) != stopped.end();
      if (stop || seq.generated >= seq.request.max_output_tokens) {
        finish(i, events);
        continue;
      }
    }
    ++i;
  }
}

int Scheduler::decode_run_length(int limit) const {
  if (running_.empty()) return 0;
  for (const auto& seq : running_)
    if (!seq.decoding()) return 0;
  const long long free = static_cast<long long>(free_blocks_.size());
  if (!waiting_.empty()) {
    const int budget = limits_.max_batch_tokens - static_cast<int>(running_.size());
    const bool batch_full = static_cast<int>(running_.size()) >= limits_.max_batch_sequences || budget <= 0;
    if (!batch_full) {
      long long decode_need = 0;
      for (const auto& seq : running_)
        decode_need += blocks_for(seq.computed + 1) - static_cast<long long>(seq.blocks.size());
      const int tokens = admissible_chunk(waiting_[next_waiting()], budget);
      // Free blocks only shrink during the run, so a head blocked now stays blocked.
      if (tokens > 0 && blocks_for(tokens) <= free - decode_need) return 0;
    }
  }
  int iterations = limit;
  for (const auto& seq : running_) iterations = std::min(iterations, seq.request.max_output_tokens - seq.generated);
  const std::vector<long long> used = decode_run_blocks_used(iterations);
  int fitting = 0;
  for (int s = 1; s <= iterations && used[static_cast<std::size_t>(s)] <= limits_.kv_blocks; ++s) fitting = s;
  return fitting >= 2 ? fitting : 0;
}

std::vector<long long> Scheduler::decode_run_blocks_used(int iterations) const {
  std::vector<long long> used(static_cast<std::size_t>(std::max(iterations, 0)) + 1, 0);
  const int block = limits_.kv_block_tokens;
  for (const auto& seq : running_) {
    const long long spare = static_cast<long long>(seq.blocks.size()) * block - seq.computed;  // tokens that still fit
    for (long long s = spare + 1; s <= iterations; s += block) ++used[static_cast<std::size_t>(s)];
  }
  used[0] = kv_blocks_used();
  for (std::size_t s = 1; s < used.size(); ++s) used[s] += used[s - 1];
  return used;
}

double Scheduler::decode_context_tokens() const {
  double context = 0;
  for (const auto& seq : running_) context += seq.computed + 1;
  return context;
}

void Scheduler::apply_decode_run(int iterations, SchedulerEvents& events) {
  scheduled_.clear();
  for (auto& seq : running_) {
    seq.computed += iterations;
    seq.generated += iterations;
    grow(seq, blocks_for(seq.computed) - static_cast<long long>(seq.blocks.size()));
  }
  for (std::size_t i = 0; i < running_.size();) {
    if (running_[i].generated >= running_[i].request.max_output_tokens) {
      finish(i, events);
      continue;
    }
    ++i;
  }
}

}  // namespace aidc
