// simulate() composed from its actors, in this process (gtest_discover_tests runs each test in a
// process of its own: one SimGrid engine each). Every iteration takes the same 10 ms (a constant-step
// performance model) and the network is made instantaneous (no latency, 1 Pbit/s links), so each
// expected time below is counted by hand in iterations, and HAProxy's check/fall/rise gives who
// serves when.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "run/simulate.hpp"
#include "scenario/loader.hpp"
#include "workload/live_source.hpp"

namespace aidc {
namespace {

constexpr double kStep = 0.01;
constexpr double kNetwork = 1e-6;  // what the instantaneous network may still add, with SimGrid's rounding

class ConstantStep final : public PerformanceModel {
 public:
  StepCost token_cost(int, int, int) const override { return {0, 0, 0, kStep}; }
  StepCost attention_cost(const BatchShape&) const override { return {}; }
  std::string description() const override { return "constant 10 ms step"; }
};

class Simulate : public ::testing::Test {
 protected:
  Simulate() : catalog_(Catalog::load(AIDC_TEST_SCENARIOS_DIR)) {}

  Scenario scenario(std::vector<std::string> extra = {}) const {
    std::vector<std::string> overrides = {"duration_s=60",
                                          "warmup_s=1",
                                          "datacenter.racks_per_row=1",
                                          "deployment.replicas=2",
                                          "datacenter.network.frontend.latency_ms=0",
                                          "datacenter.network.frontend.bandwidth_gbit_s=1000000",
                                          "datacenter.network.fabric.latency_us=0",
                                          "datacenter.network.fabric.server_link_gbit_s=1000000",
                                          "load_balancer.policy=round_robin"};
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    return load_scenario(std::string(AIDC_TEST_SCENARIOS_DIR) + "/default.yaml", overrides, catalog_);
  }

  static StartState::HeldBy held(int replica, int prompt, int output, int computed, int generated) {
    StartState::HeldBy h;
    h.replica = replica;
    h.held.request.prompt_tokens = prompt;
    h.held.request.max_output_tokens = output;
    h.held.computed_tokens = computed;
    h.held.generated_tokens = generated;
    h.arrival_s = -1;
    return h;
  }

  Catalog catalog_;
  ConstantStep step_;
};

// Requests in flight at t = 0, each needing a known number of iterations; every iteration of a
// replica advances all it runs by one token, so a request ends after as many iterations as it still
// has tokens to give:
//   replica 0: A decoding, 20 of 50 generated (119 tokens cached)   -> 30 iterations: 0.30 s
//              B decoding, 35 of 40 generated                        ->  5 iterations: 0.05 s
//              C queued, prompt 64, output 8: admitted in iteration 1 (first token), done at 8: 0.08 s
//   replica 1: D mid-prefill, 1,000 of 3,000 prompt tokens cached: iteration 1 prefills the other
//              2,000 (under the 2,048 chunk) and samples; 4 tokens in 4 iterations: 0.04 s
TEST_F(Simulate, RequestsInFlightAtTheStartFinishWhenTheirRemainingTokensAllow) {
  const Scenario s = scenario();
  StartState start;
  start.requests = {held(0, 100, 50, 119, 20), held(0, 200, 40, 234, 35), held(0, 64, 8, 0, 0), held(1, 3000, 4, 1000, 0)};
  start.requests[0].first_token_s = -0.5;
  LiveSource nothing_new;
  nothing_new.close();
  RunSetup setup;
  setup.start = &start;
  setup.workload = &nothing_new;
  const RunRecord record = simulate(s, catalog_, step_, setup);

  ASSERT_EQ(record.requests.size(), 4u);
  const double finish[] = {30 * kStep, 5 * kStep, 8 * kStep, 4 * kStep};
  const int replica[] = {0, 0, 0, 1};
  for (std::size_t i = 0; i < 4; ++i) {
    const RequestRecord& r = record.requests[i];
    EXPECT_EQ(r.status, RequestStatus::Completed) << "request " << i;
    EXPECT_NEAR(r.finish_s, finish[i], kNetwork) << "request " << i;
    EXPECT_EQ(r.replica, replica[i]);
    EXPECT_EQ(r.arrival_s, -1);
  }
  EXPECT_EQ(record.requests[0].first_token_s, -0.5);  // it had streamed before the start
  EXPECT_TRUE(std::isnan(record.requests[1].first_token_s));  // unknown: not given
  EXPECT_NEAR(record.requests[2].first_token_s, kStep, kNetwork);
  EXPECT_NEAR(record.requests[3].first_token_s, kStep, kNetwork);
  // KV use starts from the cached tokens: 119 and 234 tokens in blocks of 16 are 8 + 15 blocks on replica 0.
  EXPECT_GE(record.max_kv_blocks_used, 8 + 15);
  EXPECT_EQ(record.series.arrivals(0), 0) << "requests from before the start are not arrivals of this run";
}

// Start states no run can be in are refused before anything runs: a request with all its tokens
// generated (it would have finished), more cached tokens than a replica's KV cache holds (A100-80G
// with deepseek-llm-7b holds about 114,000 tokens), a request held by a replica that is down.
TEST_F(Simulate, AFinishedRequestIsNoStartState) {
  StartState start;
  start.requests = {held(0, 100, 5, 104, 5)};
  RunSetup setup;
  setup.start = &start;
  EXPECT_THROW(simulate(scenario(), catalog_, step_, setup), std::invalid_argument);
}

TEST_F(Simulate, MoreCachedTokensThanTheReplicaHoldsIsNoStartState) {
  StartState start;
  for (int i = 0; i < 40; ++i) start.requests.push_back(held(0, 3000, 1000, 3997, 998));  // 40 x 3,997 tokens cached
  RunSetup setup;
  setup.start = &start;
  EXPECT_THROW(simulate(scenario(), catalog_, step_, setup), std::invalid_argument);
}

TEST_F(Simulate, ARequestOnAReplicaThatIsDownIsNoStartState) {
  StartState start;
  start.requests = {held(1, 100, 5, 0, 0)};
  start.down = {{1, 10.0}};
  RunSetup setup;
  setup.start = &start;
  EXPECT_THROW(simulate(scenario(), catalog_, step_, setup), std::invalid_argument);
}

// Requests fed from another thread while the simulation runs. The feeder releases simulated time
// step by step and, after each release, waits in wall time before feeding the next request exactly at
// the released time: a simulation that ran ahead would stamp it later. Replica 1 is down until 31 s
// at the start, and the balancer knows it: every request before it is back goes to replica 0. Back
// at 31 s, the health checks at 32 and 34 s (every 2 s, rise 2) bring it up at 34 s, so the request at
// 33 s still goes to replica 0, and of those at 40 and 41 s round robin sends one to each.
TEST_F(Simulate, LiveRequestsFedWhileItRunsAndAReplicaDownAtTheStart) {
  const Scenario s = scenario();
  StartState start;
  start.down = {{1, 31.0}};
  LiveSource live;
  const std::vector<double> arrivals = {1, 5, 10, 20, 33, 40, 41};
  std::thread feeder([&] {
    for (double t : arrivals) {
      live.release_until(t);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      SourceRequest request;
      request.prompt_tokens = 100;
      request.output_tokens = 5;
      live.feed(t, request);
    }
    live.close();
  });
  RunSetup setup;
  setup.start = &start;
  setup.workload = &live;
  const RunRecord record = simulate(s, catalog_, step_, setup);
  feeder.join();

  ASSERT_EQ(record.requests.size(), arrivals.size());
  int on_replica_1 = 0;
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    const RequestRecord& r = record.requests[i];
    EXPECT_EQ(r.arrival_s, arrivals[i]) << "request " << i;
    EXPECT_EQ(r.status, RequestStatus::Completed) << "request " << i;
    // Alone on its replica: prefill and first token in one iteration, then 4 more.
    EXPECT_NEAR(r.first_token_s, arrivals[i] + kStep, kNetwork) << "request " << i;
    EXPECT_NEAR(r.finish_s, arrivals[i] + 5 * kStep, kNetwork) << "request " << i;
    if (arrivals[i] < 34) EXPECT_EQ(r.replica, 0) << "request " << i << " went to the replica that is down";
    on_replica_1 += r.replica == 1;
  }
  EXPECT_EQ(on_replica_1, 1);
}

}  // namespace
}  // namespace aidc
