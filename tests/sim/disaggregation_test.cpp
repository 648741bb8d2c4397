// Prefill/decode disaggregation inside a run (docs/deepseek-scale.md): a request is prefilled on a
// prefill replica, its KV cache crosses the fabric to a decode replica as a SimGrid flow, and the
// decode replica's first step gives the first token the client sees. Every expected time below is
// counted by hand: the pools' step times from their performance models, each network leg as the
// latency of the links it crosses plus its bytes over the link bandwidth (SimGrid's CM02 model, no
// slow start), with the KV size from the model's architecture. Each test runs in its own process
// (one SimGrid engine).
#include <gtest/gtest.h>

#include <cmath>

#include "perf/model_factory.hpp"
#include "run/simulate.hpp"
#include "scenario/loader.hpp"
#include "serving/messages.hpp"
#include "workload/live_source.hpp"

namespace aidc {
namespace {

constexpr double kHopS = 5e-6;                  // fabric latency per link
constexpr double kLinkBytesPerS = 100e9 / 8;    // 100 Gbit/s NICs
constexpr double kArrival = 1.0;
constexpr int kPrompt = 1000, kOutput = 10;
// deepseek-llm-7b: K and V of 32 heads x 128 dimensions, 30 layers, bf16.
constexpr double kKvBytesPerToken = 2 * 32 * 128 * 30 * 2.0;
// DeepSeek-V2-Lite (MLA): a latent of kv_lora_rank 512 + rope 64 = 576 values per token per layer, 27 layers, bf16.
constexpr double kMlaKvBytesPerToken = 576 * 27 * 2.0;

class Disaggregation : public ::testing::Test {
 protected:
  Disaggregation() : catalog_(Catalog::load(AIDC_TEST_SCENARIOS_DIR)) {}

  // Two servers of 8 x A100 on one ToR; users and balancer one instantaneous link away.
  Scenario scenario(std::vector<std::string> extra) const {
    std::vector<std::string> overrides = {"duration_s=30",
                                          "warmup_s=0.5",
                                          "datacenter.racks_per_row=1",
                                          "datacenter.servers_per_rack=2",
                                          "datacenter.network.frontend.latency_ms=0",
                                          "datacenter.network.frontend.bandwidth_gbit_s=1000000",
                                          "datacenter.network.fabric.latency_us=5",
                                          "datacenter.network.fabric.server_link_gbit_s=100",
                                          "load_balancer.policy=round_robin"};
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    return load_scenario(std::string(AIDC_TEST_SCENARIOS_DIR) + "/default.yaml", overrides, catalog_);
  }

  // One prefill replica on server 1 and one decode replica on server 2, each a whole server (TP 8).
  Scenario one_replica_each(std::vector<std::string> extra = {}) const {
    extra.insert(extra.end(), {"deployment.prefill.replicas=1", "deployment.prefill.tensor_parallel=8",
                               "deployment.decode.replicas=1", "deployment.decode.tensor_parallel=8"});
    return scenario(extra);
  }

  RunRecord run(const Scenario& s, int requests) const {
    LiveSource source;
    SourceRequest request;
    request.prompt_tokens = kPrompt;
    request.output_tokens = kOutput;
    for (int i = 0; i < requests; ++i) source.feed(kArrival, request);
    source.close();
    const auto prefill = make_performance_model(s, catalog_);
    RunSetup setup;
    setup.workload = &source;
    return simulate(s, catalog_, *prefill, setup);
  }

  // Balancer -> server or server -> users: the balancer's link, the spine, the rack uplink and the NIC.
  static double frontend_leg(double bytes) { return 4 * kHopS + bytes / kLinkBytesPerS; }
  // Server to server on one ToR: out of one NIC, into the other (full duplex).
  static double kv_leg(double bytes, int sharing) { return 2 * kHopS + sharing * bytes / kLinkBytesPerS; }

  Catalog catalog_;
};

// TTFT = the request's trip to the prefill replica + its prefill step + the KV transfer + the decode
// replica's first step (the prompt's last token again, over the other 999) + the first token's trip.
TEST_F(Disaggregation, OneRequestsTtftIsPrefillTransferAndFirstDecodeStep) {
  const Scenario s = one_replica_each();
  const RunRecord record = run(s, 1);
  ASSERT_EQ(record.requests.size(), 1u);
  const RequestRecord& r = record.requests[0];
  ASSERT_EQ(r.status, RequestStatus::Completed);
  EXPECT_EQ(r.replica, 0);
  EXPECT_EQ(r.decode_replica, 1);

  BatchShape prefill, first_decode;
  prefill.prefills = {{kPrompt, 0}};
  prefill.logits_rows = 1;
  first_decode.prefills = {{1, kPrompt - 1}};
  first_decode.logits_rows = 1;
  const double prefill_s = make_pool_performance_model(s, catalog_, s.disaggregation->prefill)->step(prefill).seconds();
  const double decode_s = make_pool_performance_model(s, catalog_, s.disaggregation->decode)->step(first_decode).seconds();
  const double kv_bytes = kPrompt * kKvBytesPerToken;
  const double request_trip = frontend_leg(kEnvelopeBytes + kBytesPerToken * kPrompt);
  const double first_token_trip = frontend_leg(kEnvelopeBytes + kBytesPerToken);

  EXPECT_NEAR(r.kv_sent_s - r.arrival_s, request_trip + prefill_s, 1e-9);
  EXPECT_NEAR(r.kv_arrived_s - r.kv_sent_s, kv_leg(kv_bytes, 1), 1e-9);
  EXPECT_NEAR(r.decode_admitted_s, r.kv_arrived_s, 1e-9) << "an idle decode replica takes the KV cache as it arrives";
  EXPECT_NEAR(r.first_token_s - r.arrival_s, request_trip + prefill_s + kv_leg(kv_bytes, 1) + decode_s + first_token_trip, 1e-8);
  EXPECT_GT(kv_leg(kv_bytes, 1), 0.03) << "491.5 MB over 12.5 GB/s: the transfer is a visible part of TTFT";
}

// What moves is the model's whole KV cache of the prompt at the KV precision: for MLA the latent of
// 576 values per token and layer (DeepSeek-V2-Lite, 27 layers), halved with an fp8 cache.
TEST_F(Disaggregation, KvTransferBytesAreTheModelsKvSizeTimesThePrompt) {
  const Scenario s = one_replica_each({"deployment.model=DeepSeek-V2-Lite", "deployment.kv_cache_precision=fp8"});
  const RunRecord record = run(s, 1);
  ASSERT_EQ(record.requests.size(), 1u);
  const RequestRecord& r = record.requests[0];
  ASSERT_EQ(r.status, RequestStatus::Completed);
  EXPECT_DOUBLE_EQ(r.kv_bytes, kPrompt * kMlaKvBytesPerToken / 2);
  EXPECT_NEAR(r.kv_arrived_s - r.kv_sent_s, kv_leg(kPrompt * kMlaKvBytesPerToken / 2, 1), 1e-9);
}

// A prefill and a decode replica of 4 GPUs each share one server: the KV cache crosses its NVLink
// switch, 8 A100 ports of 300 GB/s each way (NVLink 3: 600 GB/s both ways per GPU), not a NIC, and
// with no latency of its own.
TEST_F(Disaggregation, KvTransferInsideAServerCrossesNvlink) {
  const Scenario s = scenario({"deployment.prefill.replicas=1", "deployment.prefill.tensor_parallel=4",
                               "deployment.decode.replicas=1", "deployment.decode.tensor_parallel=4"});
  const RunRecord record = run(s, 1);
  ASSERT_EQ(record.requests.size(), 1u);
  const RequestRecord& r = record.requests[0];
  ASSERT_EQ(r.status, RequestStatus::Completed);
  EXPECT_NEAR(r.kv_arrived_s - r.kv_sent_s, kPrompt * kKvBytesPerToken / (8 * 300e9), 1e-9);
}

// Two prefill replicas on server 1 (TP 4 each) finish the same prompt at the same moment and send their
// KV caches to two decode replicas on server 2: both flows share the prefill server's NIC out and the
// decode server's NIC in, so each takes twice the time one alone would.
TEST_F(Disaggregation, TransfersSharingALinkTakeLonger) {
  const Scenario s = scenario({"deployment.prefill.replicas=2", "deployment.prefill.tensor_parallel=4",
                               "deployment.decode.replicas=2", "deployment.decode.tensor_parallel=4"});
  const RunRecord record = run(s, 2);
  EXPECT_EQ(record.requests[0].replica / 2, 0) << "prefill replicas 0 and 1 fill server 1, decode replicas 2 and 3 server 2";
  ASSERT_EQ(record.requests.size(), 2u);
  const double kv_bytes = kPrompt * kKvBytesPerToken;
  for (const RequestRecord& r : record.requests) {
    ASSERT_EQ(r.status, RequestStatus::Completed);
    EXPECT_NEAR(r.kv_arrived_s - r.kv_sent_s, kv_leg(kv_bytes, 2), 1e-6);
    EXPECT_GT(r.kv_arrived_s - r.kv_sent_s, 1.9 * (kv_leg(kv_bytes, 1) - 2 * kHopS));
  }
  EXPECT_NE(record.requests[0].replica, record.requests[1].replica);
  EXPECT_NE(record.requests[0].decode_replica, record.requests[1].decode_replica);
}

// The same network and model, co-located (no deployment.prefill or .decode): the replica that
// prefills gives the first token itself, with no transfer and no second step, as before pools existed.
TEST_F(Disaggregation, CoLocatedFirstTokenComesFromThePrefillStep) {
  const Scenario s = scenario({"deployment.replicas=1", "deployment.tensor_parallel=8"});
  ASSERT_FALSE(s.disaggregation);
  const RunRecord record = run(s, 1);
  ASSERT_EQ(record.requests.size(), 1u);
  const RequestRecord& r = record.requests[0];
  ASSERT_EQ(r.status, RequestStatus::Completed);
  BatchShape prefill;
  prefill.prefills = {{kPrompt, 0}};
  prefill.logits_rows = 1;
  const double prefill_s = make_performance_model(s, catalog_)->step(prefill).seconds();
  EXPECT_NEAR(r.first_token_s - r.arrival_s,
              frontend_leg(kEnvelopeBytes + kBytesPerToken * kPrompt) + prefill_s + frontend_leg(kEnvelopeBytes + kBytesPerToken), 1e-8);
  EXPECT_TRUE(std::isnan(r.kv_sent_s));
  EXPECT_EQ(r.kv_bytes, 0);
  EXPECT_EQ(record.series.replicas(), 1);
}

// A pool's mistakes are reported at the pool's key, with its place in the file, like every other key's.
TEST_F(Disaggregation, PoolErrorsNameThePoolsKeyWithItsPlace) {
  const std::string yaml =
      "datacenter: {racks_per_row: 1, servers_per_rack: 2}\n"
      "deployment:\n"
      "  prefill: {replicas: 2, tensor_parallel: 8}\n"
      "  decode:\n"
      "    tensor_parallel: 3\n"
      "    gpu: A100-80G-SXN\n";
  std::vector<InputError> errors;
  try {
    read_scenario(parse_yaml_text(yaml, "pools.yaml"), "pools.yaml", catalog_);
  } catch (const InputErrors& e) {
    errors = e.errors();
  }
  auto find = [&](const std::string& key) -> const InputError* {
    for (const InputError& error : errors)
      if (error.key_path == key) return &error;
    return nullptr;
  };
  const InputError* gpu = find("deployment.decode.gpu");
  ASSERT_NE(gpu, nullptr);
  EXPECT_EQ(gpu->where.file, "pools.yaml");
  EXPECT_EQ(gpu->where.line, 6);
  EXPECT_NE(gpu->message.find("did you mean 'A100-80G-SXM'"), std::string::npos) << gpu->message;

  errors.clear();
  try {  // the prefill pool takes both servers: none is left for decode
    read_scenario(parse_yaml_text(yaml.substr(0, yaml.find("    tensor_parallel: 3")), "pools.yaml"), "pools.yaml", catalog_);
  } catch (const InputErrors& e) {
    errors = e.errors();
  }
  const InputError* replicas = find("deployment.decode.replicas");
  ASSERT_NE(replicas, nullptr);
  EXPECT_NE(replicas->message.find("need 3 servers"), std::string::npos) << replicas->message;

  errors.clear();
  try {
    read_scenario(parse_yaml_text("deployment: {decode: {tensor_parallel: 3}}\n", "pools.yaml"), "pools.yaml", catalog_);
  } catch (const InputErrors& e) {
    errors = e.errors();
  }
  const InputError* layout = find("deployment.decode.tensor_parallel");
  ASSERT_NE(layout, nullptr);
  EXPECT_EQ(layout->where.line, 1);
  EXPECT_NE(layout->message.find("divisor of 8"), std::string::npos) << layout->message;
}

}  // namespace
}  // namespace aidc
