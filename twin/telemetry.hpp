#pragma once
// What the twin measures, read from Prometheus once per tick: per replica the engine's vLLM series,
// HAProxy's view of its server and the DCGM GPU gauges; per cluster the counters' increments since
// the previous tick and latency over a sliding window. The label mapping (docs/twin.md, "Mapping"):
//   - replica r is the engine scraped as `instance="<servers[r]>"` in job `engine_job` — the same
//     host:port list, in the same order, that `aidc haproxy-config --server` takes;
//   - HAProxy's server for replica r is `server="node<r+1>"` in `proxy="<backend>"` (as haproxy-config
//     names them), read from job `haproxy_job`;
//   - DCGM gauges belong to replica r when their `instance` is the engine's (aidc-engine serve exports
//     them itself) or, for a dcgm-exporter beside it, when their instance's host is the engine's host
//     and no other replica shares that host; their `gpu` label is the GPU index;
//   - racks and servers: replica r sits where the scenario places it (sim/platform/layout's
//     place_replicas), which is what the floor plan shows.
// Whatever is missing stays NaN and is named in `lacking`.
#include <limits>
#include <string>
#include <vector>

#include "twin/counter_tracker.hpp"
#include "twin/prometheus.hpp"

namespace aidc::twin {

inline constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

struct ClusterMap {
  std::vector<std::string> servers;  // engine host:port, replica order
  std::string engine_job = "vllm";
  std::string haproxy_job = "haproxy";
  std::string backend = "deepseek_nodes";
  int replica_of_instance(const std::string& instance) const;       // -1: not an engine of this deployment
  int replica_of_haproxy_server(const std::string& server) const;   // "node3" -> 2; -1 otherwise
  int replica_of_gpu_instance(const std::string& instance) const;   // the rules above; -1: none
};

struct ReplicaTelemetry {
  bool scraped = false;  // Prometheus's `up` for its engine is 1
  int haproxy_up = -1;   // HAProxy's view: 1 up, 0 down, -1 unknown
  double running = kUnknown, waiting = kUnknown, kv_usage = kUnknown;
  double haproxy_sessions = kUnknown, haproxy_queue = kUnknown;
  double ttft_p99_s = kUnknown, tpot_p99_s = kUnknown;
  double gpu_power_w = kUnknown, gpu_temp_c = kUnknown, gpu_util = kUnknown, sm_clock_mhz = kUnknown;  // max over its GPUs; util 0..1
  // Up as the balancer routes: HAProxy's view when it has one, else whether the engine answers scrapes.
  bool serving() const { return haproxy_up >= 0 ? haproxy_up == 1 : scraped; }
};

// Increments since the previous read (counter resets handled), summed over the deployment.
struct Increments {
  double arrivals = 0;           // HAProxy backend requests
  double first_tokens = 0;       // TTFT histogram count: requests that got their first token
  double completed = 0;          // vllm:request_success_total, all finished_reason
  double prompt_tokens = 0, generation_tokens = 0, preemptions = 0;
  double ttft_sum_s = 0, itl_sum_s = 0, itl_count = 0;  // histogram _sum/_count increments: exact means
};

struct Telemetry {
  double t_unix = 0;             // when it was read
  double newest_scrape_unix = kUnknown;  // the latest scrape of any target of this deployment
  bool reached = false;          // Prometheus answered
  std::vector<ReplicaTelemetry> replicas;
  Increments increments;
  bool arrivals_known = false;   // HAProxy's request counter was there
  double ttft_p99_s = kUnknown, tpot_p99_s = kUnknown, e2e_p99_s = kUnknown;  // whole deployment, over the window
  std::vector<std::string> lacking;  // what is missing, one phrase each ("replica 2: vLLM series")
};

// The PromQL the twin sends; `window_s` is the quantiles' window.
struct Queries {
  explicit Queries(const ClusterMap& map, double window_s);
  std::string up, scrape_time, running, waiting, kv, ttft_p99_by_instance, tpot_p99_by_instance, ttft_p99, tpot_p99,
      e2e_p99, counters, haproxy_status, haproxy_sessions, haproxy_queue, haproxy_requests, gpu;
};

class TelemetryReader {
 public:
  TelemetryReader(PrometheusClient& prometheus, ClusterMap map, double window_s);
  // One read; never throws for what Prometheus lacks or cannot answer (reached = false, lacking says).
  Telemetry read(double t_unix);
  const ClusterMap& map() const { return map_; }

 private:
  Telemetry read_reached(double t_unix);
  PrometheusClient& prometheus_;
  ClusterMap map_;
  Queries queries_;
  CounterTracker counters_;
};

}  // namespace aidc::twin
