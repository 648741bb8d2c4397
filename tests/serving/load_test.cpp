// `aidc load`: its request schedule against the simulator's for the same scenario and seed, its
// accounting and counters against a real `aidc-engine serve --backend cpu`, and `aidc haproxy-config`
// against HAProxy's own configuration check.
#include <cmath>
#include <filesystem>

#include "serving_processes.hpp"

namespace aidc_test {
namespace {

const std::string kExamples = AIDC_EXAMPLES;
const std::string kFailover = kServingScenarios + "/haproxy-failover.yaml";

ChildResult load(const std::vector<std::string>& args, const std::string& cwd) {
  std::vector<std::string> all = {"load"};
  all.insert(all.end(), args.begin(), args.end());
  all.insert(all.end(), {"--progress", "none", "--quiet"});
  return run_aidc(all, cwd);
}

// Every row has one of aidc run's statuses, and the counts add up to the rows.
void expect_accounted(const Csv& rows, const nlohmann::json& summary) {
  const auto& r = summary["requests"];
  EXPECT_EQ(r["arrived"].get<std::size_t>(), rows.rows.size());
  EXPECT_EQ(r["arrived"].get<long long>(),
            r["completed"].get<long long>() + r["failed"].get<long long>() + r["rejected"].get<long long>() + r["unfinished"].get<long long>());
  for (std::size_t i = 0; i < rows.rows.size(); ++i) {
    const std::string status = rows.at(i, "status");
    ASSERT_TRUE(status == "completed" || status == "failed" || status == "rejected" || status == "unfinished") << status;
    if (status != "completed") EXPECT_FALSE(rows.at(i, "error").empty()) << "row " << i << " says neither why nor HTTP status";
    if (status == "completed") EXPECT_EQ(rows.at(i, "http_status"), "200");
  }
}

// The schedule is drawn by the simulator's generators in its client's order: with the same scenario,
// `aidc load` sends exactly the requests `aidc run` simulates. Nothing listens on the URL, so every
// request fails at once and the run takes the scenario's duration.
TEST(AidcLoad, SendsTheSimulatorsScheduleForTheSameSeed) {
  TempDir dir;
  const std::string nobody = url(free_port());
  struct Case {
    std::string scenario;
    std::vector<std::string> sets;
  };
  const std::vector<Case> cases = {
      {kExamples + "/open-loop-gamma-bursty.yaml",
       {"duration_s=3", "warmup_s=0", "workload.prompt_tokens={distribution: lognormal, mean: 300, sigma: 1, max: 3000}"}},
      {kExamples + "/open-loop-steps.yaml", {"duration_s=3", "warmup_s=0"}},
      {kExamples + "/trace-replay.yaml", {"duration_s=4", "warmup_s=0"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.scenario);
    std::vector<std::string> sim_sets = c.sets, load_args = {c.scenario, "--url", nobody, "--model", "m", "--out", dir / "load"};
    for (const auto& s : c.sets) load_args.insert(load_args.end(), {"--set", s});
    run_scenario(c.scenario, dir / "sim", sim_sets, dir.str());
    const ChildResult r = load(load_args, dir.str());
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const Csv simulated = read_csv(dir / "sim/requests.csv"), measured = read_csv(dir / "load/requests.csv");
    ASSERT_GT(simulated.rows.size(), 3u);
    ASSERT_EQ(measured.rows.size(), simulated.rows.size());
    for (std::size_t i = 0; i < simulated.rows.size(); ++i)
      for (const char* column : {"arrival_s", "prompt_tokens", "output_tokens"})
        ASSERT_EQ(measured.at(i, column), simulated.at(i, column)) << "request " << i << " " << column;
    const auto summary = read_json(dir / "load/summary.json");
    EXPECT_EQ(summary["source"], "measured");
    EXPECT_EQ(summary["requests"]["failed"].get<std::size_t>(), measured.rows.size());
    expect_accounted(measured, summary);
    // aidc run's columns first, in its order; the measured ones after.
    const std::vector<std::string> run_header(measured.header.begin(), measured.header.begin() + static_cast<long>(simulated.header.size()));
    EXPECT_EQ(run_header, simulated.header);
  }
}

TEST(AidcHaproxyConfig, WritesTheSeedsDeploymentThatHaproxyAccepts) {
  if (!fs::exists("/usr/sbin/haproxy")) GTEST_SKIP() << "HAProxy is not installed (Debian package haproxy)";
  TempDir dir;
  for (const std::string scenario : {kFailover, kExamples + "/balancer-consistent-hash.yaml", kExamples + "/balancer-least-outstanding.yaml",
                                     kExamples + "/balancer-power-of-two.yaml"}) {
    SCOPED_TRACE(scenario);
    const ChildResult r = run_aidc({"haproxy-config", scenario, "--server", "127.0.0.1:8001", "--server", "127.0.0.1:8002", "--server",
                                    "127.0.0.1:8003", "--bind", "127.0.0.1:18080", "--out", dir / "haproxy.cfg"},
                                   dir.str());
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const ChildResult check = [&] {
      Service haproxy({"/usr/sbin/haproxy", "-c", "-f", dir / "haproxy.cfg"}, dir / "check.log");
      ChildResult c;
      c.exit_code = haproxy.wait_exit();
      c.err = read_file(dir / "check.log");
      return c;
    }();
    EXPECT_EQ(check.exit_code, 0) << read_file(dir / "haproxy.cfg") << check.err;
  }
  // The failover scenario: the seeds' round robin, HAProxy's check settings from the scenario, and the
  // failures' retries with redispatch.
  run_aidc({"haproxy-config", kFailover, "--server", "127.0.0.1:8001", "--server", "127.0.0.1:8002", "--out", dir / "haproxy.cfg"}, dir.str());
  const std::string config = read_file(dir / "haproxy.cfg");
  for (const char* line : {"balance roundrobin", "server node1 127.0.0.1:8001 check inter 2000 fall 3 rise 2",
                           "server node2 127.0.0.1:8002 check inter 2000 fall 3 rise 2", "option httpchk GET /health", "retries 1",
                           "option redispatch", "http-request use-service prometheus-exporter if { path /metrics }"})
    EXPECT_NE(config.find(line), std::string::npos) << line << " missing from\n" << config;
  // Bad input: exit 2, a clear message, no file.
  const ChildResult bad = run_aidc({"haproxy-config", kFailover, "--server", "127.0.0.1", "--out", dir / "bad.cfg"}, dir.str());
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
  EXPECT_NE(bad.err.find("--server"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir / "bad.cfg"));
}

class AidcLoadAgainstServer : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = free_port();
    engine_ = start_engine(port_, dir_ / "engine.log");
  }
  void TearDown() override { EXPECT_EQ(engine_->stop(), 0) << "SIGTERM should drain and exit 0\n" << read_file(engine_->log()); }

  ChildResult load_server(std::vector<std::string> args) {
    args.insert(args.end(), {"--url", url(port_), "--vocab", std::to_string(tiny_model_vocab()), "--out", dir_ / "load"});
    return load(args, dir_.str());
  }

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Service> engine_;
};

// Every request accounted for, and what the summary says was served is what the server counted.
TEST_F(AidcLoadAgainstServer, SummaryAgreesWithTheServersCounters) {
  const ChildResult r = load_server({kFailover, "--set", "duration_s=6", "--set", "facility=null", "--set",
                                     "workload.schedule={kind: constant, rate_per_s: 50}"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto summary = read_json(dir_ / "load/summary.json");
  const Csv rows = read_csv(dir_ / "load/requests.csv");
  expect_accounted(rows, summary);
  EXPECT_GT(rows.rows.size(), 200u);  // 50 requests/s for 6 s
  EXPECT_EQ(summary["requests"]["completed"].get<std::size_t>(), rows.rows.size()) << read_file(dir_ / "load/report.txt");
  const auto metrics = scrape(port_);
  EXPECT_EQ(metric_sum(metrics, "vllm:request_success_total"), summary["requests"]["completed"].get<double>());
  EXPECT_EQ(metric_sum(metrics, "vllm:prompt_tokens_total"), summary["load"]["prompt_tokens_completed"].get<double>());
  EXPECT_EQ(metric_sum(metrics, "vllm:generation_tokens_total"), summary["load"]["output_tokens_completed"].get<double>());
  // ignore_eos: every answer is exactly as long as asked, and the first token comes before the last.
  for (std::size_t i = 0; i < rows.rows.size(); ++i) {
    EXPECT_LE(rows.number(i, "arrival_s"), rows.number(i, "first_token_s"));
    EXPECT_LE(rows.number(i, "first_token_s"), rows.number(i, "finish_s"));
  }
  // The generator is not the bottleneck: at 50 requests/s, streaming, it sends on schedule (a typical
  // send within 5 ms of its arrival time) and never falls behind (no backlog builds up: every send within
  // 0.25 s, what an oversubscribed CI machine's scheduler may add to a wake-up).
  const auto& lag = summary["load"]["send_lag_s"];
  EXPECT_LT(lag["p50"].get<double>(), 0.005) << summary["load"].dump(2);
  EXPECT_LT(lag["max"].get<double>(), 0.25) << summary["load"].dump(2);
  // The same report code reads it.
  EXPECT_NE(read_file(dir_ / "load/report.txt").find("aidc load: haproxy-failover"), std::string::npos);
}

TEST_F(AidcLoadAgainstServer, ClosedLoopUsersAndTimeoutsAreAccountedFor) {
  // Long answers with a short timeout: requests are cut at their deadline and reported unfinished.
  ChildResult r = load_server({kFailover, "--set", "duration_s=3", "--set", "facility=null", "--set",
                               "workload={kind: closed_loop, users: 4, think_time_s: 0.1, prompt_tokens: {distribution: fixed, value: 32}, "
                               "output_tokens: {distribution: fixed, value: 1900}}",
                               "--timeout", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto summary = read_json(dir_ / "load/summary.json");
  Csv rows = read_csv(dir_ / "load/requests.csv");
  expect_accounted(rows, summary);
  EXPECT_GT(summary["load"]["timed_out"].get<long long>(), 0) << summary.dump(2);
  EXPECT_EQ(summary["load"]["timed_out"].get<long long>(), summary["requests"]["unfinished"].get<long long>());
  EXPECT_LT(summary["load"]["elapsed_s"].get<double>(), 3 + 0.5 + 1.0) << "the drain is bounded by --timeout";
  // The server keeps serving; a closed loop of short requests then completes everything.
  r = load_server({kFailover, "--set", "duration_s=3", "--set", "facility=null", "--set",
                   "workload={kind: closed_loop, users: 4, think_time_s: 0.1, prompt_tokens: {distribution: fixed, value: 32}, "
                   "output_tokens: {distribution: fixed, value: 8}}"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  summary = read_json(dir_ / "load/summary.json");
  rows = read_csv(dir_ / "load/requests.csv");
  expect_accounted(rows, summary);
  EXPECT_GT(rows.rows.size(), 8u);
  EXPECT_EQ(summary["requests"]["completed"].get<std::size_t>(), rows.rows.size()) << read_file(dir_ / "load/requests.csv");
}

}  // namespace
}  // namespace aidc_test
