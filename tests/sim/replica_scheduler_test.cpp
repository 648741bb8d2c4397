// The shared scheduler timed by a performance model, as a replica runs it (no SimGrid): a paged KV cache that is never over-committed,
// preemption by recompute exactly when blocks run out, and every request finishing with exactly its
// output tokens. Expected iteration counts and times are worked out by hand from the vLLM rules the
// scheduler documents (admission by free blocks, last-admitted preempted first, recompute of
// prompt + generated tokens), with a performance model whose every iteration takes the same time.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "serving/replica_scheduler.hpp"

namespace aidc {
namespace {

// Every iteration takes `tau` seconds, whatever it computes; it also records the largest batch it saw.
class ConstantStepModel final : public PerformanceModel {
 public:
  explicit ConstantStepModel(double tau) : tau_(tau) {}
  StepCost token_cost(int tokens, int, int sequences) const override {
    max_tokens = std::max(max_tokens, tokens);
    max_sequences = std::max(max_sequences, sequences);
    StepCost c;
    c.overhead_s = tokens > 0 ? tau_ : 0.0;
    return c;
  }
  StepCost attention_cost(const BatchShape&) const override { return {}; }
  std::string description() const override { return "constant"; }
  mutable int max_tokens = 0;
  mutable int max_sequences = 0;

 private:
  double tau_;
};

struct PerRequest {
  int first_tokens = 0;
  int finishes = 0;
  int preemptions = 0;
  double first_token_s = NAN, finish_s = NAN;
};

class Recorder final : public ReplicaEvents {
 public:
  explicit Recorder(long long kv_total) : kv_total_(kv_total) {}
  void on_first_token(const Request& r, double t) override {
    auto& p = requests[r.id];
    ++p.first_tokens;
    p.first_token_s = t;
  }
  void on_finished(const Request& r, double t) override {
    auto& p = requests[r.id];
    ++p.finishes;
    p.finish_s = t;
  }
  void on_iteration(double start, double end, int prefill, int generated, long long kv_used) override {
    ++iterations;
    prefill_tokens += prefill;
    generated_tokens += generated;
    EXPECT_LE(kv_used, kv_total_) << "iteration [" << start << ", " << end << ") over-commits the KV cache";
    EXPECT_GE(kv_used, 0);
    EXPECT_GE(end, start);
    EXPECT_GE(start, last_end - 1e-12) << "iterations of one replica overlap";
    last_end = end;
  }
  void on_preempted(const Request& r, double) override {
    ++preemptions;
    ++requests[r.id].preemptions;
  }

  std::map<std::uint64_t, PerRequest> requests;
  long long iterations = 0, prefill_tokens = 0, generated_tokens = 0, preemptions = 0;
  double last_end = 0;

 private:
  long long kv_total_;
};

Request make_request(std::uint64_t id, int prompt, int output) {
  Request r;
  r.id = id;
  r.session = id;
  r.prompt_tokens = prompt;
  r.max_output_tokens = output;
  return r;
}

struct Arrival {
  double time;
  Request request;
};

// Drives the scheduler the way the replica actor does: plan a run, stop a fast-forward run at the end of
// the iteration in progress when a request arrives, apply, admit. Checks the KV invariant after every
// plan and every apply. Returns the time the last work ended.
double drive(ReplicaScheduler& scheduler, Recorder& events, std::vector<Arrival> arrivals) {
  std::sort(arrivals.begin(), arrivals.end(), [](const Arrival& a, const Arrival& b) { return a.time < b.time; });
  std::size_t next = 0;
  double now = 0;
  auto check_kv = [&](const char* when) {
    ASSERT_LE(scheduler.scheduler().kv_blocks_used(), scheduler.scheduler().kv_blocks_total()) << "after " << when << " at t=" << now;
    ASSERT_GE(scheduler.scheduler().kv_blocks_used(), 0) << "after " << when << " at t=" << now;
  };
  long long guard = 0;
  while (next < arrivals.size() || !scheduler.idle()) {
    if (++guard > 10'000'000) {
      ADD_FAILURE() << "scheduler made no progress";
      return now;
    }
    while (next < arrivals.size() && arrivals[next].time <= now) {
      if (!scheduler.can_never_fit(arrivals[next].request)) scheduler.enqueue(arrivals[next].request);
      ++next;
    }
    if (scheduler.idle()) {
      now = arrivals[next].time;
      continue;
    }
    const std::vector<double> durations = scheduler.plan(now, events);
    check_kv("plan");
    std::vector<double> ends;
    double t = now;
    for (double d : durations) ends.push_back(t += d);
    std::size_t done = ends.size();
    if (ends.size() > 1 && next < arrivals.size() && arrivals[next].time < ends.back()) {
      done = static_cast<std::size_t>(std::lower_bound(ends.begin(), ends.end(), arrivals[next].time) - ends.begin()) + 1;
      done = std::min(done, ends.size());
    }
    scheduler.apply(static_cast<int>(done), now, events);
    check_kv("apply");
    now = ends[done - 1];
  }
  return now;
}

SchedulerLimits small_limits(long long kv_blocks) {
  SchedulerLimits l;
  l.max_batch_sequences = 16;
  l.max_batch_tokens = 256;
  l.chunked_prefill_tokens = 64;
  l.kv_block_tokens = 16;
  l.kv_blocks = kv_blocks;
  return l;
}

// Two requests of 32 prompt + 64 output tokens in 10 blocks of 16 tokens (160 tokens). Worked by hand:
// iteration 1 prefills both (2 blocks each) and samples their first tokens; iteration k >= 2 decodes
// with 32 + (k - 2) tokens cached each. At k = 50 both hold 80 tokens = 5 blocks (all 10) and the 81st
// needs a 6th block each: the last admitted (B) is preempted, having generated 1 + 48 = 49 tokens.
// A decodes alone and finishes at iteration 64 (1 + 63 tokens). B (32 + 49 = 81 tokens to recompute,
// 6 blocks) cannot start while A holds 6 of 10 blocks; at iteration 65 it re-prefills 81 tokens and
// samples its 50th token, then decodes 14 more: it finishes at iteration 79. No other preemption.
void expect_hand_worked_preemption(bool fast_forward) {
  const double tau = 0.01;
  ConstantStepModel model(tau);
  SchedulerLimits limits = small_limits(10);
  limits.chunked_prefill_tokens = 128;  // B's 81-token recompute is one chunk
  ReplicaScheduler scheduler(limits, model, fast_forward);
  Recorder events(10);
  const double end = drive(scheduler, events, {{0.0, make_request(0, 32, 64)}, {0.0, make_request(1, 32, 64)}});
  EXPECT_EQ(events.preemptions, 1);
  EXPECT_EQ(events.requests[1].preemptions, 1) << "the last admitted request is the one preempted";
  EXPECT_EQ(events.requests[0].preemptions, 0);
  EXPECT_EQ(events.iterations, 79);
  EXPECT_NEAR(events.requests[0].first_token_s, 1 * tau, 1e-9);
  EXPECT_NEAR(events.requests[1].first_token_s, 1 * tau, 1e-9);
  EXPECT_NEAR(events.requests[0].finish_s, 64 * tau, 1e-9);
  EXPECT_NEAR(events.requests[1].finish_s, 79 * tau, 1e-9);
  EXPECT_NEAR(end, 79 * tau, 1e-9);
  EXPECT_EQ(events.generated_tokens, 64 + 64);
  EXPECT_EQ(events.prefill_tokens, 32 + 32 + 81) << "B recomputes its prompt and its 49 generated tokens";
  EXPECT_EQ(scheduler.scheduler().kv_blocks_used(), 0) << "blocks leak once everything finished";
}

TEST(ReplicaScheduler, PreemptsExactlyWhenBlocksRunOutStepByStep) { expect_hand_worked_preemption(false); }
TEST(ReplicaScheduler, PreemptsExactlyWhenBlocksRunOutFastForward) { expect_hand_worked_preemption(true); }

// With room for both (12 blocks = 2 x 6, and each needs ceil(95 / 16) = 6 at most) nobody is preempted and
// both finish after 1 prefill + 63 decode iterations.
TEST(ReplicaScheduler, NoPreemptionWhenBothFit) {
  ConstantStepModel model(0.01);
  ReplicaScheduler scheduler(small_limits(12), model, true);
  Recorder events(12);
  drive(scheduler, events, {{0.0, make_request(0, 32, 64)}, {0.0, make_request(1, 32, 64)}});
  EXPECT_EQ(events.preemptions, 0);
  EXPECT_EQ(events.iterations, 64);
  EXPECT_NEAR(events.requests[1].finish_s, 0.64, 1e-9);
}

// A request that needs more blocks than the cache holds can never run; one that needs exactly all of
// them can. ceil((prompt + output) / block) against kv_blocks.
TEST(ReplicaScheduler, CanNeverFitComparesWholeRequestWithCache) {
  ConstantStepModel model(0.01);
  ReplicaScheduler scheduler(small_limits(10), model, true);
  EXPECT_FALSE(scheduler.can_never_fit(make_request(0, 100, 60)));  // 160 tokens = 10 blocks
  EXPECT_TRUE(scheduler.can_never_fit(make_request(1, 100, 61)));   // 161 tokens = 11 blocks
  SchedulerLimits whole = small_limits(1000);
  whole.chunked_prefill_tokens = 0;  // without chunking a prompt must fit one batch of 256 tokens
  ReplicaScheduler unchunked(whole, model, true);
  EXPECT_FALSE(unchunked.can_never_fit(make_request(2, 256, 1)));
  EXPECT_TRUE(unchunked.can_never_fit(make_request(3, 257, 1)));
}

// Many requests of random lengths arriving over time through a small cache: after every plan and apply
// the cache holds at most its blocks; every request gets exactly one first token and one finish, the
// iterations sample exactly the sum of the output lengths, each request spends at least
// (output - 1) iterations between first token and finish, and nothing leaks at the end.
void stress(bool fast_forward, unsigned seed, long long kv_blocks, bool expect_preemptions) {
  const double tau = 0.02;
  ConstantStepModel model(tau);
  SchedulerLimits limits = small_limits(kv_blocks);
  ReplicaScheduler scheduler(limits, model, fast_forward);
  Recorder events(kv_blocks);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> prompt(1, 300), output(1, 200);
  std::exponential_distribution<double> gap(20.0);
  std::vector<Arrival> arrivals;
  std::map<std::uint64_t, Request> sent;
  double t = 0;
  long long expected_generated = 0;
  for (std::uint64_t id = 0; id < 400; ++id) {
    t += gap(rng);
    const Request r = make_request(id, prompt(rng), output(rng));
    arrivals.push_back({t, r});
    if (!scheduler.can_never_fit(r)) {
      sent[id] = r;
      expected_generated += r.max_output_tokens;
    }
  }
  ASSERT_GT(sent.size(), 300u);
  drive(scheduler, events, arrivals);
  EXPECT_TRUE(scheduler.idle());
  EXPECT_EQ(scheduler.scheduler().kv_blocks_used(), 0);
  EXPECT_EQ(events.generated_tokens, expected_generated);
  EXPECT_LE(model.max_tokens, limits.max_batch_tokens);
  EXPECT_LE(model.max_sequences, limits.max_batch_sequences);
  ASSERT_EQ(events.requests.size(), sent.size());
  for (const auto& [id, r] : sent) {
    const PerRequest& p = events.requests[id];
    EXPECT_EQ(p.first_tokens, 1) << "request " << id;
    EXPECT_EQ(p.finishes, 1) << "request " << id;
    EXPECT_LE(p.first_token_s, p.finish_s) << "request " << id;
    EXPECT_GE(p.finish_s - p.first_token_s, (r.max_output_tokens - 1) * tau - 1e-9) << "request " << id;
  }
  if (expect_preemptions)
    EXPECT_GT(events.preemptions, 0) << "the cache is too small for the offered load: preemption must occur";
  else
    EXPECT_EQ(events.preemptions, 0);
}

// 48 blocks x 16 = 768 tokens, up to 16 sequences of up to 500 tokens: preemption is unavoidable.
TEST(ReplicaScheduler, StressSmallCacheStepByStep) { stress(false, 7, 48, true); }
TEST(ReplicaScheduler, StressSmallCacheFastForward) { stress(true, 7, 48, true); }
TEST(ReplicaScheduler, StressOtherSeedFastForward) { stress(true, 11, 40, true); }
// 16 sequences x ceil(500 / 16) = 32 blocks = 512 blocks: room for any batch, so never a preemption.
TEST(ReplicaScheduler, StressAmpleCacheNeverPreempts) { stress(true, 7, 512, false); }

// Fast-forward changes only how many events the replica needs, never the outcome: the same arrivals give
// the same per-request first-token and finish times with it on and off.
TEST(ReplicaScheduler, FastForwardGivesSameTimes) {
  auto run = [](bool ff) {
    ConstantStepModel model(0.015);
    ReplicaScheduler scheduler(small_limits(40), model, ff);
    Recorder events(40);
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<int> prompt(1, 200), output(1, 150);
    std::exponential_distribution<double> gap(10.0);
    std::vector<Arrival> arrivals;
    double t = 0;
    for (std::uint64_t id = 0; id < 200; ++id) arrivals.push_back({t += gap(rng), make_request(id, prompt(rng), output(rng))});
    drive(scheduler, events, arrivals);
    return events;
  };
  Recorder off = run(false), on = run(true);
  ASSERT_EQ(off.requests.size(), on.requests.size());
  EXPECT_EQ(off.iterations, on.iterations);
  EXPECT_EQ(off.preemptions, on.preemptions);
  for (const auto& [id, p] : off.requests) {
    EXPECT_NEAR(p.first_token_s, on.requests[id].first_token_s, 1e-9) << id;
    EXPECT_NEAR(p.finish_s, on.requests[id].finish_s, 1e-9) << id;
  }
}

}  // namespace
}  // namespace aidc
