// Queueing sanity: one replica that serves one request at a time with a fixed service time, fed by
// open-loop Poisson arrivals, is an M/D/1 queue; its mean wait is W = rho / (2 mu (1 - rho))
// (Pollaczek-Khinchine with zero service variance). The simulation (the real `aidc run`, in a child
// process) must match within 3%.
//
// Service time D: computed from the performance model's step times, not from the simulation — one
// prefill iteration of the 64-token prompt (which samples the first token) plus 7 decode iterations at
// KV lengths 65..71 (max_batch_sequences 1 means nothing else shares an iteration). The network adds
// microseconds (no frontend latency, 100 Gbit/s links, < 1 KB messages); the test checks that the
// fastest request's end-to-end time is within 0.2 ms of D, so reading waiting time as
// (finish - arrival - D) is off by < 1% of W.
//
// Statistics: ~150k requests at rho = 0.5 with a fixed seed. Waits are autocorrelated, so the standard
// error comes from 50 batch means; it is ~1% of W here, making the 3% bound a ~3-sigma test.
#include <cmath>
#include <numeric>

#include "aidc_child.hpp"
#include "catalog/catalog.hpp"
#include "perf/model_factory.hpp"
#include "scenario/loader.hpp"

namespace aidc_test {
namespace {

double service_time_from_model(const std::string& scenario_file) {
  const aidc::Catalog catalog = aidc::Catalog::load(AIDC_TEST_SCENARIOS_DIR);
  const aidc::Scenario s = aidc::load_scenario(scenario_file, {}, catalog);
  EXPECT_EQ(s.deployment.max_batch_sequences, 1);
  EXPECT_EQ(s.deployment.chunked_prefill_tokens, 0);
  const int prompt = static_cast<int>(s.workload.prompt_tokens.value);
  const int output = static_cast<int>(s.workload.output_tokens.value);
  EXPECT_EQ(prompt, 64);
  EXPECT_EQ(output, 8);
  const auto model = aidc::make_performance_model(s, catalog);
  aidc::BatchShape shape;
  shape.prefills.push_back({prompt, 0});
  shape.logits_rows = 1;
  double d = model->step(shape).seconds();
  for (int k = 1; k < output; ++k) {
    shape.clear();
    shape.decode_sequences = 1;
    shape.logits_rows = 1;
    shape.decode_context_tokens = prompt + k;  // the KV of the prompt and k generated tokens
    d += model->step(shape).seconds();
  }
  return d;
}

TEST(Queueing, SingleReplicaFixedServiceIsMD1) {
  const std::string scenario = kFixtures + "/md1.yaml";
  const double D = service_time_from_model(scenario);
  ASSERT_GT(D, 0.01);
  ASSERT_LT(D, 0.2);
  const double rho = 0.5;
  const double lambda = rho / D;
  const double duration = 14000;  // 14,000 x 0.5 / D: ~127k requests at the roofline's D of ~55 ms
  char rate[64];
  std::snprintf(rate, sizeof rate, "workload.schedule.rate_per_s=%.9f", lambda);

  TempDir dir;
  run_scenario(scenario, dir / "out", {rate, "duration_s=" + std::to_string(duration)}, dir.str());
  const Csv csv = read_csv(dir / "out/requests.csv");
  // Poisson arrivals: lambda x duration expected, the count within a few hundred of it (sd = sqrt(count)).
  ASSERT_GT(static_cast<double>(csv.rows.size()), 0.98 * lambda * duration);

  // Requests that arrived after the first 1000 (the queue starts empty) and before the last minute
  // (all of those have finished: the probability of a 60 s backlog at rho 0.5 is nil).
  std::vector<double> waits;
  double fastest = 1e9;
  const double last_arrival = duration - 60;
  for (std::size_t i = 0; i < csv.rows.size(); ++i) {
    const double arrival = csv.number(i, "arrival_s");
    if (arrival >= last_arrival) break;
    ASSERT_EQ(csv.at(i, "status"), "completed") << "row " << i;
    const double e2e = csv.number(i, "finish_s") - arrival;
    fastest = std::min(fastest, e2e);
    if (i >= 1000) waits.push_back(e2e - D);
  }
  // The unloaded system (a request that found the queue empty) takes D plus microseconds of network.
  EXPECT_GE(fastest, D - 1e-6);
  EXPECT_LT(fastest, D + 2e-4) << "network time should be negligible";

  // The arrival rate achieved: Poisson with the rate asked for.
  const double measured_rate = static_cast<double>(csv.rows.size()) / duration;
  EXPECT_NEAR(measured_rate, lambda, 4 * std::sqrt(lambda / duration)) << "Poisson count within 4 sigma";

  const double mean_wait = std::accumulate(waits.begin(), waits.end(), 0.0) / waits.size();
  const double mu = 1.0 / D;
  const double md1 = rho / (2 * mu * (1 - rho));
  const int batches = 50;
  const std::size_t per = waits.size() / batches;
  std::vector<double> means;
  for (int b = 0; b < batches; ++b)
    means.push_back(std::accumulate(waits.begin() + b * per, waits.begin() + (b + 1) * per, 0.0) / per);
  double var = 0;
  for (double m : means) var += (m - mean_wait) * (m - mean_wait);
  const double standard_error = std::sqrt(var / (batches - 1) / batches);
  std::printf("D = %.6f s, lambda = %.4f/s, %zu waits: mean %.6f s, M/D/1 %.6f s (%+.2f%%), standard error %.2f%%\n", D,
              lambda, waits.size(), mean_wait, md1, 100 * (mean_wait / md1 - 1), 100 * standard_error / md1);
  EXPECT_LT(standard_error, 0.012 * md1) << "too few requests for a 3% test";
  EXPECT_NEAR(mean_wait, md1, 0.03 * md1);
}

}  // namespace
}  // namespace aidc_test
