// `aidc twin` on the demo stack, all real and on loopback: three `aidc-engine serve --backend cpu`
// (tiny random-weight model), HAProxy in front (aidc haproxy-config), Prometheus 2.42 scraping all of
// them every second, and `aidc load` driving the scenario's workload through HAProxy. Each test starts
// and stops its own stack.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>

#include "aidc_child.hpp"
#include "serving_processes.hpp"

namespace {

using namespace aidc_test;

const std::string kScenario = std::string(AIDC_EXAMPLES) + "/twin-demo.yaml";
constexpr double kScrapeS = 1.0, kTickS = 1.0;
constexpr double kInterS = 1.0, kFall = 2;  // twin-demo.yaml's health check

class DemoStack {
 public:
  DemoStack() {
    for (int i = 0; i < 3; ++i) engine_ports_.push_back(free_port());
    haproxy_port_ = free_port();
    stats_port_ = free_port();
    prometheus_port_ = free_port();
    twin_port_ = free_port();
    std::vector<std::string> args{"haproxy-config", kScenario, "--bind", "127.0.0.1:" + std::to_string(haproxy_port_), "--stats-bind",
                                  "127.0.0.1:" + std::to_string(stats_port_), "--out", dir_ / "haproxy.cfg"};
    for (int p : engine_ports_) args.insert(args.end(), {"--server", "127.0.0.1:" + std::to_string(p)});
    const auto r = run_aidc(args, dir_.str());
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    for (int i = 0; i < 3; ++i) engines_.push_back(start_engine(engine_ports_[i], dir_ / ("engine" + std::to_string(i) + ".log")));
    haproxy_ = std::make_unique<Service>(std::vector<std::string>{"/usr/sbin/haproxy", "-f", dir_ / "haproxy.cfg", "-db"}, dir_ / "haproxy.log");
    std::ofstream config(dir_ / "prometheus.yml");
    config << "global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n"
           << "  - job_name: vllm\n    static_configs: [{targets: [" << target(engine_ports_[0]) << ", " << target(engine_ports_[1]) << ", "
           << target(engine_ports_[2]) << "]}]\n"
           << "  - job_name: haproxy\n    static_configs: [{targets: [" << target(stats_port_) << "]}]\n";
    config.close();
    start_prometheus();
    // Every target scraped once, so the twin's first tick sees the whole deployment.
    EXPECT_TRUE(wait_until(60, [&] { return targets_scraped() == 4; })) << read_file(dir_ / "prometheus.log");
  }
  ~DemoStack() {
    twin_.reset();
    load_.reset();
    prometheus_.reset();
    haproxy_.reset();
    engines_.clear();
  }

  void start_prometheus() {
    prometheus_ = std::make_unique<Service>(
        std::vector<std::string>{"/usr/bin/prometheus", "--config.file=" + (dir_ / "prometheus.yml"), "--storage.tsdb.path=" + (dir_ / "tsdb"),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port_)},
        dir_ / "prometheus.log");
    EXPECT_TRUE(wait_ok(prometheus_port_, "/-/ready", 30)) << read_file(dir_ / "prometheus.log");
  }
  void stop_prometheus() { prometheus_->stop(); }

  void start_twin(const std::vector<std::string>& extra) {
    std::vector<std::string> args{kAidc, "twin", "--prometheus", url(prometheus_port_), "--scenario", kScenario, "--out", dir_ / "twin",
                                  "--listen", "127.0.0.1:" + std::to_string(twin_port_), "--interval", "1", "--jobs", "1"};
    for (int p : engine_ports_) args.insert(args.end(), {"--server", "127.0.0.1:" + std::to_string(p)});
    args.insert(args.end(), extra.begin(), extra.end());
    twin_ = std::make_unique<Service>(args, dir_ / "twin.log");
    EXPECT_TRUE(wait_ok(twin_port_, "/metrics", 30)) << read_file(dir_ / "twin.log");
  }
  // `aidc load` through HAProxy with the scenario's workload and these overrides.
  void start_load(const std::vector<std::string>& sets) {
    std::vector<std::string> args{kAidc, "load", kScenario, "--url", url(haproxy_port_), "--out", dir_ / "load", "--progress", "none",
                                  "--quiet", "--timeout", "20", "--vocab", std::to_string(tiny_model_vocab())};
    for (const auto& s : sets) args.insert(args.end(), {"--set", s});
    load_ = std::make_unique<Service>(args, dir_ / "load.log");
  }
  int wait_load() { return load_->wait_exit(); }
  void kill_engine(int i) { engines_.at(i)->kill9(); }
  int stop_twin() { return twin_->stop(); }
  bool twin_running() { return twin_->pid() > 0 && kill(twin_->pid(), 0) == 0; }
  int twin_port() const { return twin_port_; }
  int engine_port(int i) const { return engine_ports_.at(i); }
  // HAProxy's own count of the requests its backend took (its Prometheus exporter, read directly).
  double haproxy_requests() { return metric_sum(scrape(stats_port_), "haproxy_backend_http_requests_total"); }
  Csv twin_csv() { return read_csv(dir_ / "twin/twin.csv"); }
  std::string path(const std::string& name) { return dir_ / name; }
  std::string twin_log() { return read_file(dir_ / "twin.log"); }

  static bool wait_until(double timeout_s, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

 private:
  static std::string target(int port) { return "'127.0.0.1:" + std::to_string(port) + "'"; }
  // Targets Prometheus has scraped at least once (a scrape may fail on a busy machine: the twin copes).
  int targets_scraped() {
    httplib::Client client("127.0.0.1", prometheus_port_);
    auto r = client.Get("/api/v1/query?query=up");
    if (!r || r->status != 200) return 0;
    return static_cast<int>(nlohmann::json::parse(r->body)["data"]["result"].size());
  }

  TempDir dir_;
  std::vector<int> engine_ports_;
  int haproxy_port_ = 0, stats_port_ = 0, prometheus_port_ = 0, twin_port_ = 0;
  std::vector<std::unique_ptr<Service>> engines_;
  std::unique_ptr<Service> haproxy_, prometheus_, twin_, load_;
};

std::vector<std::size_t> live_rows(const Csv& csv) {
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < csv.rows.size(); ++i)
    if (csv.at(i, "source") == "live") rows.push_back(i);
  return rows;
}

// One run of ~75 s: the rate steps from 2 to 6 req/s at 25 s; server 2 is killed at 45 s.
TEST(TwinEndToEnd, MirrorsAKilledServerAndForecastsTheRateStep) {
  DemoStack stack;
  stack.start_twin({"--window", "10", "--forecast-every", "5", "--horizon", "10", "--rate-multiplier", "2", "--backfill", "30"});
  const double load_start = unix_now();
  stack.start_load({"duration_s=60", "workload.schedule={kind: steps, steps: [{at_s: 0, rate_per_s: 2}, {at_s: 25, rate_per_s: 6}]}"});
  std::this_thread::sleep_for(std::chrono::duration<double>(load_start + 45 - unix_now()));
  const double killed_at = unix_now();
  stack.kill_engine(1);
  EXPECT_EQ(stack.wait_load(), 0) << read_file(stack.path("load.log"));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const double haproxy_total = stack.haproxy_requests();
  // The twin's own /metrics parses as Prometheus text.
  httplib::Client twin("127.0.0.1", stack.twin_port());
  const auto metrics = twin.Get("/metrics");
  ASSERT_TRUE(metrics && metrics->status == 200);
  EXPECT_NE(metrics->body.find("aidc_twin_forecast_ttft_p99_seconds{scenario=\"trend\"}"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("aidc_twin_replica_up{replica=\"1\"} 0"), std::string::npos) << metrics->body;
  std::ofstream(stack.path("twin-metrics.txt")) << metrics->body;
  const std::string promtool = "/usr/bin/promtool check metrics < " + stack.path("twin-metrics.txt") + " > " + stack.path("promtool.txt") + " 2>&1";
  EXPECT_EQ(std::system(promtool.c_str()), 0) << read_file(stack.path("promtool.txt"));
  // A what-if from the live state: twice the rate with replica 0 down too.
  const auto asked = twin.Post("/whatif?rate=2&down=0", "", "text/plain");
  ASSERT_TRUE(asked);
  EXPECT_EQ(asked->status, 202) << asked->body;
  EXPECT_EQ(twin.Post("/whatif?rate=-1", "", "text/plain")->status, 400);
  nlohmann::json what_if;
  EXPECT_TRUE(DemoStack::wait_until(30, [&] {
    auto r = twin.Get("/state");
    if (!r || r->status != 200) return false;
    what_if = nlohmann::json::parse(r->body)["what_if"];
    return what_if.contains("results");
  })) << stack.twin_log();
  ASSERT_TRUE(what_if.contains("results"));
  EXPECT_EQ(what_if["results"][0]["variant"], "down_r0");
  EXPECT_TRUE(what_if["results"][0]["ok"].get<bool>()) << what_if.dump();
  EXPECT_EQ(stack.stop_twin(), 0) << stack.twin_log();

  const Csv csv = stack.twin_csv();
  const auto live = live_rows(csv);
  ASSERT_GT(live.size(), 50u) << stack.twin_log();

  // At >= 1 Hz, and each row within 2 s of the scrape it shows.
  double worst_gap = 0, worst_lag = 0;
  for (std::size_t k = 1; k < live.size(); ++k) worst_gap = std::max(worst_gap, csv.number(live[k], "t_unix") - csv.number(live[k - 1], "t_unix"));
  for (std::size_t i : live) worst_lag = std::max(worst_lag, csv.number(i, "t_unix") - csv.number(i, "scrape_unix"));
  EXPECT_LT(worst_gap, 1.5);
  EXPECT_LT(worst_lag, 2.0);

  // The killed server shows as down within a scrape interval + HAProxy's inter x fall, + one tick.
  std::optional<double> seen_down;
  for (std::size_t i : live)
    if (csv.number(i, "t_unix") >= killed_at && csv.at(i, "r1_up") == "0") {
      seen_down = csv.number(i, "t_unix");
      break;
    }
  ASSERT_TRUE(seen_down) << "replica 1 never shown down";
  const double detection = *seen_down - killed_at;
  EXPECT_LE(detection, kScrapeS + kInterS * kFall + kTickS + 0.5);
  EXPECT_EQ(csv.at(live.back(), "r0_up"), "1");
  EXPECT_EQ(csv.at(live.back(), "r1_mirrored_running"), "0");

  // Every request HAProxy took was fed to the mirror: the twin's running total is HAProxy's own count.
  EXPECT_EQ(csv.number(live.back(), "measured_arrivals_total"), haproxy_total);

  // The forecast made after the step (its window all at 6 req/s) against the p99 TTFT then measured
  // over the next window (bound and reason: docs/twin.md, "What the tests hold it to").
  const double step_at = load_start + 25, window = 10;
  std::optional<std::size_t> forecast_row, measured_row;
  for (std::size_t i : live) {
    const double t = csv.number(i, "t_unix");
    if (!forecast_row && t >= step_at + window + 5 && !csv.at(i, "forecast_ttft_p99_s").empty()) forecast_row = i;
    if (forecast_row && !measured_row && t >= csv.number(*forecast_row, "t_unix") + window) measured_row = i;
  }
  ASSERT_TRUE(forecast_row && measured_row) << stack.twin_log();
  const double predicted = csv.number(*forecast_row, "forecast_ttft_p99_s"), measured = csv.number(*measured_row, "measured_ttft_p99_s");
  std::printf("Twin: %zu live rows, worst gap %.3f s, worst scrape-to-row lag %.3f s; killed server down after %.2f s; "
              "forecast p99 TTFT %.4f s vs measured %.4f s next window; step scale %s\n",
              live.size(), worst_gap, worst_lag, detection, predicted, measured, csv.at(live.back(), "step_scale").c_str());
  // The bound: a measured p99 is histogram_quantile's interpolation inside one of vLLM's TTFT buckets
  // (read from the engine's own /metrics), known to that bucket's width. The forecast carries the
  // measured - mirrored gap of its moment forward (one such measurement), and the forecast run adds
  // the scenario's frontend round trip (2 x 5 ms, users to site) that loopback and the mirror lack.
  std::vector<double> buckets;
  for (const auto& [key, value] : scrape(stack.engine_port(0)))
    if (key.rfind("vllm:time_to_first_token_seconds_bucket{", 0) == 0 && key.find("+Inf") == std::string::npos)
      buckets.push_back(std::stod(key.substr(key.find("le=\"") + 4)));
  std::sort(buckets.begin(), buckets.end());
  ASSERT_FALSE(buckets.empty());
  auto bucket_width = [&](double value) {
    const auto upper = std::lower_bound(buckets.begin(), buckets.end(), value);
    EXPECT_NE(upper, buckets.end()) << "p99 TTFT " << value << " s beyond the last bucket";
    return upper == buckets.end() ? 0.0 : *upper - (upper == buckets.begin() ? 0 : *(upper - 1));
  };
  const double bound = bucket_width(measured) + bucket_width(csv.number(*forecast_row, "measured_ttft_p99_s")) + 2 * 0.005;
  std::printf("Twin forecast bound: %.4f s\n", bound);
  EXPECT_LE(std::fabs(predicted - measured), bound);
}

// Prometheus stops for 30 s and starts again: the twin says so, keeps ticking, and catches up.
TEST(TwinEndToEnd, SurvivesAPrometheusOutage) {
  DemoStack stack;
  stack.start_twin({"--window", "10", "--forecast-every", "1000", "--horizon", "10"});
  stack.start_load({"duration_s=60", "workload.schedule={kind: constant, rate_per_s: 2}"});
  std::this_thread::sleep_for(std::chrono::seconds(12));
  const double stopped_at = unix_now();
  stack.stop_prometheus();
  std::this_thread::sleep_for(std::chrono::seconds(30));
  httplib::Client twin("127.0.0.1", stack.twin_port());
  const auto during = twin.Get("/state");
  ASSERT_TRUE(during && during->status == 200) << stack.twin_log();
  const auto state = nlohmann::json::parse(during->body);
  EXPECT_FALSE(state["prometheus_up"].get<bool>());
  EXPECT_NE(state["lacking"].dump().find("unreachable"), std::string::npos) << state.dump();
  const double restarted_at = unix_now();
  stack.start_prometheus();
  EXPECT_EQ(stack.wait_load(), 0);
  std::this_thread::sleep_for(std::chrono::seconds(5));
  const double haproxy_total = stack.haproxy_requests();
  EXPECT_TRUE(stack.twin_running()) << stack.twin_log();
  EXPECT_EQ(stack.stop_twin(), 0) << stack.twin_log();

  const Csv csv = stack.twin_csv();
  const auto live = live_rows(csv);
  double gap_rows = 0;
  bool answered_after = false;
  for (std::size_t i : live) {
    const double t = csv.number(i, "t_unix");
    if (csv.at(i, "prometheus_up") == "0") ++gap_rows;
    if (t > restarted_at + 2 && csv.at(i, "prometheus_up") == "1") answered_after = true;
  }
  // Ticks went on through the outage (one a second), each saying Prometheus was away.
  EXPECT_GE(gap_rows, 25) << stack.twin_log();
  EXPECT_TRUE(answered_after) << stack.twin_log();
  EXPECT_NE(stack.twin_log().find("Prometheus unreachable"), std::string::npos) << stack.twin_log();
  EXPECT_NE(stack.twin_log().find("Prometheus back"), std::string::npos) << stack.twin_log();
  // Caught up: HAProxy's counter kept counting while Prometheus was away, so every request the
  // clients sent reached the mirror once Prometheus answered again.
  const auto load = read_json(stack.path("load/summary.json"));
  EXPECT_EQ(csv.number(live.back(), "measured_arrivals_total"), haproxy_total);
  // HAProxy also counted aidc load's GET /v1/models (it asks which model to send).
  EXPECT_EQ(haproxy_total, load["requests"]["arrived"].get<double>() + 1);
  std::printf("Twin outage: Prometheus away %.1f s; %d rows said so; arrivals fed to the mirror %g (HAProxy %g, clients %g)\n",
              restarted_at - stopped_at, static_cast<int>(gap_rows), csv.number(live.back(), "measured_arrivals_total"), haproxy_total,
              load["requests"]["arrived"].get<double>());
}

}  // namespace
