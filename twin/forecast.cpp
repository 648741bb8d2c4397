#include "twin/forecast.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/statistics.hpp"
#include "perf/capacity.hpp"
#include "twin/scaled_model.hpp"
#include "twin/start_state_file.hpp"

namespace aidc::twin {
namespace {

constexpr int kScheduleSteps = 30;  // the variant's rate as steps over the horizon

std::string number(double v) {
  std::ostringstream text;
  text.precision(6);
  text << v;
  return text.str();
}

double rate_at(const ForecastVariant& v, const Scenario& scenario, const ForecastStart& start, double t) {
  switch (v.rate) {
    case ForecastVariant::Rate::Trend: return std::max(0.0, start.rate_per_s + start.rate_slope_per_s2 * t);
    case ForecastVariant::Rate::Constant: return start.rate_per_s * v.multiplier;
    case ForecastVariant::Rate::Schedule: return scenario.workload.schedule.rate_at(start.schedule_time_s + t);
  }
  return 0;
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  std::string cell;
  while (std::getline(in, cell, ',')) cells.push_back(cell);
  return cells;
}

}  // namespace

std::string ForecastVariant::name() const {
  if (down_replica >= 0) return "down_r" + std::to_string(down_replica);
  switch (rate) {
    case Rate::Trend: return "trend";
    case Rate::Schedule: return "schedule";
    case Rate::Constant: break;
  }
  std::string k = number(multiplier);
  std::replace(k.begin(), k.end(), '.', 'p');
  return "rate_x" + k;
}

std::vector<std::string> forecast_overrides(const Scenario& scenario, const ForecastVariant& variant, const ForecastStart& start,
                                            double horizon_s) {
  std::string steps;
  for (int i = 0; i < kScheduleSteps; ++i) {
    const double at = horizon_s * i / kScheduleSteps;
    // Each step holds the rate at its middle.
    const double rate = rate_at(variant, scenario, start, at + horizon_s / kScheduleSteps / 2);
    steps += (i ? ", " : "") + std::string("{at_s: ") + number(at) + ", rate_per_s: " + number(rate) + "}";
  }
  const auto tokens = [](double mean) { return std::to_string(std::max(1L, std::lround(mean))); };
  return {"duration_s=" + number(horizon_s), "warmup_s=0",
          "workload={kind: open_loop, arrival: poisson, schedule: {kind: steps, steps: [" + steps +
              "]}, prompt_tokens: " + tokens(start.prompt_tokens) + ", output_tokens: " + tokens(start.output_tokens) + "}"};
}

double first_slo_breach_s(const std::string& requests_csv, const SloSpec& slo, double window_s, double ttft_residual_s) {
  std::ifstream in(requests_csv);
  std::string line;
  std::getline(in, line);
  const auto header = split(line);
  auto column = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw std::runtime_error(requests_csv + ": no column " + name);
    return static_cast<std::size_t>(it - header.begin());
  };
  const std::size_t arrival = column("arrival_s"), first = column("first_token_s"), finish = column("finish_s"),
                    output = column("output_tokens"), status = column("status");
  struct Row {
    double arrival, ttft, tpot;
    bool unfinished;
  };
  std::vector<Row> rows;
  const double never = std::numeric_limits<double>::infinity();
  while (std::getline(in, line)) {
    const auto c = split(line);
    if (c.size() < header.size()) continue;
    const double a = std::stod(c[arrival]);
    if (a < 0) continue;  // held at the start: its latency was mostly spent before the forecast
    if (c[status] != "completed") {
      rows.push_back({a, never, never, c[status] == "unfinished"});
      continue;
    }
    const double f = std::stod(c[first]), e = std::stod(c[finish]);
    const int out = std::stoi(c[output]);
    rows.push_back({a, f - a + ttft_residual_s, out > 1 ? (e - f) / (out - 1) : 0, false});
  }
  if (rows.empty()) return -1;
  const double last = std::max_element(rows.begin(), rows.end(), [](auto& x, auto& y) { return x.arrival < y.arrival; })->arrival;
  for (double from = 0; from <= last; from += window_s / 2) {
    std::vector<double> ttft, tpot;
    for (const Row& r : rows)
      // Unfinished in the last window: cut off by the horizon, not (yet) late.
      if (r.arrival >= from && r.arrival < from + window_s && !(r.unfinished && r.arrival > last - window_s)) {
        ttft.push_back(r.ttft);
        tpot.push_back(r.tpot);
      }
    if (ttft.empty()) continue;
    if ((slo.ttft_s && percentile(ttft, slo.percentile) > *slo.ttft_s) || (slo.tpot_s && percentile(tpot, slo.percentile) > *slo.tpot_s))
      return from + window_s;
  }
  return -1;
}

Forecaster::Forecaster(const Scenario& scenario, const PerformanceModel& base, study::RunExecutor& executor,
                       double horizon_s, double slo_window_s)
    : scenario_(scenario), base_(base), executor_(executor), horizon_s_(horizon_s), slo_window_s_(slo_window_s) {}

std::vector<ForecastResult> Forecaster::run(const ForecastStart& start, const std::vector<ForecastVariant>& variants,
                                            const std::string& dir) {
  std::vector<study::RunRequest> runs;
  for (const auto& v : variants) {
    const std::string out = dir + "/" + v.name();
    std::filesystem::create_directories(out);
    StartState state = start.state;
    if (v.down_replica >= 0) {
      std::erase_if(state.requests, [&](const StartState::HeldBy& h) { return h.replica == v.down_replica; });
      std::erase_if(state.down, [&](const StartState::Down& d) { return d.replica == v.down_replica; });
      state.down.push_back({v.down_replica, horizon_s_ + 1});
    }
    write_start_state(out + "/start.json", state);
    study::RunRequest run;
    run.scenario_file = scenario_.source_file;
    run.overrides = forecast_overrides(scenario_, v, start, horizon_s_);
    run.out_dir = out;
    run.log_file = out + "/run.log";
    run.run_options = {"--start", out + "/start.json", "--step-scale", number(start.step_scale)};
    runs.push_back(run);
  }
  const auto done = executor_.run_all(runs);
  std::vector<ForecastResult> results;
  for (std::size_t i = 0; i < variants.size(); ++i) results.push_back(read(variants[i], start, done[i], runs[i].out_dir));
  return results;
}

ForecastResult Forecaster::read(const ForecastVariant& variant, const ForecastStart& start, const study::RunResult& run,
                                const std::string& out) const {
  ForecastResult r;
  r.variant = variant.name();
  if (!run.summary) {
    r.error = run.first_error.empty() ? "exit " + std::to_string(run.exit_code) : run.first_error;
    return r;
  }
  const auto& s = *run.summary;
  // No request finished over the horizon: no latency to predict (NaN, written as null / empty).
  const bool served = s["requests"].value("completed", 0) > 0;
  const double none = std::numeric_limits<double>::quiet_NaN();
  r.ttft_p99_s = served ? s["latency_s"]["ttft"].value("p99", 0.0) + start.ttft_residual_s : none;
  r.tpot_p99_s = served ? s["latency_s"]["tpot"].value("p99", 0.0) : none;
  if (s.contains("power")) r.facility_kw = s["power"].value("facility_kw_mean", 0.0);
  if (s.contains("pue")) r.pue = s["pue"].value("mean", 0.0);
  r.slo_breach_s = first_slo_breach_s(out + "/requests.csv", scenario_.slo, slo_window_s_, start.ttft_residual_s);
  for (int i = 0; i < kScheduleSteps; ++i)
    r.peak_rate_per_s = std::max(r.peak_rate_per_s, rate_at(variant, scenario_, start, horizon_s_ * (i + 0.5) / kScheduleSteps));
  const ScaledPerformanceModel scaled(base_, start.step_scale);
  const CapacityEstimate capacity = estimate_capacity(scenario_, scaled, r.peak_rate_per_s);
  int up = scenario_.deployment.replicas - static_cast<int>(start.state.down.size());
  if (variant.down_replica >= 0 && std::none_of(start.state.down.begin(), start.state.down.end(),
                                                [&](const StartState::Down& d) { return d.replica == variant.down_replica; }))
    --up;
  const int needed = capacity.replica_requests_per_s > 0
                         ? static_cast<int>(std::ceil(r.peak_rate_per_s / capacity.replica_requests_per_s))
                         : 0;
  r.replicas_to_add = std::max(needed - up, r.slo_breach_s >= 0 ? 1 : 0);
  r.ok = true;
  return r;
}

}  // namespace aidc::twin
