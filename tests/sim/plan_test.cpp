// `aidc plan` as a planner uses it (issue 12): what it buys is what its run installs and costs; its
// limits are hard limits; an SLO no candidate can reach is answered at once with the limit that binds;
// N+1 buys one server more than the SLOs need. Each test drives the real binary in a temporary folder.
#include <chrono>

#include "aidc_child.hpp"

using namespace aidc_test;

namespace {

const std::string kClosedLoop = kFixtures + "/closed_loop.yaml";

// A short closed-loop run of deepseek-llm-7b with bounds a few H100 servers meet.
std::vector<std::string> plan_args(const TempDir& dir, std::vector<std::string> extra) {
  std::vector<std::string> args = {"plan",  kClosedLoop, "--set", "duration_s=40", "--set", "slo.ttft_s=1",
                                   "--set", "slo.tpot_s=0.05",   "--out", dir / "plan"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// The figures of the candidate sizes the plan ran, as plan.csv lists them.
std::vector<std::map<std::string, std::string>> plan_rows(const TempDir& dir) {
  const Csv csv = read_csv(dir / "plan/plan.csv");
  std::vector<std::map<std::string, std::string>> rows;
  for (std::size_t r = 0; r < csv.rows.size(); ++r) {
    std::map<std::string, std::string> row;
    for (const auto& [name, column] : csv.column) row[name] = csv.rows[r].at(column);
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

// The old planner priced replicas × TP GPUs (24 H100, $840,000) while its run installed whole servers
// (32 GPUs, $1,120,000). The winner run again on its own, outside the plan, reports the plan's figures.
TEST(Plan, PlanAndRunAgreeOnWhatIsBoughtAndItsCost) {
  TempDir dir;
  const ChildResult plan = run_aidc(plan_args(dir, {"--gpus", "H100-SXM", "--servers", "hgx-8", "--max-batch", "64", "--max-gpus", "16", "--margin", "0"}),
                                    dir.str());
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  const auto winner = read_json(dir / "plan/plan.json")["winner"];
  ASSERT_FALSE(winner.is_null()) << plan.out;
  // Every GPU bought serves: replicas × TP = servers × 8.
  EXPECT_EQ(winner["replicas"].get<int>() * winner["tensor_parallel"].get<int>(), winner["servers"].get<int>() * 8);
  EXPECT_EQ(winner["gpus"].get<int>(), winner["servers"].get<int>() * 8);

  const int racks = winner["racks"].get<int>();
  run_scenario(kClosedLoop, dir / "alone",
               {"duration_s=40", "slo.ttft_s=1", "slo.tpot_s=0.05", "cost.currency=USD", "datacenter.gpu=H100-SXM",
                "datacenter.server_type=" + winner["server_type"].get<std::string>(), "datacenter.rows_per_hall=1",
                "datacenter.racks_per_row=" + std::to_string(racks),
                "datacenter.servers_per_rack=" + std::to_string(winner["servers_per_rack"].get<int>()),
                "deployment.precision=" + winner["precision"].get<std::string>(),
                "deployment.tensor_parallel=" + std::to_string(winner["tensor_parallel"].get<int>()),
                "deployment.replicas=" + std::to_string(winner["replicas"].get<int>()),
                "deployment.max_batch_sequences=" + std::to_string(winner["max_batch_sequences"].get<int>())},
               dir.str());
  const auto alone = read_json(dir / "alone/summary.json");
  EXPECT_EQ(alone["gpus"]["installed"].get<int>(), winner["gpus"].get<int>());
  EXPECT_EQ(alone["gpus"]["count"].get<int>(), winner["gpus"].get<int>());
  EXPECT_DOUBLE_EQ(alone["cost"]["capex"].get<double>(), winner["capex"].get<double>());
  EXPECT_DOUBLE_EQ(alone["cost"]["tco"].get<double>(), winner["tco"].get<double>());
  EXPECT_DOUBLE_EQ(alone["cost"]["opex_per_year"].get<double>(), winner["opex_per_year"].get<double>());
  // The GPUs in that capex: the installed count at the catalog's H100-SXM street price (gpus.yaml: $27,500).
  EXPECT_DOUBLE_EQ(alone["cost"]["capex_breakdown"]["gpus"].get<double>(), 27500.0 * winner["gpus"].get<int>());
  // And the figures a planner signs are all there, for every frontier point.
  for (const auto& point : read_json(dir / "plan/plan.json")["frontier"])
    for (const char* key : {"gpus", "servers", "racks", "it_kw_peak", "facility_kw_mean", "pue_annualized", "capex", "tco",
                            "per_million_output_tokens", "per_million_tokens_input_and_output", "payback_months_vs_cloud",
                            "payback_months_vs_api"})
      EXPECT_TRUE(point.contains(key) && point[key].is_number()) << key << " in " << point.dump();
}

// `--max-gpus 6` once evaluated an 8-GPU candidate. An 8-GPU server cannot be bought under it: the
// plan says so and runs nothing bigger.
TEST(Plan, MaxGpusIsAHardLimit) {
  TempDir dir;
  const ChildResult plan = run_aidc(plan_args(dir, {"--gpus", "H100-SXM", "--max-gpus", "6"}), dir.str());
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  for (const auto& row : plan_rows(dir)) EXPECT_LE(std::stoi(row.at("gpus")), 6) << plan.out;
  const auto result = read_json(dir / "plan/plan.json");
  EXPECT_TRUE(result["winner"].is_null());
  ASSERT_FALSE(result["skipped"].empty());
  EXPECT_NE(result["skipped"][0]["reason"].get<std::string>().find("holds 8 GPUs, above --max-gpus 6"), std::string::npos)
      << result.dump(2);
  EXPECT_NE(plan.out.find("above --max-gpus 6"), std::string::npos) << plan.out;
}

// An unreachable TPOT was reported as "no GPU in the catalog can hold this model", and over every GPU
// it ran past 10 minutes. Now the analytic model rules every candidate out before any run, and the
// verdict names the fastest decode step of any candidate.
TEST(Plan, UnreachableTpotNamesTheBindingLimitWithoutRunning) {
  TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  const ChildResult plan = run_aidc(plan_args(dir, {"--set", "slo.tpot_s=0.0001"}), dir.str());
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  EXPECT_LT(wall_s, 60) << "an unreachable SLO must be answered without simulating";
  const auto result = read_json(dir / "plan/plan.json");
  EXPECT_EQ(result["evaluated"].get<int>(), 0);
  const std::string why = result["why_none"].get<std::string>();
  EXPECT_NE(why.find("TPOT 0.1 ms"), std::string::npos) << why;
  EXPECT_NE(why.find("below the fastest decode step of any candidate"), std::string::npos) << why;
  EXPECT_NE(why.find("at batch 1"), std::string::npos) << why;
  EXPECT_EQ(plan.out.find("can hold this model"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find(why), std::string::npos) << plan.out;
}

// Rack power density is a constraint: an 8 kW colocation rack cannot take a 10.2 kW (nameplate) HGX
// server, whatever the SLO.
TEST(Plan, RackPowerLimitRulesOutServersAboveIt) {
  TempDir dir;
  const ChildResult plan = run_aidc(plan_args(dir, {"--gpus", "H100-SXM", "--servers", "hgx-8", "--rack-kw", "8"}), dir.str());
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  const auto result = read_json(dir / "plan/plan.json");
  EXPECT_EQ(result["evaluated"].get<int>(), 0);
  ASSERT_FALSE(result["skipped"].empty());
  EXPECT_NE(result["skipped"][0]["reason"].get<std::string>().find("10.2 kW at nameplate, above the 8.0 kW rack limit"),
            std::string::npos)
      << result.dump(2);
}

// N+1: the plan buys one server more than the fewest that meet the SLOs, and the plan's own runs show
// that the size one server smaller meets them (so it holds with any one server down).
TEST(Plan, NPlusOneBuysOneServerMoreThanTheSlosNeed) {
  TempDir dir;
  const ChildResult plan = run_aidc(
      plan_args(dir, {"--gpus", "H100-SXM", "--servers", "hgx-8", "--max-batch", "64", "--max-gpus", "32", "--n-plus-one", "--margin", "0",
                      "--set", "workload.users=600"}),
      dir.str());
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  const auto winner = read_json(dir / "plan/plan.json")["winner"];
  ASSERT_FALSE(winner.is_null()) << plan.out;
  EXPECT_TRUE(winner["n_plus_one"].get<bool>());
  const int servers = winner["servers"].get<int>();
  bool smaller_meets = false, smaller_still_misses = true;
  for (const auto& row : plan_rows(dir)) {
    if (row.at("tensor_parallel") != std::to_string(winner["tensor_parallel"].get<int>()) ||
        row.at("server_type") != winner["server_type"].get<std::string>() || row.at("precision") != winner["precision"].get<std::string>())
      continue;
    const int s = std::stoi(row.at("servers"));
    if (s == servers - 1) smaller_meets = smaller_meets || row.at("verdict") == "meets SLO";
    if (s == servers - 2 && row.at("verdict") == "meets SLO") smaller_still_misses = false;
  }
  EXPECT_TRUE(smaller_meets) << read_file(dir / "plan/plan.csv");
  EXPECT_TRUE(smaller_still_misses) << read_file(dir / "plan/plan.csv");
}

// A run in which no request finishes printed "TPOT p99 0.0 ms <= 50.0 ms ok". A bound without a
// sample is "no data", and the summary holds null, not 0.
TEST(RunReport, NoCompletedRequestsIsNoDataNeverAPass) {
  TempDir dir;
  const ChildResult run = run_aidc({"run", kClosedLoop, "--out", dir / "run", "--progress", "none", "--set", "duration_s=21",
                                    "--set", "warmup_s=20", "--set", "slo.tpot_s=0.05", "--set", "slo.e2e_s=600"},
                                   dir.str());
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  const auto slo = read_json(dir / "run/summary.json")["slo"];
  EXPECT_TRUE(slo["tpot_at_percentile_s"].is_null()) << slo.dump();
  EXPECT_FALSE(slo["met"].get<bool>());
  EXPECT_NE(run.out.find("TPOT p99 no data"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("TPOT p99 0.0 ms"), std::string::npos) << run.out;
}

// `--progress bar` printed nothing when stderr was not a terminal, even when asked for. Asked for, it
// shows on any stream, with the time left, and ends at 100%.
TEST(RunProgress, BarAskedForShowsOnAFileWithTheTimeLeft) {
  TempDir dir;
  const ChildResult run =
      run_aidc({"run", kClosedLoop, "--out", dir / "run", "--progress", "bar", "--quiet", "--set", "duration_s=40"}, dir.str());
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  EXPECT_NE(run.err.find("progress "), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(" s left"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("progress 100%"), std::string::npos) << run.err;
  // Not asked for (auto) and not a terminal: nothing.
  const ChildResult quiet = run_aidc({"run", kClosedLoop, "--out", dir / "quiet", "--quiet", "--set", "duration_s=40"}, dir.str());
  ASSERT_EQ(quiet.exit_code, 0) << describe(quiet);
  EXPECT_EQ(quiet.err.find("progress"), std::string::npos) << quiet.err;
}

// "GPUs busy 100%" headlined every run, even 2.7× over-provisioned ones. The headline is now the
// shares of peak compute and bandwidth used and how full the batches are: they stay within [0, 1],
// and an over-provisioned deployment shows in MFU and batch occupancy.
TEST(RunReport, UtilizationHeadlineIsMfuMbuAndBatchOccupancy) {
  TempDir dir;
  const std::vector<std::string> deployment = {"duration_s=60", "deployment.replicas=8", "datacenter.servers_per_rack=1"};
  auto light = deployment, heavy = deployment;
  light.push_back("workload.users=20");
  heavy.push_back("workload.users=600");
  run_scenario(kClosedLoop, dir / "light", light, dir.str());
  run_scenario(kClosedLoop, dir / "heavy", heavy, dir.str());
  const auto l = read_json(dir / "light/summary.json")["gpus"], h = read_json(dir / "heavy/summary.json")["gpus"];
  for (const auto& g : {l, h})
    for (const char* key : {"mfu", "mbu", "batch_occupancy_mean"}) {
      EXPECT_GE(g[key].get<double>(), 0) << key;
      EXPECT_LE(g[key].get<double>(), 1) << key;
    }
  // Decode reads every weight each step whatever the batch, so bandwidth use stays high at light load
  // (MBU ~0.5 in both); what the GPUs compute, and how full the batches are, tell the loads apart
  // where "busy" (0.71 against 1.00 here) does not.
  EXPECT_GT(h["mfu"].get<double>(), 10 * l["mfu"].get<double>()) << l.dump() << h.dump();
  EXPECT_GT(h["batch_occupancy_mean"].get<double>(), 10 * l["batch_occupancy_mean"].get<double>()) << l.dump() << h.dump();
  // 20 users over 8 replicas of 64 slots: at most 20 of 512 slots hold a sequence.
  EXPECT_LE(l["batch_occupancy_mean"].get<double>(), 20.0 / 512);
  const ChildResult report = run_aidc({"run", kClosedLoop, "--out", dir / "report", "--progress", "none", "--set", "duration_s=30"},
                                      dir.str());
  EXPECT_EQ(report.out.find("GPUs busy"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("(MFU)"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("(MBU)"), std::string::npos) << report.out;
}

// The default design IT load was the nameplate (10.2 kW per DGX H100-class server), so a liquid hall's
// plant was sized for load it never carries and its PUE read high unless design_it_kw was set by hand.
// It is now the planned peak: GPUs at their power limit, host parts flat out (servers.yaml hgx-8:
// 2 × 280 W CPUs, 74 W memory, 8 × 20 W NICs, 8 × 30 W NVMe, 600 W fans) through a 0.94 PSU, + one
// 250 W switch per rack.
TEST(RunReport, DesignItLoadDefaultsToThePlannedPeak) {
  TempDir dir;
  run_scenario(kClosedLoop, dir / "run",
               {"duration_s=30", "datacenter.gpu=H100-SXM", "datacenter.racks_per_row=2", "datacenter.servers_per_rack=2",
                "deployment.replicas=4", "facility.halls=[{cooling: {kind: direct_liquid}}]"},
               dir.str());
  const double server_w = (8 * 700.0 + 2 * 280 + 74 + 8 * 20 + 8 * 30 + 600) / 0.94;
  const double expected_kw = 2 * (2 * server_w + 250) / 1000;
  const auto power = read_json(dir / "run/summary.json")["power"];
  EXPECT_NEAR(power["design_it_kw"].get<double>(), expected_kw, 1e-6);
  EXPECT_LT(power["design_it_kw"].get<double>(), 4 * 10.2);  // below the nameplate it used to be
}
