#pragma once
// Forecasts from the twin's current state: each variant is an `aidc run` child process (one SimGrid
// engine each, through study/executors) of the twin's scenario over the horizon, starting from the
// mirror's snapshot (--start) with the recalibrated step times (--step-scale) and a workload built
// from the measured arrival rate and lengths:
//   trend      the rate extrapolated along its slope over the last window (never below 0);
//   rate xk    the measured rate times k, constant;
//   down rN    the measured rate with replica N down for the whole horizon;
//   schedule   the scenario's own rate schedule, continued from where the twin is in it.
// From each run: p99 TTFT/TPOT over the horizon, when the SLO first breaks (p99 over a sliding window
// of arrivals), the replicas to add to hold it (the analytic capacity estimate, sim/perf/capacity),
// and the facility kW and PUE that follow.
#include <string>
#include <vector>

#include "perf/performance_model.hpp"
#include "run/simulate.hpp"
#include "scenario/scenario.hpp"
#include "study/executors/executor.hpp"

namespace aidc::twin {

struct ForecastVariant {
  enum class Rate { Trend, Constant, Schedule } rate = Rate::Trend;
  double multiplier = 1.0;  // Constant: times the measured rate
  int down_replica = -1;    // a replica taken down for the horizon, -1 none
  std::string name() const;  // "trend", "rate_x2", "down_r1", "schedule"
};

// What the forecasts start from.
struct ForecastStart {
  double rate_per_s = 0, rate_slope_per_s2 = 0;  // measured now, and its trend
  double schedule_time_s = 0;                    // where the scenario's schedule is now
  double prompt_tokens = 1, output_tokens = 1;   // measured means
  double step_scale = 1;
  // Measured - mirrored p99 TTFT now: what the model does not see (HTTP, tokenization, a busy host),
  // carried forward onto the forecast's TTFT. 0 when either is unknown.
  double ttft_residual_s = 0;
  StartState state;
};

struct ForecastResult {
  std::string variant;
  bool ok = false;
  std::string error;  // why not, when !ok
  double ttft_p99_s = 0, tpot_p99_s = 0;  // TTFT with the residual added; NaN when no request finished
  double slo_breach_s = -1;  // seconds from now until the SLO first breaks; -1: it holds
  int replicas_to_add = 0;
  double peak_rate_per_s = 0;
  double facility_kw = 0, pue = 0;
};

// The `--set` overrides that turn the twin's scenario into a variant's run (its workload replaced).
std::vector<std::string> forecast_overrides(const Scenario& scenario, const ForecastVariant& variant, const ForecastStart& start,
                                            double horizon_s);

// First breach of the SLO in a run's requests.csv: the end of the first window of `window_s` (by
// arrival, windows every window_s/2) whose p99 TTFT or TPOT is above the SLO, counting failed and
// unfinished requests as above it (but those arriving in the last window, which the horizon cut off),
// each TTFT plus `ttft_residual_s`; -1 when none.
double first_slo_breach_s(const std::string& requests_csv, const SloSpec& slo, double window_s, double ttft_residual_s = 0);

class Forecaster {
 public:
  Forecaster(const Scenario& scenario, const PerformanceModel& base, study::RunExecutor& executor,
             double horizon_s, double slo_window_s);
  // Runs every variant (in parallel, up to the executor's slots) into `dir`/<variant>/. Blocking.
  std::vector<ForecastResult> run(const ForecastStart& start, const std::vector<ForecastVariant>& variants, const std::string& dir);

 private:
  ForecastResult read(const ForecastVariant& variant, const ForecastStart& start, const study::RunResult& run,
                      const std::string& out) const;
  const Scenario& scenario_;
  const PerformanceModel& base_;
  study::RunExecutor& executor_;
  double horizon_s_, slo_window_s_;
};

}  // namespace aidc::twin
