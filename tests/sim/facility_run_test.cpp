// The facility model inside real runs of `aidc` (each simulation its own child process): the energy
// balance closes in summary.json and timeseries.csv, PUE lands in the published Hong Kong ranges,
// thermal throttling slows prefill but not decode, a failed replica's requests are all accounted for
// and the health check removes it in time, payback reproduces the seed article's arithmetic, and a
// bad facility key is a FILE:LINE:COL error. Expected values come from the formulas and published
// figures named at each test, not from the code under test.
#include <cmath>

#include "aidc_child.hpp"

namespace aidc_test {
namespace {

const std::string kExamples = std::string(AIDC_TEST_SCENARIOS_DIR) + "/examples/";
const std::string kFacilityFixtures = kFixtures + "/facility/";

nlohmann::json run_summary(const TempDir& dir, const std::string& scenario, const std::vector<std::string>& sets,
                           const std::string& name = "out") {
  run_scenario(scenario, dir / name, sets, dir.str());
  return read_json(dir / (name + "/summary.json"));
}

double sum_values(const nlohmann::json& object) {
  double total = 0;
  for (const auto& [key, value] : object.items()) total += value.get<double>();
  return total;
}

// facility = IT + electrical losses + cooling (docs/facility.md §2), summed here from the line items.
TEST(FacilityRun, EnergyBalanceClosesInSummaryAndTimeseries) {
  TempDir dir;
  const auto j = run_summary(dir, kExamples + "facility-air-hk-summer.yaml", {"duration_s=120", "warmup_s=20"});
  const auto& e = j["energy"];
  const double it = e["it_kwh"].get<double>(), facility = e["facility_kwh"].get<double>();
  const double losses = sum_values(e["losses_kwh"]), cooling = sum_values(e["cooling_kwh"]);
  ASSERT_GT(it, 0);
  EXPECT_GT(losses, 0);
  EXPECT_GT(cooling, 0);
  EXPECT_NEAR(facility, it + losses + cooling, 1e-3 * facility);
  // The run's mean powers are its energies over its duration.
  EXPECT_NEAR(j["power"]["it_kw_mean"].get<double>(), it / (120.0 / 3600), 1e-3 * it / (120.0 / 3600));
  EXPECT_NEAR(j["power"]["facility_kw_mean"].get<double>(), facility / (120.0 / 3600), 1e-3 * facility / (120.0 / 3600));
  EXPECT_GE(j["power"]["it_kw_peak"].get<double>(), j["power"]["it_kw_mean"].get<double>());
  // Each interval: PUE = facility / IT, and the site's IT power is the sum of its racks.
  const Csv series = read_csv(dir / "out/timeseries.csv");
  ASSERT_EQ(series.rows.size(), 12u);
  double it_kwh = 0;
  for (std::size_t b = 0; b < series.rows.size(); ++b) {
    const double it_kw = series.number(b, "it_kw");
    EXPECT_NEAR(series.number(b, "pue"), series.number(b, "facility_kw") / it_kw, 1e-4);
    EXPECT_NEAR(it_kw, series.number(b, "rack0_kw") + series.number(b, "rack1_kw"), 1e-3);
    EXPECT_GT(series.number(b, "rack0_gpu_max_c"), 20) << "GPUs run above the 20 °C supply air";
    it_kwh += it_kw * 10 / 3600;
  }
  EXPECT_NEAR(it_kwh, it, 1e-3 * it);
  // A July afternoon in Hong Kong (HKO normals: mean max 31.4 °C).
  EXPECT_NEAR(series.number(0, "ambient_c"), 31.0, 1.0);
}

// REF (hardware-and-facility.md): air-cooled halls 1.3–1.6, direct-to-chip liquid 1.1–1.2, for Hong
// Kong. Published PUE is the Green Grid's: facility energy over IT energy for a whole year, so the
// run's annualized PUE (its load through the weather year) must lie in the range from either season's
// run. A July afternoon costs more cooling than a winter night, and no hour is below the mean (the
// seed's controller also raises the coolant flow whenever the GPUs run above 80%).
TEST(FacilityRun, PueInPublishedHongKongRanges) {
  struct Case {
    const char* kind;
    double low, high;
  };
  for (const Case c : {Case{"air", 1.3, 1.6}, Case{"liquid", 1.1, 1.2}}) {
    double mean_by_season[2] = {0, 0};
    for (int season = 0; season < 2; ++season) {
      const char* name = season == 0 ? "summer" : "winter";
      SCOPED_TRACE(std::string(c.kind) + " " + name);
      TempDir dir;
      const auto j = run_summary(dir, kExamples + "facility-" + c.kind + "-hk-" + name + ".yaml", {"duration_s=120", "warmup_s=20"});
      EXPECT_GE(j["pue"]["annualized"].get<double>(), c.low);
      EXPECT_LE(j["pue"]["annualized"].get<double>(), c.high);
      EXPECT_GE(j["pue"]["worst_hour"].get<double>(), j["pue"]["mean"].get<double>() - 1e-12);
      mean_by_season[season] = j["pue"]["mean"].get<double>();
    }
    EXPECT_GT(mean_by_season[0], mean_by_season[1]) << c.kind << ": a July afternoon costs more cooling than a January night";
  }
}

// Throttled clocks (forced by thresholds below the GPUs' temperature, clock floor 0.6) stretch only
// the compute-bound part of a step (REF: prefill scales with clock, decode is memory-bound and
// insensitive): a saturated replica's prefill throughput falls to about 0.6 of unthrottled; decode's
// stays within a few percent.
TEST(FacilityRun, ThrottlingCutsPrefillThroughputButBarelyDecode) {
  const std::vector<std::string> throttle = {"facility.thermal.throttle_start_c=25", "facility.thermal.throttle_full_c=30",
                                             "facility.thermal.min_clock_fraction=0.6"};
  auto throughput = [&](const std::vector<std::string>& load, bool throttled, const char* metric) {
    TempDir dir;
    std::vector<std::string> sets = load;
    if (throttled) sets.insert(sets.end(), throttle.begin(), throttle.end());
    const auto j = run_summary(dir, kFacilityFixtures + "saturated.yaml", sets);
    if (throttled) EXPECT_GT(j["thermal"]["throttled_fraction"].get<double>(), 0.9);
    if (!throttled) EXPECT_EQ(j["thermal"]["throttled_fraction"].get<double>(), 0.0);
    return j["throughput"][metric].get<double>();
  };
  const std::vector<std::string> prefill = {"workload.prompt_tokens=2048", "workload.output_tokens=1"};
  const std::vector<std::string> decode = {"workload.prompt_tokens=16", "workload.output_tokens=1024"};
  const double prefill_ratio =
      throughput(prefill, true, "input_tokens_per_s") / throughput(prefill, false, "input_tokens_per_s");
  const double decode_ratio =
      throughput(decode, true, "output_tokens_per_s") / throughput(decode, false, "output_tokens_per_s");
  std::printf("throttled/unthrottled throughput: prefill %.3f, decode %.3f\n", prefill_ratio, decode_ratio);
  EXPECT_LT(prefill_ratio, 0.7);
  EXPECT_GT(prefill_ratio, 0.55);
  EXPECT_GT(decode_ratio, 0.95);
}

// HAProxy health checks (inter 2 s, fall 3): a replica failing at 50.3 s is marked down by the third
// failed check, at 56 s <= 50.3 + 2 × 3. Every request it held or received while down is retried
// elsewhere or failed; none completes on it while it is down; nothing is lost.
TEST(FacilityRun, FailoverAccountsForEveryRequestAndHealthCheckRemovesReplica) {
  TempDir dir;
  const auto j = run_summary(dir, kFacilityFixtures + "failover.yaml", {});
  const auto& outages = j["availability"]["outages"];
  ASSERT_EQ(outages.size(), 1u);
  const auto& o = outages[0];
  const double failed_at = o["failed_at_s"].get<double>(), removed = o["removed_by_health_check_s"].get<double>();
  EXPECT_NEAR(failed_at, 50.3, 0.5);  // at the end of the iteration in progress
  EXPECT_GT(removed, failed_at);
  EXPECT_LE(removed, failed_at + 2.0 * 3 + 1e-6);
  EXPECT_GT(o["in_flight"].get<long long>(), 0) << "the test needs requests in flight at the failure";
  EXPECT_EQ(o["in_flight"].get<long long>() + o["arrived_while_down"].get<long long>(),
            o["retried"].get<long long>() + o["failed"].get<long long>());
  EXPECT_EQ(j["requests"]["failed"].get<long long>(), o["failed"].get<long long>());
  const double back = o["serving_again_s"].get<double>();
  // Down for 30 s repair + 60 s process start + 13.8 GB of bf16 weights at 2 GB/s.
  EXPECT_NEAR(back - failed_at, 30 + 60 + 6.9, 0.5);
  EXPECT_NEAR(j["availability"]["fraction"].get<double>(), 1 - (back - failed_at) / (4 * 240.0), 1e-3);

  const Csv requests = read_csv(dir / "out/requests.csv");
  long long unfinished_early = 0, completed_on_dead = 0;
  for (std::size_t i = 0; i < requests.rows.size(); ++i) {
    const std::string status = requests.at(i, "status");
    if (status == "unfinished" && requests.number(i, "arrival_s") < 200) ++unfinished_early;
    if (status == "completed" && requests.at(i, "replica") == "1") {
      const double finish = requests.number(i, "finish_s");
      completed_on_dead += finish > failed_at + 0.1 && finish < back;
    }
  }
  EXPECT_EQ(unfinished_early, 0) << "a request the failed replica held was lost";
  EXPECT_EQ(completed_on_dead, 0);
}

// Payback = capex / (monthly cloud − monthly private operating): the seed article's ¥280,000 against
// ¥42,000/month with no operating cost is 6.67 months; its own 9.2 subtracts 280,000/24 a month.
TEST(FacilityRun, PaybackOnTheSeedArticleInputs) {
  TempDir dir;
  const auto plain = run_summary(dir, kExamples + "facility-payback-seed.yaml", {"duration_s=60", "warmup_s=10"}, "plain");
  EXPECT_EQ(plain["cost"]["currency"], "CNY");
  EXPECT_NEAR(plain["cost"]["capex"].get<double>(), 280000, 1e-6);
  EXPECT_NEAR(plain["cost"]["payback_months"].get<double>(), 280000.0 / 42000.0, 1e-6);
  const auto article = run_summary(dir, kExamples + "facility-payback-seed.yaml",
                                   {"duration_s=60", "warmup_s=10", "cost.payback_amortization_months=24"}, "article");
  EXPECT_NEAR(article["cost"]["payback_months"].get<double>(), 280000.0 / (42000.0 - 280000.0 / 24), 1e-6);
  EXPECT_NEAR(article["cost"]["payback_months"].get<double>(), 9.2, 0.05);
}

// A misspelt cooling kind: exit 2, FILE:LINE:COL with did-you-mean, nothing written.
TEST(FacilityRun, BadFacilityKeyIsAFileLineColumnError) {
  TempDir cwd;
  const ChildResult r = run_aidc({"run", kFixtures + "/bad/facility_typo.yaml", "--out", "out", "--progress", "none"}, cwd.str());
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("facility_typo.yaml:6:15: error: facility.halls[0].cooling.kind: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'immersion'?"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(cwd.path()));
}

}  // namespace
}  // namespace aidc_test
