// The twin's query layer on answers recorded from a real Prometheus 2.42 (tests/twin/data/README.md
// says how): parsing, the label mapping, NaN quantiles, missing series, refused queries, counter
// resets checked against what the load generator's clients received; the alert rules it generates
// checked by promtool; the SLO breach finder and the start state file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "aidc_child.hpp"
#include "twin/alert_rules.hpp"
#include "twin/counter_tracker.hpp"
#include "twin/forecast.hpp"
#include "twin/prometheus.hpp"
#include "twin/start_state_file.hpp"
#include "twin/telemetry.hpp"
#include "catalog/catalog.hpp"
#include "common/paths.hpp"
#include "scenario/loader.hpp"

namespace {

using namespace aidc::twin;
using aidc_test::read_file;

const std::string kData = AIDC_TWIN_DATA;

std::vector<Series> recorded(const std::string& name) { return parse_query_response(read_file(kData + "/" + name)); }

ClusterMap demo_map() {
  ClusterMap map;
  map.servers = {"127.0.0.1:18101", "127.0.0.1:18102", "127.0.0.1:18103"};
  return map;
}

TEST(TwinQuery, GaugesOfEachEngineMapToTheirReplica) {
  const auto series = recorded("running.json");
  ASSERT_EQ(series.size(), 3u);
  std::set<int> replicas;
  for (const auto& s : series) {
    EXPECT_EQ(s.label("__name__"), "vllm:num_requests_running");
    EXPECT_EQ(s.label("job"), "vllm");
    ASSERT_EQ(s.points.size(), 1u);
    EXPECT_GE(s.points[0].value, 0);
    EXPECT_GT(s.points[0].t, 1.7e9);
    replicas.insert(demo_map().replica_of_instance(s.label("instance")));
  }
  EXPECT_EQ(replicas, (std::set<int>{0, 1, 2}));
}

TEST(TwinQuery, HaproxyShowsTheKilledServerDown) {
  // Recorded 5 s after server 2 (127.0.0.1:18102, HAProxy's node2) was killed; inter 1 s, fall 2.
  const auto map = demo_map();
  std::map<int, double> up;
  for (const auto& s : recorded("haproxy_up_after_kill.json")) up[map.replica_of_haproxy_server(s.label("server"))] = s.points[0].value;
  EXPECT_EQ(up, (std::map<int, double>{{0, 1}, {1, 0}, {2, 1}}));
}

TEST(TwinQuery, ServerNamesOutsideTheDeploymentMapToNothing) {
  const auto map = demo_map();
  EXPECT_EQ(map.replica_of_haproxy_server("node0"), -1);
  EXPECT_EQ(map.replica_of_haproxy_server("node4"), -1);
  EXPECT_EQ(map.replica_of_haproxy_server("node"), -1);
  EXPECT_EQ(map.replica_of_haproxy_server("nodeX"), -1);
  EXPECT_EQ(map.replica_of_instance("127.0.0.1:9999"), -1);
  // A dcgm-exporter on another port of a host counts for the replica on that host only when it is alone there.
  ClusterMap spread;
  spread.servers = {"10.0.0.1:8000", "10.0.0.2:8000"};
  EXPECT_EQ(spread.replica_of_gpu_instance("10.0.0.2:9400"), 1);
  EXPECT_EQ(map.replica_of_gpu_instance("127.0.0.1:9400"), -1);
  EXPECT_EQ(map.replica_of_gpu_instance("127.0.0.1:18103"), 2);
}

TEST(TwinQuery, QuantilesOverAWindowWithoutRequestsAreNaN) {
  const auto busy = recorded("ttft_p99_by_instance.json");
  ASSERT_EQ(busy.size(), 3u);
  for (const auto& s : busy) {
    // vLLM's TTFT buckets: a p99 interpolated inside (0, 0.02] for a tiny model on a CPU.
    EXPECT_GT(s.points[0].value, 0);
    EXPECT_LT(s.points[0].value, 0.1);
  }
  const auto idle = recorded("ttft_p99_idle.json");
  ASSERT_EQ(idle.size(), 3u);
  for (const auto& s : idle) EXPECT_TRUE(std::isnan(s.points[0].value));
}

TEST(TwinQuery, MissingSeriesAreAnEmptyAnswerNotAnError) {
  EXPECT_TRUE(recorded("dcgm_power_missing.json").empty());
}

TEST(TwinQuery, ScalarsAreOneUnlabelledPoint) {
  const auto s = recorded("scalar_time.json");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].labels.empty());
  EXPECT_DOUBLE_EQ(s[0].points[0].t, s[0].points[0].value);
}

TEST(TwinQuery, ARefusedQuerySaysWhyInPrometheusWords) {
  try {
    recorded("bad_query.json");
    FAIL() << "expected a PrometheusError";
  } catch (const PrometheusError& e) {
    EXPECT_NE(std::string(e.what()).find("bad_data"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("parse error"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_query_response("<html>502 Bad Gateway</html>"), PrometheusError);
  EXPECT_THROW(parse_query_response(R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}})"),
               PrometheusError);
}

TEST(TwinQuery, AnUnreachablePrometheusIsAnErrorNotACrash) {
  PrometheusClient client("http://127.0.0.1:1", 0.5);  // nothing listens on port 1
  EXPECT_THROW(client.query("up"), PrometheusError);
  TelemetryReader reader(client, demo_map(), 30);
  const Telemetry t = reader.read(0);
  EXPECT_FALSE(t.reached);
  ASSERT_EQ(t.lacking.size(), 1u);
  EXPECT_NE(t.lacking[0].find("unreachable"), std::string::npos) << t.lacking[0];
  EXPECT_THROW(PrometheusClient("localhost:9090"), std::invalid_argument);
}

// The generation-token counters of the three engines over the whole demo run, one point a second,
// with server 2 killed and restarted (its counter resets to 0, and its series has a gap). What the
// clients received (aidc load's requests.csv, committed beside) is the independent total.
TEST(TwinQuery, CounterResetsCountLikeRateDoes) {
  const auto series = recorded("generation_tokens_range_whole_run.json");
  ASSERT_EQ(series.size(), 3u);
  CounterTracker tracker;
  double tracked = 0, naive = 0;
  for (const auto& s : series) {
    for (const auto& p : s.points) tracked += tracker.increase(s.label("instance"), p.value);
    naive += s.points.back().value - s.points.front().value;
  }
  EXPECT_EQ(tracker.resets_seen(), 1u);
  const auto load = aidc_test::read_csv(kData + "/load_requests.csv");
  double received = 0;
  for (std::size_t i = 0; i < load.rows.size(); ++i)
    if (load.at(i, "status") == "completed") received += load.number(i, "output_tokens");
  // The killed server's tokens since its last scrape never reach Prometheus: at most one scrape
  // interval (1 s) of the whole deployment at the scenario's peak, 6 req/s x 24 tokens at most.
  const double one_interval = 6 * 24;
  EXPECT_LE(tracked, received);
  EXPECT_GE(tracked, received - one_interval);
  EXPECT_LT(naive, received - one_interval) << "the restart must matter, or the test shows nothing";
}

TEST(TwinQuery, CounterTrackerFirstSightAndNaNAddNothing) {
  CounterTracker t;
  EXPECT_EQ(t.increase("a", 100), 0);
  EXPECT_EQ(t.increase("a", std::nan("")), 0);
  EXPECT_EQ(t.increase("a", 130), 30);
  EXPECT_EQ(t.increase("a", 5), 5);  // reset: counted from 0
  EXPECT_EQ(t.resets_seen(), 1u);
}

aidc::Scenario demo_scenario() {
  const auto catalog = aidc::Catalog::load(aidc::scenarios_dir());
  return aidc::load_scenario(std::string(AIDC_EXAMPLES) + "/twin-demo.yaml", {}, catalog);
}

TEST(TwinAlertRules, PromtoolAcceptsTheScenariosRules) {
  if (!std::filesystem::exists("/usr/bin/promtool")) GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  aidc_test::TempDir dir;
  const std::string yaml = alert_rules_yaml(demo_scenario(), "vllm");
  std::ofstream(dir / "rules.yml") << yaml;
  const std::string cmd = "/usr/bin/promtool check rules " + (dir / "rules.yml") + " > " + (dir / "out.txt") + " 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << read_file(dir / "out.txt") << yaml;
  EXPECT_NE(read_file(dir / "out.txt").find("SUCCESS: 3 rules found"), std::string::npos) << read_file(dir / "out.txt");
  // The seeds' rules, as the simulator evaluates them (sim/facility/alerts.hpp).
  EXPECT_NE(yaml.find("alert: GPUTemperatureHigh"), std::string::npos);
  EXPECT_NE(yaml.find("DCGM_FI_DEV_GPU_TEMP) > 85"), std::string::npos);
  EXPECT_NE(yaml.find("for: 300s"), std::string::npos);
  EXPECT_NE(yaml.find("> 0.5"), std::string::npos);
  EXPECT_NE(yaml.find("/ 100 > 0.9"), std::string::npos);
}

TEST(TwinForecast, TheSloBreaksAtTheEndOfTheFirstWindowWhoseP99IsOver) {
  aidc_test::TempDir dir;
  std::ofstream csv(dir / "requests.csv");
  csv << "id,arrival_s,first_token_s,finish_s,prompt_tokens,output_tokens,replica,status\n";
  // 10 s windows every 5 s. Until 20 s every TTFT is 0.1 s; from 20 s on it is 0.9 s (SLO 0.5 s).
  int id = 0;
  for (double a = 0; a < 40; a += 0.5) {
    const double ttft = a < 20 ? 0.1 : 0.9;
    csv << id++ << "," << a << "," << a + ttft << "," << a + ttft + 0.5 << ",10,11,0,completed\n";
  }
  csv << id++ << ",-3,-2,1,10,11,0,completed\n";  // held at the start: not judged
  csv.close();
  std::ofstream(dir / "cut.csv") << read_file(dir / "requests.csv") << id << ",39.8,,,10,11,0,unfinished\n";
  aidc::SloSpec slo;  // p99, TTFT 0.5 s, TPOT 0.1 s
  // The window [15, 25) is the first with a TTFT over 0.5 s at p99: it ends at 25 s.
  EXPECT_DOUBLE_EQ(first_slo_breach_s(dir / "requests.csv", slo, 10), 25);
  slo.ttft_s = 1.0;
  EXPECT_DOUBLE_EQ(first_slo_breach_s(dir / "requests.csv", slo, 10), -1);
  // A request the horizon cut off is not late; carried-forward overhead is: 0.9 s + 0.2 s > 1 s.
  EXPECT_DOUBLE_EQ(first_slo_breach_s(dir / "cut.csv", slo, 10), -1);
  EXPECT_DOUBLE_EQ(first_slo_breach_s(dir / "requests.csv", slo, 10, 0.2), 25);
}

TEST(TwinForecast, OverridesReplaceTheWorkloadAndAidcAcceptsThem) {
  const auto scenario = demo_scenario();
  ForecastStart start;
  start.rate_per_s = 4;
  start.rate_slope_per_s2 = -0.01;
  start.prompt_tokens = 40.4;
  start.output_tokens = 15.6;
  aidc_test::TempDir dir;
  for (const auto& v : {ForecastVariant{ForecastVariant::Rate::Trend, 1, -1}, ForecastVariant{ForecastVariant::Rate::Constant, 2, -1},
                        ForecastVariant{ForecastVariant::Rate::Schedule, 1, -1}}) {
    std::vector<std::string> args{"validate", scenario.source_file};
    for (const auto& o : forecast_overrides(scenario, v, start, 600)) args.insert(args.end(), {"--set", o});
    const auto r = aidc_test::run_aidc(args, dir.str());
    EXPECT_EQ(r.exit_code, 0) << v.name() << ": " << aidc_test::describe(r);
  }
  const auto trend = forecast_overrides(scenario, ForecastVariant{}, start, 600);
  // The trend: 4 req/s falling by 0.01 req/s each second, sampled at each step's middle (10 s of 20 s steps).
  EXPECT_NE(trend.back().find("{at_s: 0, rate_per_s: 3.9}"), std::string::npos) << trend.back();
  EXPECT_NE(trend.back().find("prompt_tokens: 40, output_tokens: 16"), std::string::npos) << trend.back();
}

TEST(TwinStartState, ARunStartsFromTheFileAndABadOneIsBadInput) {
  aidc_test::TempDir dir;
  aidc::StartState state;
  aidc::StartState::HeldBy held;
  held.replica = 2;
  held.held.request.prompt_tokens = 30;
  held.held.request.max_output_tokens = 10;
  held.held.computed_tokens = 33;
  held.held.generated_tokens = 4;
  held.arrival_s = -0.5;
  held.first_token_s = -0.4;
  state.requests.push_back(held);
  state.down.push_back({1, 20});
  write_start_state(dir / "start.json", state);
  const auto back = read_start_state(dir / "start.json");
  ASSERT_EQ(back.requests.size(), 1u);
  EXPECT_EQ(back.requests[0].held.computed_tokens, 33);
  EXPECT_DOUBLE_EQ(back.requests[0].first_token_s, -0.4);
  ASSERT_EQ(back.down.size(), 1u);
  EXPECT_DOUBLE_EQ(back.down[0].serving_again_s, 20);

  const std::string scenario = std::string(AIDC_EXAMPLES) + "/twin-demo.yaml";
  auto r = aidc_test::run_aidc({"run", scenario, "--start", dir / "start.json", "--set", "duration_s=30", "--out", dir / "run",
                                "--quiet", "--progress", "none"},
                               dir.str());
  ASSERT_EQ(r.exit_code, 0) << aidc_test::describe(r);
  // The held request finishes its 6 remaining tokens; no request goes to the down replica before 20 s.
  const auto requests = aidc_test::read_csv(dir / "run/requests.csv");
  bool held_done = false;
  for (std::size_t i = 0; i < requests.rows.size(); ++i) {
    if (requests.number(i, "arrival_s") < 0) held_done = requests.at(i, "status") == "completed" && requests.number(i, "replica") == 2;
    else if (requests.number(i, "arrival_s") < 19) EXPECT_NE(requests.number(i, "replica"), 1) << "request " << i;
  }
  EXPECT_TRUE(held_done);

  std::ofstream(dir / "bad.json") << R"({"requests": [{"replica": 7, "prompt_tokens": 3, "output_tokens": 2, "computed_tokens": 0, "generated_tokens": 0, "arrival_s": 0}]})";
  r = aidc_test::run_aidc({"run", scenario, "--start", dir / "bad.json", "--out", dir / "bad", "--quiet", "--progress", "none"}, dir.str());
  EXPECT_EQ(r.exit_code, 2) << aidc_test::describe(r);
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "bad/summary.json"));
  std::ofstream(dir / "typo.json") << R"({"requests": [{"replica": "0"}]})";
  r = aidc_test::run_aidc({"run", scenario, "--start", dir / "typo.json", "--out", dir / "typo", "--quiet", "--progress", "none"}, dir.str());
  EXPECT_EQ(r.exit_code, 2) << aidc_test::describe(r);
  EXPECT_NE(r.err.find("requests[0].replica"), std::string::npos) << r.err;
}

}  // namespace
