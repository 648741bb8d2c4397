// The shared scheduler's contract with the engine: numbered KV blocks that are never shared and always
// cover the positions a chunk writes, recompute after preemption from position 0, early stops, aborts.
// Expected values follow from vLLM's rules as documented in core/serving/scheduler.hpp, worked by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "core/serving/scheduler.hpp"

namespace aidc {
namespace {

struct Log final : SchedulerEvents {
  void on_first_token(const Request& r) override { ++first[r.id]; }
  void on_finished(const Request& r) override { finished.push_back(r.id); }
  void on_preempted(const Request& r) override { preempted.push_back(r.id); }
  std::map<std::uint64_t, int> first;
  std::vector<std::uint64_t> finished, preempted;
};

Request request(std::uint64_t id, int prompt, int output) {
  Request r;
  r.id = id;
  r.prompt_tokens = prompt;
  r.max_output_tokens = output;
  return r;
}

SchedulerLimits limits(long long blocks, int chunk = 64) {
  SchedulerLimits l;
  l.max_batch_sequences = 8;
  l.max_batch_tokens = 128;
  l.chunked_prefill_tokens = chunk;
  l.kv_block_tokens = 4;
  l.kv_blocks = blocks;
  return l;
}

// Random arrivals through a small cache: every planned chunk's blocks cover exactly
// ceil((start + tokens) / block) blocks, no block is held by two sequences, ids lie in the pool, and
// when everything finished every block is back.
TEST(Scheduler, BlocksAreDisjointAndCoverEveryChunk) {
  Scheduler s(limits(40));
  Log log;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> prompt(1, 60), output(1, 40);
  std::uint64_t next = 0;
  int iterations = 0;
  while ((next < 120 || !s.idle()) && iterations < 100000) {
    if (next < 120 && rng() % 3 == 0) {
      const Request r = request(next++, prompt(rng), output(rng));
      if (!s.can_never_fit(r)) s.add(r);
    }
    if (s.idle()) continue;
    const auto& planned = s.schedule(log);
    std::set<int> seen;
    for (const ScheduledSequence& seq : planned) {
      ASSERT_EQ(static_cast<int>(seq.blocks->size()), (seq.start + seq.tokens + 3) / 4) << "request " << seq.request->id;
      for (int b : *seq.blocks) {
        ASSERT_GE(b, 0);
        ASSERT_LT(b, 40);
        ASSERT_TRUE(seen.insert(b).second) << "block " << b << " held twice";
      }
    }
    s.update_from_output(log);
    ++iterations;
  }
  EXPECT_TRUE(s.idle());
  EXPECT_EQ(s.kv_blocks_used(), 0);
  EXPECT_EQ(log.finished.size(), 120u);
  EXPECT_GT(s.preemptions(), 0) << "40 blocks of 4 tokens for up to 8 sequences of up to 100 tokens must preempt";
  for (const auto& [id, n] : log.first) EXPECT_EQ(n, 1) << "request " << id;
}

// Two requests of 8 prompt + 8 output tokens in 6 blocks of 4 tokens. Iteration 1 prefills both
// (2 blocks each) and samples their first tokens. Decoding, iteration k >= 2 writes position 6 + k;
// position 8 (iteration 2) needs a third block each: 6 blocks, all. Position 12 (iteration 6) needs a
// 4th: B, the last admitted, is preempted with 5 tokens generated (1 + 4), and A writes position 12.
// Its recompute then starts at position 0 with 8 + 5 = 13 tokens as one chunk.
TEST(Scheduler, PreemptedSequenceRecomputesFromZero) {
  Scheduler s(limits(6));
  Log log;
  s.add(request(0, 8, 8));
  s.add(request(1, 8, 8));
  for (int i = 1; i <= 5; ++i) {
    s.schedule(log);
    s.update_from_output(log);
  }
  ASSERT_TRUE(log.preempted.empty());
  const auto& sixth = s.schedule(log);
  ASSERT_EQ(log.preempted, std::vector<std::uint64_t>{1});
  ASSERT_EQ(sixth.size(), 1u);
  EXPECT_EQ(sixth[0].request->id, 0u);
  EXPECT_EQ(sixth[0].start, 12);
  s.update_from_output(log);
  // A holds 4 blocks and needs 5 at most (8 + 8 = 16 tokens = 4 blocks): B's 13 tokens need 4 blocks of
  // the 2 left, so it waits until A finishes (A samples its 8th token at iteration 8).
  for (int i = 7; i <= 8; ++i) {
    const auto& planned = s.schedule(log);
    ASSERT_EQ(planned.size(), 1u) << "iteration " << i;
    s.update_from_output(log);
  }
  ASSERT_EQ(log.finished, std::vector<std::uint64_t>{0});
  const auto& recompute = s.schedule(log);
  ASSERT_EQ(recompute.size(), 1u);
  EXPECT_EQ(recompute[0].request->id, 1u);
  EXPECT_EQ(recompute[0].start, 0);
  EXPECT_EQ(recompute[0].tokens, 13);
  EXPECT_TRUE(recompute[0].samples) << "the recompute's last position gives the 6th token";
  s.update_from_output(log);
  EXPECT_EQ(log.first[1], 1) << "a preempted request's first token is not sent twice";
}

// The engine ends a request on a stop token; an abort frees a running request's blocks at once.
TEST(Scheduler, EarlyStopAndAbortFreeTheirBlocks) {
  Scheduler s(limits(100));
  Log log;
  s.add(request(7, 10, 50));
  s.add(request(8, 10, 50));
  s.schedule(log);
  s.update_from_output(log);
  EXPECT_EQ(s.kv_blocks_used(), 6);  // 10 tokens each = 3 blocks each
  s.schedule(log);
  s.update_from_output(log, {7});
  EXPECT_EQ(log.finished, std::vector<std::uint64_t>{7});
  EXPECT_EQ(s.kv_blocks_used(), 3);  // request 8: 11 tokens cached = 3 blocks
  EXPECT_TRUE(s.abort(8));
  EXPECT_FALSE(s.abort(8));
  EXPECT_TRUE(s.idle());
  EXPECT_EQ(s.kv_blocks_used(), 0);
}

// Without chunking a prompt must fit one iteration's budget; with it, prompt + output must fit the
// context and the cache.
TEST(Scheduler, NeverFitsNamesTheBindingLimit) {
  SchedulerLimits l = limits(10, 0);
  l.max_context = 30;
  Scheduler s(l);
  EXPECT_TRUE(s.can_never_fit(request(0, 129, 1)));  // budget 128, unchunked
  EXPECT_TRUE(s.can_never_fit(request(1, 20, 11)));  // 31 > context 30
  EXPECT_FALSE(s.can_never_fit(request(2, 20, 10)));
  Scheduler small(limits(5));
  EXPECT_TRUE(small.can_never_fit(request(3, 20, 1)));  // 21 tokens = 6 blocks > 5
}

// Plans and applies iterations until nothing is left; `first_plan` checks the first planned iteration.
int steps_until_idle(Scheduler& s, Log& log, const std::function<void()>& first_plan) {
  int steps = 0;
  for (; !s.idle(); ++steps) {
    s.schedule(log);
    if (steps == 0) first_plan();
    s.update_from_output(log);
  }
  return steps;
}

// Resuming a request mid-decode (a run started from a snapshot): prompt 10, 3 of 6 tokens generated,
// so positions 0..11 are cached (the newest token's KV is written by the next step) in ceil(12/4) = 3
// blocks. It then needs exactly 6 - 3 = 3 decode steps; the first attends 13 positions and takes a
// 4th block; its first token was sent before, so no first-token event comes.
TEST(Scheduler, ResumedDecodeFinishesAfterItsRemainingTokens) {
  Scheduler s(limits(40));
  Log log;
  ASSERT_TRUE(s.resume(request(1, 10, 6), 12, 3));
  EXPECT_EQ(s.running(), 1u);
  EXPECT_EQ(s.kv_blocks_used(), 3);
  const int steps = steps_until_idle(s, log, [&] {
    EXPECT_EQ(s.shape().decode_sequences, 1);
    EXPECT_EQ(s.shape().decode_context_tokens, 13);
    EXPECT_TRUE(s.shape().prefills.empty());
    EXPECT_EQ(s.kv_blocks_used(), 4);
  });
  EXPECT_EQ(steps, 3);
  EXPECT_TRUE(log.first.empty());
  EXPECT_EQ(log.finished, std::vector<std::uint64_t>{1});
  EXPECT_EQ(s.kv_blocks_used(), 0);
}

// Mid-prefill: 40 of a 100-token prompt cached (10 blocks). The next iteration prefills the other 60
// (under the 64-token chunk) from position 40, samples the first token, and one decode step finishes
// an output of 2.
TEST(Scheduler, ResumedPrefillContinuesFromItsCachedTokens) {
  Scheduler s(limits(40));
  Log log;
  ASSERT_TRUE(s.resume(request(7, 100, 2), 40, 0));
  EXPECT_EQ(s.kv_blocks_used(), 10);
  s.schedule(log);
  ASSERT_EQ(s.shape().prefills.size(), 1u);
  EXPECT_EQ(s.shape().prefills[0].tokens, 60);
  EXPECT_EQ(s.shape().prefills[0].context_before, 40);
  EXPECT_EQ(s.kv_blocks_used(), 25);
  s.update_from_output(log);
  EXPECT_EQ(log.first[7], 1);
  s.schedule(log);
  s.update_from_output(log);
  EXPECT_EQ(log.finished, std::vector<std::uint64_t>{7});
}

// Nothing cached but 2 tokens generated (queued after a preemption, or taken over from a failed
// replica): it waits, then prefills prompt + generated = 12 tokens, whose sample is its 3rd token;
// two decode steps reach 5. No second first-token event.
TEST(Scheduler, ResumedWithoutCacheRecomputesPromptAndGeneratedTokens) {
  Scheduler s(limits(40));
  Log log;
  ASSERT_TRUE(s.resume(request(3, 10, 5), 0, 2));
  EXPECT_EQ(s.waiting(), 1u);
  EXPECT_EQ(s.kv_blocks_used(), 0);
  const int steps = steps_until_idle(s, log, [&] {
    ASSERT_EQ(s.shape().prefills.size(), 1u);
    EXPECT_EQ(s.shape().prefills[0].tokens, 12);
    EXPECT_EQ(s.shape().logits_rows, 1);
  });
  EXPECT_EQ(steps, 3);
  EXPECT_TRUE(log.first.empty());
}

// 20 cached tokens need 5 blocks of 4; a cache of 4 cannot take it, and nothing changes. Progress no
// run can reach is refused: all 5 tokens generated (it would have finished), or the newest token cached.
TEST(Scheduler, ResumeRefusesWhatCannotFitOrCannotBe) {
  Scheduler s(limits(4));
  EXPECT_FALSE(s.resume(request(1, 30, 5), 20, 0));
  EXPECT_TRUE(s.idle());
  EXPECT_EQ(s.kv_blocks_used(), 0);
  EXPECT_THROW(s.resume(request(2, 10, 5), 0, 5), std::invalid_argument);
  EXPECT_THROW(s.resume(request(3, 10, 5), 12, 2), std::invalid_argument);
  EXPECT_THROW(s.resume(request(4, 10, 5), -1, 0), std::invalid_argument);
}

}  // namespace
}  // namespace aidc
