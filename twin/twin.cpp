#include "twin/twin.hpp"

#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/atomic_file.hpp"
#include "common/exit_codes.hpp"
#include "common/input_error.hpp"
#include "common/paths.hpp"
#include "facility/alerts.hpp"
#include "perf/model_factory.hpp"
#include "platform/layout.hpp"
#include "scenario/loader.hpp"
#include "study/executors/local_processes.hpp"
#include "twin/alert_rules.hpp"
#include "twin/forecast.hpp"
#include "twin/mirror.hpp"
#include "twin/scaled_model.hpp"
#include "twin/telemetry.hpp"

namespace aidc::twin {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop = true; }

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

double sum_known(const std::vector<ReplicaTelemetry>& replicas, double ReplicaTelemetry::*field) {
  double sum = 0;
  bool any = false;
  for (const auto& r : replicas)
    if (!std::isnan(r.*field)) {
      sum += r.*field;
      any = true;
    }
  return any ? sum : kUnknown;
}

double ratio(double a, double b) { return b > 0 ? a / b : kUnknown; }

std::string cell(double v) {
  if (std::isnan(v)) return "";
  std::ostringstream text;
  text.precision(6);
  text << v;
  return text.str();
}

// Unix times to the millisecond.
std::string unix_cell(double t) {
  if (std::isnan(t)) return "";
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", t);
  return text;
}

// Prometheus text format value.
std::string prom(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return cell(v);
}

// The measured counters' increments over the sliding window.
class MeasuredWindow {
 public:
  explicit MeasuredWindow(double window_s) : window_s_(window_s) {}
  void add(double t, const Increments& inc, bool arrivals_known) {
    entries_.push_back({t, inc, arrivals_known});
    while (!entries_.empty() && entries_.front().t < t - window_s_) entries_.pop_front();
  }
  // Requests per second over the window (NaN without HAProxy's counter), and over its two halves.
  double rate(double now) const { return rate_between(now - window_s_, now); }
  double slope(double now) const {
    const double half = window_s_ / 2;
    return (rate_between(now - half, now) - rate_between(now - window_s_, now - half)) / half;
  }
  Increments total() const {
    Increments sum;
    for (const auto& e : entries_) {
      sum.arrivals += e.inc.arrivals;
      sum.first_tokens += e.inc.first_tokens;
      sum.completed += e.inc.completed;
      sum.prompt_tokens += e.inc.prompt_tokens;
      sum.generation_tokens += e.inc.generation_tokens;
      sum.preemptions += e.inc.preemptions;
      sum.ttft_sum_s += e.inc.ttft_sum_s;
      sum.itl_sum_s += e.inc.itl_sum_s;
      sum.itl_count += e.inc.itl_count;
    }
    return sum;
  }

 private:
  double rate_between(double from, double to) const {
    double arrivals = 0;
    bool known = false;
    for (const auto& e : entries_)
      if (e.t > from && e.t <= to && e.arrivals_known) {
        arrivals += e.inc.arrivals;
        known = true;
      }
    return known && to > from ? arrivals / (to - from) : kUnknown;
  }
  struct Entry {
    double t;
    Increments inc;
    bool arrivals_known;
  };
  double window_s_;
  std::deque<Entry> entries_;
};

nlohmann::json forecast_json(const std::vector<ForecastResult>& results) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : results)
    out.push_back({{"variant", r.variant}, {"ok", r.ok}, {"error", r.error}, {"ttft_p99_s", r.ttft_p99_s},
                   {"tpot_p99_s", r.tpot_p99_s}, {"slo_breach_s", r.slo_breach_s}, {"replicas_to_add", r.replicas_to_add},
                   {"peak_rate_per_s", r.peak_rate_per_s}, {"facility_kw", r.facility_kw}, {"pue", r.pue}});
  return out;
}

// Runs forecasts on a thread of its own, one batch at a time: the periodic ones and what-ifs asked over HTTP.
class ForecastWorker {
 public:
  ForecastWorker(Forecaster& forecaster, std::string dir) : forecaster_(forecaster), dir_(std::move(dir)), thread_([this] { loop(); }) {}
  ~ForecastWorker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  bool busy() {
    std::lock_guard lock(mutex_);
    return !jobs_.empty() || running_;
  }
  // `what_if`: results go to what_if() instead of latest().
  void submit(const ForecastStart& start, std::vector<ForecastVariant> variants, bool what_if) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back({start, std::move(variants), what_if});
    }
    changed_.notify_all();
  }
  std::vector<ForecastResult> latest() {
    std::lock_guard lock(mutex_);
    return latest_;
  }
  nlohmann::json what_if() {
    std::lock_guard lock(mutex_);
    return what_if_;
  }
  int batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }

 private:
  struct Job {
    ForecastStart start;
    std::vector<ForecastVariant> variants;
    bool what_if;
  };
  void loop() {
    std::unique_lock lock(mutex_);
    while (true) {
      changed_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      running_ = true;
      const int n = ++batches_;
      lock.unlock();
      const auto t0 = std::chrono::steady_clock::now();
      const auto results = forecaster_.run(job.start, job.variants, dir_ + "/" + (job.what_if ? "whatif-" : "") + std::to_string(n));
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      lock.lock();
      running_ = false;
      if (job.what_if)
        what_if_ = {{"id", n}, {"at_unix", unix_now()}, {"wall_s", wall}, {"results", forecast_json(results)}};
      else
        latest_ = results;
    }
  }
  Forecaster& forecaster_;
  std::string dir_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> jobs_;
  bool stopping_ = false, running_ = false;
  int batches_ = 0;
  std::vector<ForecastResult> latest_;
  nlohmann::json what_if_ = nlohmann::json::object();
  std::thread thread_;  // last: starts once the rest exists
};

std::pair<std::string, int> host_port(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw_input_error({"aidc twin", 0, 0}, "--listen", "expected host:port, got '" + listen + "'");
  return {listen.substr(0, colon), std::stoi(listen.substr(colon + 1))};
}

}  // namespace

int run_twin(const TwinOptions& o) {
  const Catalog catalog = Catalog::load(scenarios_dir());
  const Scenario scenario = load_scenario(o.scenario_file, o.overrides, catalog);
  require_one_pool(scenario, "aidc twin",
                   "it mirrors each serving engine as a replica that prefills and decodes its requests (one --server each) "
                   "and forecasts from their state; a request split across a prefill and a decode engine is not mirrored. "
                   "Run the pools with `aidc run`, or remove deployment.prefill and deployment.decode");
  if (o.servers.size() != static_cast<std::size_t>(scenario.deployment.replicas))
    throw_input_error({"aidc twin", 0, 0}, "--server",
                      "give one --server host:port per replica: the scenario has " + std::to_string(scenario.deployment.replicas) +
                          ", got " + std::to_string(o.servers.size()));
  if (o.interval_s <= 0 || o.window_s < 2 * o.interval_s)
    throw_input_error({"aidc twin", 0, 0}, "--window", "the window must hold at least two ticks");
  const std::string out = o.out_dir.empty() ? default_run_dir(scenario.name + "-twin") : o.out_dir;
  std::filesystem::create_directories(out + "/forecasts");
  write_file_atomically(out + "/alerts.rules.yml", alert_rules_yaml(scenario, o.engine_job));

  const auto base = make_performance_model(scenario, catalog);
  ScaledPerformanceModel performance(*base, 1.0);
  Mirror mirror(scenario, catalog, performance);
  PrometheusClient prometheus(o.prometheus_url, std::min(2.0, std::max(0.5, o.interval_s)));
  ClusterMap map;
  map.servers = o.servers;
  map.engine_job = o.engine_job;
  map.haproxy_job = o.haproxy_job;
  map.backend = o.backend;
  TelemetryReader reader(prometheus, map, o.window_s);
  const Queries queries(map, o.window_s);
  study::LocalProcesses executor(o.jobs);
  Forecaster forecaster(scenario, *base, executor, o.horizon_s, o.window_s);
  ForecastWorker worker(forecaster, out + "/forecasts");
  MeasuredWindow measured(o.window_s);

  const double t0 = unix_now();
  const double schedule_origin = o.schedule_origin_unix > 0 ? o.schedule_origin_unix : t0;
  const int n = scenario.deployment.replicas;

  std::ofstream csv(out + "/twin.csv");
  csv << "t_unix,t_s,source,scrape_unix,prometheus_up,measured_rate_per_s,measured_prompt_tokens,measured_output_tokens,"
         "measured_running,measured_waiting,measured_kv_usage,measured_ttft_p99_s,measured_tpot_p99_s,measured_e2e_p99_s,"
         "measured_ttft_mean_s,measured_itl_mean_s,measured_arrivals_total,replicas_up,mirrored_running,mirrored_waiting,mirrored_kv_usage,"
         "mirrored_ttft_p99_s,mirrored_tpot_p99_s,mirrored_ttft_mean_s,mirrored_itl_mean_s,mirrored_failed,drift,step_scale,"
         "forecast_ttft_p99_s,forecast_tpot_p99_s,forecast_slo_breach_s,forecast_replicas_to_add,forecast_facility_kw,forecast_pue";
  for (int r = 0; r < n; ++r) csv << ",r" << r << "_up,r" << r << "_mirrored_running";
  csv << ",lacking\n";
  csv.flush();
  std::ofstream recalibrations(out + "/recalibrations.csv");
  recalibrations << "t_unix,t_s,measured_itl_mean_s,mirrored_itl_mean_s,drift,old_scale,new_scale\n";
  recalibrations.flush();

  // Measured history from before the twin started (or from a gap Prometheus could not answer):
  // range queries over Prometheus's own window functions, written as rows of their own.
  auto backfill = [&](double from, double to, const char* source) {
    if (to - from < o.interval_s) return;
    std::map<double, std::array<double, 4>> rows;
    const std::string rate = "sum(rate(haproxy_backend_http_requests_total{job=\"" + o.haproxy_job + "\",proxy=\"" + o.backend +
                             "\"}[" + std::to_string(static_cast<long>(o.window_s)) + "s]))";
    const std::array<std::string, 4> exprs{rate, queries.ttft_p99, queries.tpot_p99, queries.e2e_p99};
    try {
      for (std::size_t k = 0; k < exprs.size(); ++k)
        for (const auto& s : prometheus.query_range(exprs[k], from, to, o.interval_s))
          for (const auto& p : s.points) {
            auto [it, added] = rows.try_emplace(p.t, std::array<double, 4>{kUnknown, kUnknown, kUnknown, kUnknown});
            it->second[k] = p.value;
          }
    } catch (const PrometheusError& e) {
      if (!o.quiet) std::fprintf(stderr, "aidc twin: back-fill (%s) skipped: %s\n", source, e.what());
      return;
    }
    for (const auto& [t, v] : rows) {
      csv << unix_cell(t) << "," << cell(t - t0) << "," << source << ",,1," << cell(v[0]) << ",,,,,," << cell(v[1]) << "," << cell(v[2])
          << "," << cell(v[3]);
      csv << std::string(20, ',');  // the mirror and forecast columns: not mirrored then
      for (int r = 0; r < n; ++r) csv << ",,";
      csv << ",\n";
    }
    csv.flush();
  };
  backfill(t0 - o.backfill_s, t0, "backfill");

  std::mutex published_mutex;
  std::string exposition = "# aidc twin: no tick yet\n";
  nlohmann::json state = nlohmann::json::object();
  ForecastStart live_start;  // the latest tick's, for what-ifs (under published_mutex)
  bool live_start_ready = false;
  ForecastStart start;       // the tick loop's own copy

  httplib::Server server;
  std::thread server_thread;
  if (!o.listen.empty()) {
    server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(published_mutex);
      res.set_content(exposition, "text/plain; version=0.0.4");
    });
    server.Get("/state", [&](const httplib::Request&, httplib::Response& res) {
      nlohmann::json body;
      {
        std::lock_guard lock(published_mutex);
        body = state;
      }
      body["what_if"] = worker.what_if();
      res.set_content(body.dump(), "application/json");
    });
    server.Post("/whatif", [&](const httplib::Request& req, httplib::Response& res) {
      ForecastVariant v;
      v.rate = ForecastVariant::Rate::Constant;
      try {
        if (req.has_param("rate")) v.multiplier = std::stod(req.get_param_value("rate"));
        if (req.has_param("down")) v.down_replica = std::stoi(req.get_param_value("down"));
      } catch (const std::exception&) {
        v.multiplier = -1;
      }
      if (!(v.multiplier > 0) || v.down_replica >= n || v.down_replica < -1) {
        res.status = 400;
        res.set_content(nlohmann::json{{"error", "expected rate=K (K > 0) and optionally down=R (0 <= R < " + std::to_string(n) + ")"}}.dump(),
                        "application/json");
        return;
      }
      std::lock_guard lock(published_mutex);
      if (!live_start_ready) {
        res.status = 503;
        res.set_content(R"({"error": "no live state yet"})", "application/json");
        return;
      }
      worker.submit(live_start, {v}, /*what_if=*/true);
      res.status = 202;
      res.set_content(nlohmann::json{{"queued", v.name()}}.dump(), "application/json");
    });
    const auto [host, port] = host_port(o.listen);
    if (!server.bind_to_port(host, port))
      throw_input_error({"aidc twin", 0, 0}, "--listen", "cannot listen on " + o.listen);
    server_thread = std::thread([&] { server.listen_after_bind(); });
  }

  struct sigaction action{};
  action.sa_handler = on_stop_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  double mirror_t = 0;           // the mirror's clock: the last tick Prometheus answered
  double gap_since = -1;         // Unix time Prometheus stopped answering, -1 while it answers
  double last_forecast = -1e18;  // twin clock of the last periodic forecast
  int drift_run = 0;
  double hold_drift_until = o.window_s;  // a full window of mirrored requests before judging
  int recalibration_count = 0;
  double arrivals_total = 0;     // measured arrivals since the twin started (HAProxy's counter)
  // The measured series the scenario's alert rules watch, evaluated as the simulator does (sim/facility/alerts).
  const auto alerts = scenario_alerts(scenario);
  std::map<std::string, std::deque<facility::TimedValue>> watched;
  const auto placements = place_replicas(scenario.datacenter, *catalog.server(scenario.datacenter.server_type), scenario.deployment);
  if (!o.quiet)
    std::fprintf(stderr, "aidc twin: %s, %d replicas, every %.3g s; outputs in %s/\n", o.prometheus_url.c_str(), n, o.interval_s,
                 out.c_str());

  for (long tick = 0; !g_stop; ++tick) {
    const double due = t0 + tick * o.interval_s;
    while (!g_stop && unix_now() < due) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (g_stop || (o.duration_s > 0 && due - t0 > o.duration_s)) break;
    const double now_unix = unix_now();
    const double now = now_unix - t0;
    Telemetry t = reader.read(now_unix);

    if (!t.reached) {
      if (gap_since < 0) {
        gap_since = now_unix;
        if (!o.quiet) std::fprintf(stderr, "aidc twin: Prometheus unreachable at t=%.1f s; the mirror waits\n", now);
      }
    } else {
      if (gap_since >= 0) {
        if (!o.quiet) std::fprintf(stderr, "aidc twin: Prometheus back at t=%.1f s after a %.1f s gap\n", now, now_unix - gap_since);
        backfill(gap_since, now_unix - o.interval_s, "catchup");
        gap_since = -1;
      }
      measured.add(now, t.increments, t.arrivals_known);
      arrivals_total += t.increments.arrivals;
      const Increments window = measured.total();
      const double prompt = ratio(window.prompt_tokens, window.first_tokens), output = ratio(window.generation_tokens, window.completed);
      // The mirror follows: HAProxy's view of each replica, then this tick's arrivals spread over
      // the time since the last answer (all of a gap's at once when Prometheus comes back).
      for (int r = 0; r < n; ++r) mirror.set_up(r, t.replicas[r].serving(), mirror_t);
      if (t.increments.arrivals > 0 && !std::isnan(prompt) && !std::isnan(output))
        mirror.arrive(mirror_t, now, static_cast<int>(std::lround(t.increments.arrivals)), static_cast<int>(std::lround(prompt)),
                      static_cast<int>(std::lround(output)));
      mirror.advance_to(now);
      mirror_t = now;

      start.rate_per_s = std::isnan(measured.rate(now)) ? 0 : measured.rate(now);
      start.rate_slope_per_s2 = std::isnan(measured.slope(now)) ? 0 : measured.slope(now);
      start.schedule_time_s = now_unix - schedule_origin;
      start.prompt_tokens = std::isnan(prompt) ? scenario.workload.prompt_tokens.mean : prompt;
      start.output_tokens = std::isnan(output) ? scenario.workload.output_tokens.mean : output;
    }

    const MirrorFigures m = mirror.figures(mirror_t, o.window_s);
    const Increments window = measured.total();
    const double itl_measured = ratio(window.itl_sum_s, window.itl_count);
    const double drift = t.reached ? itl_measured / m.itl_mean_s - 1 : kUnknown;
    if (t.reached && !std::isnan(drift) && std::fabs(drift) > o.drift_threshold && now >= hold_drift_until)
      ++drift_run;
    else
      drift_run = 0;
    if (o.recalibrate && drift_run >= o.drift_ticks) {
      const double old_scale = performance.scale();
      performance.set_scale(old_scale * (1 + drift));
      ++recalibration_count;
      recalibrations << unix_cell(now_unix) << "," << cell(now) << "," << cell(itl_measured) << "," << cell(m.itl_mean_s) << ","
                     << cell(drift) << "," << cell(old_scale) << "," << cell(performance.scale()) << "\n";
      recalibrations.flush();
      if (!o.quiet)
        std::fprintf(stderr, "aidc twin: drift %+.0f%% for %d ticks: step times x%.4g -> x%.4g\n", 100 * drift, drift_run, old_scale,
                     performance.scale());
      drift_run = 0;
      hold_drift_until = now + o.window_s;
    }

    start.step_scale = performance.scale();
    if (!std::isnan(t.ttft_p99_s) && !std::isnan(m.ttft_p99_s)) start.ttft_residual_s = t.ttft_p99_s - m.ttft_p99_s;
    start.state = mirror.snapshot(mirror_t, o.horizon_s + 1);
    {
      std::lock_guard lock(published_mutex);
      live_start = start;
      live_start_ready = live_start_ready || t.reached;
    }
    // Periodic forecasts once a whole window has been measured (the rate and its trend need one).
    if (t.reached && now >= o.window_s && now - last_forecast >= o.forecast_every_s && !worker.busy()) {
      std::vector<ForecastVariant> variants{{ForecastVariant::Rate::Trend, 1, -1}};
      for (double k : o.rate_multipliers) variants.push_back({ForecastVariant::Rate::Constant, k, -1});
      if (o.forecast_server_down) {
        int busiest = -1;
        for (int r = 0; r < n; ++r)
          if (m.replicas[r].up && (busiest < 0 || m.replicas[r].running + m.replicas[r].waiting >
                                                      m.replicas[busiest].running + m.replicas[busiest].waiting))
            busiest = r;
        if (busiest >= 0) variants.push_back({ForecastVariant::Rate::Constant, 1, busiest});
      }
      if (scenario.workload.kind == WorkloadSpec::Kind::OpenLoop) variants.push_back({ForecastVariant::Rate::Schedule, 1, -1});
      worker.submit(start, variants, false);
      last_forecast = now;
    }
    const auto forecasts = worker.latest();
    const ForecastResult* trend = forecasts.empty() || !forecasts.front().ok ? nullptr : &forecasts.front();

    int up = 0;
    for (const auto& r : t.replicas) up += r.serving() ? 1 : 0;
    double mirrored_running = 0, mirrored_waiting = 0, mirrored_kv = 0;
    for (const auto& r : m.replicas) {
      mirrored_running += r.running;
      mirrored_waiting += r.waiting;
      mirrored_kv += r.kv_usage / n;
    }
    const double measured_kv = sum_known(t.replicas, &ReplicaTelemetry::kv_usage) / n;
    std::string lacking;
    for (const auto& l : t.lacking) lacking += (lacking.empty() ? "" : "; ") + l;
    std::replace(lacking.begin(), lacking.end(), ',', ' ');
    std::replace(lacking.begin(), lacking.end(), '"', '\'');

    const double rate_now = measured.rate(now);
    csv << unix_cell(now_unix) << "," << cell(now) << ",live," << unix_cell(t.newest_scrape_unix) << "," << (t.reached ? 1 : 0) << ","
        << cell(t.reached ? rate_now : kUnknown) << "," << cell(t.reached ? start.prompt_tokens : kUnknown) << ","
        << cell(t.reached ? start.output_tokens : kUnknown) << "," << cell(sum_known(t.replicas, &ReplicaTelemetry::running))
        << "," << cell(sum_known(t.replicas, &ReplicaTelemetry::waiting)) << "," << cell(measured_kv) << "," << cell(t.ttft_p99_s)
        << "," << cell(t.tpot_p99_s) << "," << cell(t.e2e_p99_s) << "," << cell(t.reached ? ratio(window.ttft_sum_s, window.first_tokens) : kUnknown)
        << "," << cell(t.reached ? itl_measured : kUnknown) << "," << cell(arrivals_total) << ","
        << (t.reached ? std::to_string(up) : "") << ","
        << cell(mirrored_running) << "," << cell(mirrored_waiting) << "," << cell(mirrored_kv) << "," << cell(m.ttft_p99_s) << ","
        << cell(m.tpot_p99_s) << "," << cell(m.ttft_mean_s) << "," << cell(m.itl_mean_s) << "," << m.failed << "," << cell(drift)
        << "," << cell(performance.scale()) << "," << (trend ? cell(trend->ttft_p99_s) : "") << ","
        << (trend ? cell(trend->tpot_p99_s) : "") << "," << (trend ? cell(trend->slo_breach_s) : "") << ","
        << (trend ? std::to_string(trend->replicas_to_add) : "") << "," << (trend ? cell(trend->facility_kw) : "") << ","
        << (trend ? cell(trend->pue) : "");
    for (int r = 0; r < n; ++r) csv << "," << (t.reached ? std::to_string(t.replicas[r].serving() ? 1 : 0) : "") << "," << m.replicas[r].running;
    csv << ",\"" << lacking << "\"\n";
    csv.flush();

    // /metrics and /state.
    std::ostringstream x;
    auto gauge = [&](const std::string& name, const std::string& help, const std::vector<std::pair<std::string, double>>& samples) {
      x << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n";
      for (const auto& [labels, v] : samples) x << name << labels << " " << prom(v) << "\n";
    };
    gauge("aidc_twin_prometheus_up", "1 when the last query of Prometheus was answered.", {{"", t.reached ? 1 : 0}});
    gauge("aidc_twin_scrape_age_seconds", "Age of the newest scrape the twin read.",
          {{"", t.reached ? now_unix - t.newest_scrape_unix : kUnknown}});
    gauge("aidc_twin_arrival_rate", "Measured arrivals per second over the window.", {{"", rate_now}});
    gauge("aidc_twin_ttft_p99_seconds", "p99 time to first token over the window.",
          {{"{source=\"measured\"}", t.ttft_p99_s}, {"{source=\"mirrored\"}", m.ttft_p99_s}});
    gauge("aidc_twin_itl_mean_seconds", "Mean inter-token latency over the window.",
          {{"{source=\"measured\"}", itl_measured}, {"{source=\"mirrored\"}", m.itl_mean_s}});
    gauge("aidc_twin_drift_ratio", "Measured / mirrored mean inter-token latency - 1.", {{"", drift}});
    gauge("aidc_twin_step_scale", "Factor on the performance model's step times (recalibration).", {{"", performance.scale()}});
    gauge("aidc_twin_recalibrations", "Recalibrations since the twin started.", {{"", static_cast<double>(recalibration_count)}});
    std::vector<std::pair<std::string, double>> ups;
    for (int r = 0; r < n; ++r) ups.push_back({"{replica=\"" + std::to_string(r) + "\"}", t.reached ? (t.replicas[r].serving() ? 1 : 0) : kUnknown});
    gauge("aidc_twin_replica_up", "HAProxy's view of each replica (the mirror follows it).", ups);
    std::vector<std::pair<std::string, double>> f_ttft, f_tpot, f_breach, f_add, f_kw, f_pue;
    for (const auto& f : forecasts) {
      if (!f.ok) continue;
      const std::string l = "{scenario=\"" + f.variant + "\"}";
      f_ttft.push_back({l, f.ttft_p99_s});
      f_tpot.push_back({l, f.tpot_p99_s});
      f_breach.push_back({l, f.slo_breach_s < 0 ? std::numeric_limits<double>::infinity() : f.slo_breach_s});
      f_add.push_back({l, static_cast<double>(f.replicas_to_add)});
      f_kw.push_back({l, f.facility_kw});
      f_pue.push_back({l, f.pue});
    }
    gauge("aidc_twin_forecast_ttft_p99_seconds", "Forecast p99 TTFT over the horizon.", f_ttft);
    gauge("aidc_twin_forecast_tpot_p99_seconds", "Forecast p99 TPOT over the horizon.", f_tpot);
    gauge("aidc_twin_forecast_slo_breach_seconds", "Seconds until the SLO breaks (+Inf: it holds over the horizon).", f_breach);
    gauge("aidc_twin_forecast_replicas_to_add", "Replicas to add to hold the SLO.", f_add);
    gauge("aidc_twin_forecast_facility_kw", "Forecast mean facility power.", f_kw);
    gauge("aidc_twin_forecast_pue", "Forecast mean PUE.", f_pue);

    auto watch = [&](const std::string& metric, double value) {
      auto& series = watched[metric];
      if (!std::isnan(value)) series.push_back({now, value});
      while (!series.empty() && series.front().t_s < now - 3600) series.pop_front();
    };
    double hottest = kUnknown, busiest_gpu = kUnknown;
    for (const auto& r : t.replicas) {
      if (!std::isnan(r.gpu_temp_c) && !(hottest >= r.gpu_temp_c)) hottest = r.gpu_temp_c;
      if (!std::isnan(r.gpu_util) && !(busiest_gpu >= r.gpu_util)) busiest_gpu = r.gpu_util;
    }
    watch("gpu_temperature_c", hottest);
    watch("p99_latency_s", t.ttft_p99_s);
    watch("gpu_utilization", busiest_gpu);
    nlohmann::json alert_states = nlohmann::json::array();
    for (const auto& a : alerts) {
      const auto& series = watched[a.metric];
      const auto fired = facility::evaluate_alert(a.rule, {series.begin(), series.end()});
      const bool firing = !fired.empty() && fired.back().still_firing;
      alert_states.push_back({{"name", a.rule.name}, {"metric", a.metric}, {"threshold", a.rule.threshold}, {"for_s", a.rule.for_s},
                              {"value", series.empty() ? nlohmann::json() : nlohmann::json(series.back().value)},
                              {"state", series.empty() ? "no data" : firing ? "firing" : "inactive"},
                              {"firing_since_s", firing ? nlohmann::json(fired.back().firing_since_s) : nlohmann::json()}});
    }
    nlohmann::json replicas = nlohmann::json::array();
    for (int r = 0; r < n; ++r)
      replicas.push_back({{"server", o.servers[r]}, {"up", t.reached ? nlohmann::json(t.replicas[r].serving()) : nlohmann::json()},
                          {"mirrored_up", m.replicas[r].up}, {"running", t.replicas[r].running}, {"mirrored_running", m.replicas[r].running},
                          {"gpu_temp_c", t.replicas[r].gpu_temp_c}, {"rack", placements[r].rack}});
    nlohmann::json s{{"t_unix", now_unix}, {"t_s", now}, {"prometheus_up", t.reached}, {"lacking", t.lacking},
                     {"replicas", replicas}, {"drift", drift}, {"step_scale", performance.scale()},
                     {"recalibrations", recalibration_count}, {"forecasts", forecast_json(forecasts)}, {"out", out},
                     {"alerts", alert_states},
                     {"measured", {{"rate_per_s", rate_now}, {"ttft_p99_s", t.ttft_p99_s}, {"tpot_p99_s", t.tpot_p99_s},
                                   {"itl_mean_s", itl_measured}}},
                     {"mirrored", {{"ttft_p99_s", m.ttft_p99_s}, {"tpot_p99_s", m.tpot_p99_s}, {"itl_mean_s", m.itl_mean_s}}},
                     {"floor", {{"halls", scenario.datacenter.halls}, {"rows_per_hall", scenario.datacenter.rows_per_hall},
                                {"racks_per_row", scenario.datacenter.racks_per_row}}},
                     {"slo", {{"ttft_s", scenario.slo.ttft_s.value_or(kUnknown)}, {"tpot_s", scenario.slo.tpot_s.value_or(kUnknown)}}}};
    // nlohmann writes NaN as null.
    {
      std::lock_guard lock(published_mutex);
      exposition = x.str();
      state = s;
    }
  }

  if (server_thread.joinable()) {
    server.stop();
    server_thread.join();
  }
  if (!o.quiet) std::fprintf(stderr, "aidc twin: stopped; %d forecast batches, %d recalibrations\n", worker.batches(), recalibration_count);
  return kExitDone;
}

}  // namespace aidc::twin
