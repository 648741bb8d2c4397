#pragma once
// `aidc twin`: the live twin of a deployment that Prometheus scrapes (docs/twin.md). Each tick it
// reads the measured state (telemetry.hpp), feeds the mirror (mirror.hpp), checks drift and
// recalibrates, and writes a row of twin.csv; every `forecast_every_s` it runs the forecasts
// (forecast.hpp) in child processes. It serves its own /metrics (Prometheus text), /state (JSON, the
// GUI's Live twin tab reads it) and POST /whatif?rate=K&down=R (a forecast from the live state).
#include <string>
#include <vector>

namespace aidc::twin {

struct TwinOptions {
  std::string prometheus_url;
  std::string scenario_file;
  std::vector<std::string> overrides;
  std::vector<std::string> servers;  // engine host:port in replica order (the scrape targets' instance labels)
  std::string engine_job = "vllm", haproxy_job = "haproxy", backend = "deepseek_nodes";
  double interval_s = 1.0;     // ticks
  double window_s = 30;        // quantiles, rates and drift over this sliding window
  double backfill_s = 300;     // range queries on start
  double forecast_every_s = 60;
  double horizon_s = 1800;
  std::vector<double> rate_multipliers = {2.0};
  bool forecast_server_down = true;
  double schedule_origin_unix = 0;  // time 0 of the scenario's rate schedule (0: when the twin starts)
  double drift_threshold = 0.25;    // |measured / mirrored mean inter-token latency - 1|
  int drift_ticks = 5;              // ticks in a row past the threshold before it recalibrates
  bool recalibrate = true;
  int jobs = 2;                     // forecasts in parallel
  std::string listen;               // host:port for /metrics, /state, /whatif; empty: none
  std::string out_dir;              // twin.csv, recalibrations.csv, alerts.rules.yml, forecasts/
  double duration_s = 0;            // 0: until SIGINT or SIGTERM
  bool quiet = false;
};

// Returns the exit code (0 done, 2 bad input).
int run_twin(const TwinOptions& options);

}  // namespace aidc::twin
