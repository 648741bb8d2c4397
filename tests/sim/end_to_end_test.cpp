// End-to-end properties of `aidc run` (and `aidc batch`), each simulation in its own child process:
// Little's law on the outputs, every request accounted for, determinism, fast-forward equivalence.
// Fixtures: scenarios/tests/*.yaml.
#include <cmath>
#include <set>

#include "aidc_child.hpp"

namespace aidc_test {
namespace {

bool empty_cell(const Csv& csv, std::size_t row, const std::string& name) { return csv.at(row, name).empty(); }

// L = lambda W: the mean of the in_flight samples in timeseries.csv over [T1, T2] equals the arrival rate
// over that window times the mean time in system of the requests that arrived in it (computed from
// requests.csv). Each in_flight sample must also equal the number of requests of requests.csv that had
// arrived and not finished at that instant.
TEST(EndToEnd, LittlesLawOnTheOutputs) {
  TempDir dir;
  run_scenario(kFixtures + "/little.yaml", dir / "out", {}, dir.str());
  const Csv requests = read_csv(dir / "out/requests.csv");
  const Csv series = read_csv(dir / "out/timeseries.csv");
  const double t1 = 50, t2 = 350;  // the run lasts 400 s: requests arriving before 350 s have finished

  std::vector<double> arrival(requests.rows.size()), finish(requests.rows.size());
  double total_time = 0;
  int arrived = 0;
  for (std::size_t i = 0; i < requests.rows.size(); ++i) {
    arrival[i] = requests.number(i, "arrival_s");
    finish[i] = empty_cell(requests, i, "finish_s") ? INFINITY : requests.number(i, "finish_s");
    if (arrival[i] >= t1 && arrival[i] < t2) {
      ASSERT_EQ(requests.at(i, "status"), "completed") << "request " << i;
      ++arrived;
      total_time += finish[i] - arrival[i];
    }
  }
  ASSERT_GT(arrived, 4000);
  const double lambda = arrived / (t2 - t1);
  const double w = total_time / arrived;

  double l_sum = 0;
  int samples = 0, mismatches = 0;
  for (std::size_t b = 0; b < series.rows.size(); ++b) {
    const double t = series.number(b, "t_s");
    if (t <= t1 || t > t2) continue;
    const double in_flight = series.number(b, "in_flight");
    l_sum += in_flight;
    ++samples;
    int counted = 0;
    for (std::size_t i = 0; i < arrival.size(); ++i) counted += arrival[i] <= t && finish[i] > t;
    EXPECT_NEAR(in_flight, counted, 1.0) << "at t = " << t;  // 1: a time printed to the microsecond
    mismatches += in_flight != counted;
  }
  ASSERT_EQ(samples, 600);
  EXPECT_LE(mismatches, 3);
  const double l = l_sum / samples;
  std::printf("lambda %.3f/s, W %.4f s, lambda W %.3f, mean in_flight %.3f\n", lambda, w, lambda * w, l);
  EXPECT_GT(l, 5) << "the test needs a queue worth measuring";
  EXPECT_NEAR(l, lambda * w, 0.03 * lambda * w);
}

struct TraceRow {
  double arrival;
  int prompt, output;
};

std::vector<TraceRow> read_trace(const std::string& path) {
  std::vector<TraceRow> rows;
  std::ifstream in(path);
  std::string line;
  bool header = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (!header) {
      header = true;
      continue;
    }
    const auto cells = split(line, ',');
    rows.push_back({std::stod(cells[0]), std::stoi(cells[1]), std::stoi(cells[2])});
  }
  return rows;
}

// accounting.yaml replays accounting_trace.csv for 35 s through one overloaded replica. Independently of
// the simulator: the trace rows before 35 s arrive, in order, with their lengths; every one fits (the
// loader refuses traces with a request that never could), so none is rejected, and the overload leaves
// some in flight at the end.
TEST(EndToEnd, EveryRequestAccountedFor) {
  TempDir dir;
  run_scenario(kFixtures + "/accounting.yaml", dir / "out", {}, dir.str());
  const auto summary = read_json(dir / "out/summary.json");
  const auto& counts = summary["requests"];
  const long long arrived = counts["arrived"], completed = counts["completed"], failed = counts["failed"],
                  rejected = counts["rejected"], unfinished = counts["unfinished"];
  EXPECT_EQ(arrived, completed + failed + rejected + unfinished);

  const auto trace = read_trace(kFixtures + "/accounting_trace.csv");
  std::size_t expected_arrivals = 0;
  for (const auto& row : trace) expected_arrivals += row.arrival < 35;
  ASSERT_EQ(expected_arrivals, 1041u);  // counted in the fixture
  EXPECT_EQ(arrived, static_cast<long long>(expected_arrivals));
  EXPECT_EQ(rejected, 0);
  EXPECT_EQ(failed, 0);
  EXPECT_GT(unfinished, 0) << "the replica is overloaded: some requests are still in flight at 35 s";
  EXPECT_GT(completed, 100);

  const Csv csv = read_csv(dir / "out/requests.csv");
  ASSERT_EQ(csv.rows.size(), expected_arrivals);
  std::map<std::string, long long> by_status;
  for (std::size_t i = 0; i < csv.rows.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    EXPECT_EQ(csv.at(i, "id"), std::to_string(i));
    const std::string status = csv.at(i, "status");
    ++by_status[status];
    const double arrival = csv.number(i, "arrival_s");
    // The client sends each trace row at its time (to the microsecond printed), with its lengths.
    EXPECT_NEAR(arrival, trace[i].arrival, 1e-6);
    EXPECT_EQ(std::stoi(csv.at(i, "prompt_tokens")), trace[i].prompt);
    EXPECT_EQ(std::stoi(csv.at(i, "output_tokens")), trace[i].output);
    EXPECT_EQ(csv.at(i, "replica"), "0");
    if (status == "completed") {
      ASSERT_FALSE(empty_cell(csv, i, "first_token_s"));
      ASSERT_FALSE(empty_cell(csv, i, "finish_s"));
      const double first = csv.number(i, "first_token_s"), finish = csv.number(i, "finish_s");
      EXPECT_LE(arrival, first);
      EXPECT_LE(first, finish);
      EXPECT_LE(finish, 35.0);
    } else if (status == "rejected") {
      EXPECT_TRUE(empty_cell(csv, i, "first_token_s"));
      ASSERT_FALSE(empty_cell(csv, i, "finish_s"));
      EXPECT_LE(arrival, csv.number(i, "finish_s"));
    } else {
      EXPECT_EQ(status, "unfinished");
      EXPECT_TRUE(empty_cell(csv, i, "finish_s"));
      if (!empty_cell(csv, i, "first_token_s")) EXPECT_LE(arrival, csv.number(i, "first_token_s"));
    }
  }
  EXPECT_EQ(by_status["completed"], completed);
  EXPECT_EQ(by_status["rejected"], rejected);
  EXPECT_EQ(by_status["unfinished"], unfinished);
  EXPECT_EQ(by_status["failed"], failed);
  EXPECT_EQ(by_status["completed"] + by_status["rejected"] + by_status["unfinished"] + by_status["failed"],
            static_cast<long long>(csv.rows.size()))
      << "no status other than the four";

  // The timeseries counts the same arrivals.
  const Csv series = read_csv(dir / "out/timeseries.csv");
  double series_arrivals = 0;
  for (std::size_t b = 0; b < series.rows.size(); ++b) series_arrivals += series.number(b, "arrivals");
  EXPECT_EQ(series_arrivals, static_cast<double>(arrived));
}

nlohmann::json without_wall_time(nlohmann::json summary) {
  summary["sim"].erase("wall_s");
  return summary;
}

// Same scenario, same seed, twice: byte-identical CSVs; summary.json equal except sim.wall_s.
TEST(EndToEnd, SameSeedSameOutputs) {
  TempDir dir;
  run_scenario(kFixtures + "/closed_loop.yaml", dir / "a", {}, dir.str());
  run_scenario(kFixtures + "/closed_loop.yaml", dir / "b", {}, dir.str());
  for (const char* file : {"requests.csv", "timeseries.csv", "scenario.yaml"}) {
    const std::string a = read_file(dir / (std::string("a/") + file)), b = read_file(dir / (std::string("b/") + file));
    EXPECT_GT(a.size(), 100u) << file;
    EXPECT_TRUE(a == b) << file << " differs between two runs of the same seed";
  }
  const auto a = read_json(dir / "a/summary.json"), b = read_json(dir / "b/summary.json");
  EXPECT_GT(a["requests"]["completed"].get<long long>(), 1000);
  EXPECT_EQ(without_wall_time(a), without_wall_time(b));
  // And a different seed gives a different run (the seed is used).
  run_scenario(kFixtures + "/closed_loop.yaml", dir / "c", {"seed=6"}, dir.str());
  EXPECT_NE(read_file(dir / "a/requests.csv"), read_file(dir / "c/requests.csv"));
}

struct FastForwardPair {
  Csv off, on;
  nlohmann::json summary_off, summary_on;
  Csv series_off, series_on;
};

FastForwardPair run_both(const TempDir& dir) {
  FastForwardPair p;
  run_scenario(kFixtures + "/fast_forward.yaml", dir / "off", {"simulation.fast_forward=false"}, dir.str());
  run_scenario(kFixtures + "/fast_forward.yaml", dir / "on", {"simulation.fast_forward=true"}, dir.str());
  p.off = read_csv(dir / "off/requests.csv");
  p.on = read_csv(dir / "on/requests.csv");
  p.summary_off = read_json(dir / "off/summary.json");
  p.summary_on = read_json(dir / "on/summary.json");
  p.series_off = read_csv(dir / "off/timeseries.csv");
  p.series_on = read_csv(dir / "on/timeseries.csv");
  return p;
}

// Fast-forward only saves events: per request the same status, replica and token counts, and the same
// times (within 1e-6 s, plus the microsecond the CSV prints); far fewer events.
TEST(EndToEnd, FastForwardGivesTheSameRequestsWithFewerEvents) {
  TempDir dir;
  const FastForwardPair p = run_both(dir);
  EXPECT_FALSE(p.summary_off["sim"]["fast_forward"].get<bool>());
  EXPECT_TRUE(p.summary_on["sim"]["fast_forward"].get<bool>());
  ASSERT_EQ(p.off.rows.size(), p.on.rows.size());
  ASSERT_GT(p.off.rows.size(), 500u);
  for (std::size_t i = 0; i < p.off.rows.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    for (const char* column : {"id", "prompt_tokens", "output_tokens", "replica", "status"})
      EXPECT_EQ(p.off.at(i, column), p.on.at(i, column)) << column;
    for (const char* column : {"arrival_s", "first_token_s", "finish_s"}) {
      ASSERT_EQ(empty_cell(p.off, i, column), empty_cell(p.on, i, column)) << column;
      if (!empty_cell(p.off, i, column)) EXPECT_NEAR(p.off.number(i, column), p.on.number(i, column), 1e-6 + 1e-9) << column;
    }
  }
  // The scenario preempts (a small KV cache): equivalence covers recompute too.
  EXPECT_GT(p.summary_off["kv_cache"]["preemptions"].get<long long>(), 0);
  EXPECT_EQ(p.summary_off["kv_cache"]["preemptions"], p.summary_on["kv_cache"]["preemptions"]);
  EXPECT_EQ(p.summary_off["requests"], p.summary_on["requests"]);
  // The KV cache never held more blocks than it has, with or without fast-forward.
  for (const auto* summary : {&p.summary_off, &p.summary_on}) {
    const auto& kv = (*summary)["kv_cache"];
    EXPECT_LE(kv["max_blocks_used"].get<long long>(), kv["blocks_per_replica"].get<long long>());
    EXPECT_GT(kv["max_blocks_used"].get<long long>(), kv["blocks_per_replica"].get<long long>() * 9 / 10)
        << "the scenario is meant to fill the cache";
  }
  EXPECT_EQ(p.summary_off["kv_cache"]["max_blocks_used"], p.summary_on["kv_cache"]["max_blocks_used"]);
  EXPECT_EQ(p.summary_off["latency_s"], p.summary_on["latency_s"]);
  const double events_off = p.summary_off["sim"]["events"].get<double>(), events_on = p.summary_on["sim"]["events"].get<double>();
  std::printf("events: %.0f without fast-forward, %.0f with\n", events_off, events_on);
  EXPECT_LT(events_on, events_off / 5) << "fast-forward should skip most iteration events here";
}

// The per-interval outputs (GPU busy time, KV use, tokens per second) describe the same iterations with
// fast-forward on or off, including the last interval, and so does the summary's GPU utilization.
TEST(EndToEnd, FastForwardKeepsTheTimeseries) {
  TempDir dir;
  const FastForwardPair p = run_both(dir);
  ASSERT_EQ(p.series_off.rows.size(), p.series_on.rows.size());
  for (std::size_t b = 0; b < p.series_off.rows.size(); ++b)
    for (const auto& column : p.series_off.header) {
      const double off = p.series_off.number(b, column), on = p.series_on.number(b, column);
      EXPECT_NEAR(off, on, 1e-3 * std::max(1.0, std::abs(off)))
          << column << " at t = " << p.series_off.at(b, "t_s") << " (bin " << b << " of " << p.series_off.rows.size() << ")";
    }
  EXPECT_NEAR(p.summary_off["gpus"]["utilization_mean"].get<double>(), p.summary_on["gpus"]["utilization_mean"].get<double>(), 1e-6);
  EXPECT_NEAR(p.summary_off["kv_cache"]["utilization_mean"].get<double>(),
              p.summary_on["kv_cache"]["utilization_mean"].get<double>(), 1e-6);
}

// `aidc batch` with a sweep: one row per run in batch.csv; the run with 99 replicas (more GPUs than the
// 8 installed) fails as bad input without stopping the others.
TEST(EndToEnd, BatchSweepReportsFailingRunAndFinishesTheOthers) {
  TempDir dir;
  const ChildResult r = run_aidc({"batch", kFixtures + "/closed_loop.yaml", "--sweep", "deployment.replicas=1,99,2", "--set",
                                  "duration_s=40", "--out", dir / "batch", "-j", "2"},
                                 dir.str());
  EXPECT_EQ(r.exit_code, 2) << "a failed run makes the batch fail\n" << describe(r);
  const Csv csv = read_csv(dir / "batch/batch.csv");
  ASSERT_EQ(csv.rows.size(), 3u) << read_file(dir / "batch/batch.csv");
  const std::vector<std::string> overrides = {"deployment.replicas=1", "deployment.replicas=99", "deployment.replicas=2"};
  const std::vector<std::string> statuses = {"ok", "bad_input", "ok"};
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(overrides[i]);
    EXPECT_EQ(csv.at(i, "overrides"), overrides[i]);
    EXPECT_EQ(csv.at(i, "status"), statuses[i]);
    EXPECT_EQ(csv.at(i, "exit_code"), statuses[i] == "ok" ? "0" : "2");
    if (statuses[i] == "ok") {
      const std::string out = csv.at(i, "out_dir");
      ASSERT_FALSE(out.empty());
      const auto summary = read_json(out + "/summary.json");
      EXPECT_EQ(summary["gpus"]["count"].get<int>(), i == 0 ? 1 : 2);
      EXPECT_EQ(csv.at(i, "gpus.count"), i == 0 ? "1" : "2");
      EXPECT_EQ(csv.at(i, "sim.simulated_s"), summary["sim"]["simulated_s"].dump());
    } else {
      EXPECT_TRUE(csv.at(i, "out_dir").empty());
      EXPECT_NE(csv.at(i, "error").find("deployment.replicas"), std::string::npos) << csv.at(i, "error");
    }
  }
}

// A calibrated scenario runs on the engine's measured profile and says which one it used.
TEST(EndToEnd, CalibratedRunNamesItsProfile) {
  TempDir dir;
  run_scenario(std::string(AIDC_TEST_SCENARIOS_DIR) + "/examples/calibrated-h100.yaml", dir / "out",
               {"duration_s=20", "warmup_s=5", "workload.users=500"}, dir.str());
  const auto summary = read_json(dir / "out/summary.json");
  const std::string model = summary["performance_model"];
  EXPECT_EQ(model.rfind("calibrated: deepseek-llm-7b__h100-80gb-hbm3__bf16-tp1.yaml", 0), 0u) << model;
  EXPECT_GT(summary["requests"]["completed"].get<long long>(), 0);
  EXPECT_NE(read_file(dir / "out/report.txt").find("calibrated: deepseek-llm-7b__h100"), std::string::npos);
}

}  // namespace
}  // namespace aidc_test

namespace aidc_test {
namespace {

// scenario.yaml in the output folder is "the fully resolved tree, after extends: and --set"
// (docs/scenario.md): running it again reproduces the run.
TEST(EndToEnd, ResolvedScenarioReproducesTheRun) {
  TempDir dir;
  run_scenario(kFixtures + "/closed_loop.yaml", dir / "first", {"seed=8", "deployment.replicas=1", "duration_s=40"}, dir.str());
  run_scenario(dir / "first/scenario.yaml", dir / "again", {}, dir.str());
  EXPECT_TRUE(read_file(dir / "first/requests.csv") == read_file(dir / "again/requests.csv"));
  EXPECT_EQ(read_json(dir / "again/summary.json")["gpus"]["count"], 1);
}

// The same for a trace replay: the trace named (relative to accounting.yaml) in the scenario must still be
// found when the resolved scenario.yaml is run from the output folder.
TEST(EndToEnd, ResolvedTraceScenarioReproducesTheRun) {
  TempDir dir;
  run_scenario(kFixtures + "/accounting.yaml", dir / "first", {"duration_s=10"}, dir.str());
  const ChildResult again = run_scenario(dir / "first/scenario.yaml", dir / "again", {}, dir.str());
  EXPECT_TRUE(read_file(dir / "first/requests.csv") == read_file(dir / "again/requests.csv")) << describe(again);
}

}  // namespace
}  // namespace aidc_test
