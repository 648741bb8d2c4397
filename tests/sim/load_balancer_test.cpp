// LoadBalancer policies as specified in load_balancer.hpp (HAProxy roundrobin / leastconn /
// hash-type consistent, power-of-two-choices after Mitzenmacher 2001) and HAProxy-style health checks
// (down after `fall` failed checks in a row, up after `rise` good ones). Expected shares come from
// the definitions of the policies, not from running the code.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "serving/load_balancer.hpp"

namespace aidc {
namespace {

LoadBalancerSpec spec(BalancerPolicy policy, int fall = 3, int rise = 2) {
  LoadBalancerSpec s;
  s.policy = policy;
  s.health_check.fall = fall;
  s.health_check.rise = rise;
  s.virtual_nodes = 100;
  return s;
}

Request session_request(std::uint64_t session) {
  Request r;
  r.id = session;
  r.session = session;
  return r;
}

void mark_down(LoadBalancer& lb, int replica) {
  for (int i = 0; i < 3; ++i) lb.record_check(replica, false);  // fall = 3
  ASSERT_FALSE(lb.is_up(replica));
}

TEST(LoadBalancer, RoundRobinCyclesExactly) {
  LoadBalancer lb(spec(BalancerPolicy::RoundRobin), 4, 1);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(lb.choose(session_request(99)), i % 4) << "request " << i;
}

TEST(LoadBalancer, RoundRobinSkipsDownReplicas) {
  LoadBalancer lb(spec(BalancerPolicy::RoundRobin), 4, 1);
  mark_down(lb, 2);
  std::vector<int> got;
  for (int i = 0; i < 9; ++i) got.push_back(lb.choose(session_request(i)));
  EXPECT_EQ(got, (std::vector<int>{0, 1, 3, 0, 1, 3, 0, 1, 3}));
}

TEST(LoadBalancer, LeastOutstandingPicksTheMinimum) {
  LoadBalancer lb(spec(BalancerPolicy::LeastOutstanding), 6, 1);
  std::mt19937 rng(5);
  std::vector<int> load(6, 0);
  for (int step = 0; step < 2000; ++step) {
    // Random completions keep the loads uneven.
    for (int r = 0; r < 6; ++r)
      if (load[r] > 0 && rng() % 3 == 0) {
        lb.on_completed(r);
        --load[r];
      }
    const int choice = lb.choose(session_request(static_cast<std::uint64_t>(step)));
    ASSERT_GE(choice, 0);
    EXPECT_EQ(load[choice], *std::min_element(load.begin(), load.end())) << "step " << step;
    lb.on_dispatched(choice);
    ++load[choice];
    for (int r = 0; r < 6; ++r) ASSERT_EQ(lb.outstanding(r), load[r]);
  }
}

// With nothing completing, least-outstanding fills replicas evenly: after k requests the loads differ by
// at most one.
TEST(LoadBalancer, LeastOutstandingBalancesEqualReplicas) {
  LoadBalancer lb(spec(BalancerPolicy::LeastOutstanding), 5, 1);
  for (int k = 1; k <= 103; ++k) {
    lb.on_dispatched(lb.choose(session_request(k)));
    int lo = 1 << 30, hi = 0;
    for (int r = 0; r < 5; ++r) lo = std::min(lo, lb.outstanding(r)), hi = std::max(hi, lb.outstanding(r));
    EXPECT_LE(hi - lo, 1) << "after " << k << " requests";
  }
}

TEST(LoadBalancer, LeastOutstandingIgnoresDownReplicaEvenIfIdle) {
  LoadBalancer lb(spec(BalancerPolicy::LeastOutstanding), 3, 1);
  lb.on_dispatched(0);
  lb.on_dispatched(1);
  mark_down(lb, 2);  // the idle one
  const int choice = lb.choose(session_request(1));
  EXPECT_TRUE(choice == 0 || choice == 1);
}

TEST(LoadBalancer, ConsistentHashIsStickyAndMovesOnlyTheDownReplicasKeys) {
  const int n = 5, sessions = 20000;
  LoadBalancer lb(spec(BalancerPolicy::ConsistentHash), n, 1);
  std::vector<int> before(sessions);
  std::vector<int> share(n, 0);
  for (int s = 0; s < sessions; ++s) {
    before[s] = lb.choose(session_request(s));
    ASSERT_GE(before[s], 0);
    ++share[before[s]];
  }
  // Sticky: asking again (in another order, with load changing) gives the same replica.
  for (int s = sessions - 1; s >= 0; s -= 7) {
    lb.on_dispatched(before[s]);
    EXPECT_EQ(lb.choose(session_request(s)), before[s]);
  }
  // 100 virtual nodes per replica: each share within 30% of 1/N.
  for (int r = 0; r < n; ++r) EXPECT_NEAR(share[r], sessions / n, 0.3 * sessions / n) << "replica " << r;

  mark_down(lb, 2);
  int moved = 0;
  std::vector<int> received(n, 0);
  for (int s = 0; s < sessions; ++s) {
    const int now = lb.choose(session_request(s));
    ASSERT_NE(now, 2);
    if (before[s] != 2) {
      EXPECT_EQ(now, before[s]) << "session " << s << " moved although its replica stayed up";
    } else {
      ++moved;
      ++received[now];
    }
  }
  // Only ~1/N of the keys move, and they spread over the survivors rather than all landing on one.
  EXPECT_NEAR(static_cast<double>(moved) / sessions, 1.0 / n, 0.3 / n);
  for (int r = 0; r < n; ++r)
    if (r != 2) EXPECT_GT(received[r], moved / 10) << "replica " << r << " took few of the moved keys";

  // Back up after `rise` good checks: every session returns to where it was.
  lb.record_check(2, true);
  lb.record_check(2, true);
  ASSERT_TRUE(lb.is_up(2));
  for (int s = 0; s < sessions; ++s) EXPECT_EQ(lb.choose(session_request(s)), before[s]) << "session " << s;
}

// Two distinct replicas drawn uniformly; the less loaded wins. With loads 0 < 1 < 2 < 3 replica k wins
// exactly when it is the smaller of the pair: P(k) = (3 - k) / C(4, 2) = 3/6, 2/6, 1/6, 0.
TEST(LoadBalancer, PowerOfTwoChoicesNeverPicksTheBusierOfItsTwo) {
  LoadBalancer lb(spec(BalancerPolicy::PowerOfTwoChoices), 4, 12345);
  for (int r = 0; r < 4; ++r)
    for (int k = 0; k < r; ++k) lb.on_dispatched(r);
  const int draws = 60000;
  std::vector<int> count(4, 0);
  for (int i = 0; i < draws; ++i) ++count[lb.choose(session_request(i))];
  EXPECT_EQ(count[3], 0) << "the busiest replica is the busier of any pair it is in";
  EXPECT_NEAR(count[0] / double(draws), 3.0 / 6, 0.01);
  EXPECT_NEAR(count[1] / double(draws), 2.0 / 6, 0.01);
  EXPECT_NEAR(count[2] / double(draws), 1.0 / 6, 0.01);
}

TEST(LoadBalancer, PowerOfTwoChoicesUsesOnlyUpReplicas) {
  LoadBalancer lb(spec(BalancerPolicy::PowerOfTwoChoices), 3, 7);
  mark_down(lb, 0);  // idle, but down
  lb.on_dispatched(1);
  for (int i = 0; i < 2000; ++i) EXPECT_EQ(lb.choose(session_request(i)), 2) << "the pair is {1, 2}; 2 is idler";
  mark_down(lb, 2);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(lb.choose(session_request(i)), 1) << "only one replica up";
}

TEST(LoadBalancer, HealthChecksNeedFallFailuresInARowAndRiseSuccesses) {
  LoadBalancer lb(spec(BalancerPolicy::RoundRobin, /*fall=*/3, /*rise=*/2), 2, 1);
  lb.record_check(0, false);
  lb.record_check(0, false);
  EXPECT_TRUE(lb.is_up(0)) << "two failures of three";
  lb.record_check(0, true);  // breaks the streak
  lb.record_check(0, false);
  lb.record_check(0, false);
  EXPECT_TRUE(lb.is_up(0)) << "the good check reset the streak";
  lb.record_check(0, false);
  EXPECT_FALSE(lb.is_up(0)) << "three failures in a row";
  for (int i = 0; i < 6; ++i) EXPECT_EQ(lb.choose(session_request(i)), 1);
  lb.record_check(0, true);
  EXPECT_FALSE(lb.is_up(0)) << "one good check of two";
  lb.record_check(0, false);
  lb.record_check(0, true);
  EXPECT_FALSE(lb.is_up(0)) << "the failure reset the rise streak";
  lb.record_check(0, true);
  EXPECT_TRUE(lb.is_up(0)) << "two good checks in a row";
}

TEST(LoadBalancer, NoReplicaUpMeansNoChoice) {
  for (auto policy : {BalancerPolicy::RoundRobin, BalancerPolicy::LeastOutstanding, BalancerPolicy::ConsistentHash,
                      BalancerPolicy::PowerOfTwoChoices}) {
    LoadBalancer lb(spec(policy, /*fall=*/1), 3, 1);
    for (int r = 0; r < 3; ++r) lb.record_check(r, false);
    EXPECT_EQ(lb.choose(session_request(4)), -1);
    lb.record_check(1, true);
    lb.record_check(1, true);
    EXPECT_EQ(lb.choose(session_request(4)), 1);
  }
}

}  // namespace
}  // namespace aidc
