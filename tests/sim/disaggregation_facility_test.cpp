// Power, cost and failures of a disaggregated run (docs/deepseek-scale.md): each pool's servers draw
// and cost as their own GPU and server type, and a failure takes down the replica it names, in
// either pool. Prices, idle and peak power come from the catalog here, not from the report's code.
// Each test runs in its own process (one SimGrid engine).
#include <gtest/gtest.h>

#include <cmath>

#include "perf/model_factory.hpp"
#include "report/summary.hpp"
#include "run/simulate.hpp"
#include "scenario/loader.hpp"
#include "workload/live_source.hpp"

namespace aidc {
namespace {

class DisaggregatedFacility : public ::testing::Test {
 protected:
  DisaggregatedFacility() : catalog_(Catalog::load(AIDC_TEST_SCENARIOS_DIR)) {}

  // The DeepSeek-R1 example (a prefill pool of 4 H800 servers, a decode pool of 2 H200 servers, one
  // rack of 6) with the facility and cost models on.
  Scenario deepseek() const {
    return load_scenario(std::string(AIDC_TEST_SCENARIOS_DIR) + "/examples/deepseek-r1-disaggregated.yaml",
                         {"duration_s=30", "facility.weather=hong_kong", "cost.currency=USD"}, catalog_);
  }

  nlohmann::ordered_json summary_of(const Scenario& s) const {
    const auto performance = make_performance_model(s, catalog_);
    return summarize_run(s, catalog_, simulate(s, catalog_, *performance), *performance);
  }

  // Two servers of 8 x A100 on one ToR: two prefill replicas (TP 4) on the first, two decode replicas
  // (TP 4) on the second; a health check every 0.1 s, repair in 5 s.
  Scenario small_pools() const {
    return load_scenario(std::string(AIDC_TEST_SCENARIOS_DIR) + "/default.yaml",
                         {"duration_s=60", "warmup_s=0.5", "datacenter.racks_per_row=1", "datacenter.servers_per_rack=2",
                          "load_balancer.policy=round_robin", "load_balancer.health_check.interval_s=0.1",
                          "deployment.prefill.replicas=2", "deployment.prefill.tensor_parallel=4", "deployment.decode.replicas=2",
                          "deployment.decode.tensor_parallel=4", "facility.weather=hong_kong", "facility.failures.repair_s=5",
                          "facility.failures.process_start_s=0"},
                         catalog_);
  }

  // Four requests of 1000 prompt tokens at t = 1 s, `output` tokens each, and one failure.
  RunRecord run_with_failure(Scenario s, int output, double failure_at_s, int replica) const {
    s.facility->failures.scripted.push_back({failure_at_s, replica, -1});
    LiveSource source;
    SourceRequest request;
    request.prompt_tokens = 1000;
    request.output_tokens = output;
    for (int i = 0; i < 4; ++i) source.feed(1.0, request);
    source.close();
    const auto performance = make_performance_model(s, catalog_);
    RunSetup setup;
    setup.workload = &source;
    return simulate(s, catalog_, *performance, setup);
  }

  // One outage, of the replica, requests in flight, retried and failed that `expected` gives.
  static void expect_one_outage(const RunRecord& run, const Outage& expected) {
    ASSERT_EQ(run.facility->outages.size(), 1u);
    const Outage& outage = run.facility->outages.front();
    EXPECT_EQ(outage.replica, expected.replica);
    EXPECT_EQ(outage.in_flight, expected.in_flight);
    EXPECT_EQ(outage.retried, expected.retried);
    EXPECT_EQ(outage.failed, expected.failed);
  }

  Catalog catalog_;
};

// Capex of the GPUs and servers = Σ over pools of servers × (server price + GPUs per server × GPU price).
TEST_F(DisaggregatedFacility, CapexIsEachPoolsServersAtTheirOwnPrices) {
  const Scenario s = deepseek();
  const auto j = summary_of(s);
  auto pool_capex = [&](const PoolSpec& pool, int servers) {
    const ServerSpec& server = *catalog_.server(pool.server_type);
    return servers * (server.price_usd + server.gpus_per_server * catalog_.gpu(pool.gpu)->price_usd);
  };
  const double prefill = pool_capex(s.disaggregation->prefill, 4), decode = pool_capex(s.disaggregation->decode, 2);
  ASSERT_NE(catalog_.gpu("H800")->price_usd, catalog_.gpu("H200-SXM")->price_usd);  // else the test tells nothing
  const auto& cost = j["cost"];
  EXPECT_DOUBLE_EQ(cost["capex_breakdown"]["gpus"].get<double>() + cost["capex_breakdown"]["servers"].get<double>(), prefill + decode);
  EXPECT_DOUBLE_EQ(cost["pools"]["prefill"]["capex"].get<double>(), prefill);
  EXPECT_DOUBLE_EQ(cost["pools"]["decode"]["capex"].get<double>(), decode);
  EXPECT_EQ(cost["pools"]["prefill"]["servers"].get<int>(), 4);
  EXPECT_EQ(cost["pools"]["decode"]["gpus"].get<int>(), 16);
  // The site's shared parts come on top; the pools' cost per million tokens is part of the whole.
  EXPECT_GT(cost["capex"].get<double>(), prefill + decode);
  EXPECT_LT(cost["pools"]["prefill"]["per_million_output_tokens"].get<double>() +
                cost["pools"]["decode"]["per_million_output_tokens"].get<double>(),
            cost["per_million_output_tokens"].get<double>());
  // Cloud rent is for every installed GPU: 48.
  EXPECT_EQ(j["gpus"]["installed"].get<int>(), 48);
}

// Each pool's GPUs draw between their own idle and board power, and its servers between their GPUs
// idle and the servers' nameplate; the site's IT power holds both pools and the switches.
TEST_F(DisaggregatedFacility, EachPoolDrawsWithinItsOwnGpusIdleAndPeak) {
  const Scenario s = deepseek();
  const auto j = summary_of(s);
  double pools_kw = 0;
  for (const auto& [name, pool, servers] : {std::tuple{"prefill", &s.disaggregation->prefill, 4}, {"decode", &s.disaggregation->decode, 2}}) {
    const GpuSpec& gpu = *catalog_.gpu(pool->gpu);
    const ServerSpec& server = *catalog_.server(pool->server_type);
    const auto& power = j["pools"][name]["power"];
    const double gpu_w = power["serving_gpu_w_mean"].get<double>(), kw = power["it_kw_mean"].get<double>();
    EXPECT_GE(gpu_w, gpu.idle_w) << name;
    EXPECT_LE(gpu_w, gpu.tdp_w) << name;
    EXPECT_GE(kw, servers * server.gpus_per_server * gpu.idle_w / 1000) << name;
    EXPECT_LE(kw, servers * server.max_power_w / 1000) << name;
    EXPECT_NEAR(power["it_kwh"].get<double>(), kw * s.simulation.duration_s / 3600, 1e-9) << name;
    pools_kw += kw;
  }
  EXPECT_GT(j["power"]["it_kw_mean"].get<double>(), pools_kw);  // + the rack's switches
  EXPECT_LT(j["power"]["it_kw_mean"].get<double>(), pools_kw + s.facility->switches_per_rack * s.facility->switch_w / 1000 + 1e-9);
}

// A prefill replica failing with a prompt still queued hands that request back whole: it is prefilled
// again on the other prefill replica and decoded, all its tokens, on a decode replica. (A failure
// reaches a replica between its steps: the prompt in the step at the time is prefilled and handed on.)
TEST_F(DisaggregatedFacility, FailedPrefillReplicasQueuedRequestIsPrefilledElsewhereAndDecoded) {
  // One prompt per prefill step: each prefill replica runs one of its two and queues the other. The
  // requests reach the replicas 5 ms after they are sent (the frontend link), a step lasts longer.
  Scenario s = small_pools();
  s.disaggregation->prefill.deployment.max_batch_sequences = 1;
  const RunRecord run = run_with_failure(s, 10, 1.015, 0);
  expect_one_outage(run, {0, 0, -1, 0, 1, 0, 1, 0});  // replica 0: 1 in flight, retried
  int on_the_other = 0;
  for (const RequestRecord& r : run.requests) {
    EXPECT_EQ(r.status, RequestStatus::Completed);
    EXPECT_FALSE(std::isnan(r.kv_arrived_s)) << "its KV cache went to a decode replica";
    EXPECT_GT(r.finish_s, r.first_token_s) << "nine more tokens after the first";
    on_the_other += r.replica == 1;
  }
  EXPECT_EQ(on_the_other, 3);  // its own two and the one handed back
}

// A decode replica failing while it streams two answers: those two fail (their streams had started),
// the other decode replica's two complete, nothing is left hanging, and the prefill pool is not touched.
TEST_F(DisaggregatedFacility, FailedDecodeReplicaFailsItsStreamsOnly) {
  const Scenario s = small_pools();
  const RunRecord run = run_with_failure(s, 2000, 3.0, 2);
  expect_one_outage(run, {2, 0, -1, 0, 2, 0, 0, 2});  // replica 2: 2 in flight, failed
  const Outage& outage = run.facility->outages.front();
  int completed = 0, failed = 0;
  for (const RequestRecord& r : run.requests) {
    completed += r.status == RequestStatus::Completed;
    failed += r.status == RequestStatus::Failed;
  }
  EXPECT_EQ(completed, 2);
  EXPECT_EQ(failed, 2);
  // Down from the failure for the 5 s repair, then the decode pool's weights at 2 GB/s per GPU.
  EXPECT_NEAR(outage.serving_again_s, 3.0 + 5 + s.disaggregation->decode.memory.weight_bytes_per_gpu / 2e9, 1e-6);
}

}  // namespace
}  // namespace aidc
