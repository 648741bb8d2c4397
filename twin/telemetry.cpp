#include "twin/telemetry.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace aidc::twin {
namespace {

std::string host_of(const std::string& instance) { return instance.substr(0, instance.rfind(':')); }

std::string fmt_window(double window_s) { return std::to_string(static_cast<long>(std::lround(window_s))) + "s"; }

std::string quantile(const std::string& histogram, const std::string& selector, const std::string& by, double window_s) {
  return "histogram_quantile(0.99, sum by (" + by + ") (rate(" + histogram + "_bucket" + selector + "[" +
         fmt_window(window_s) + "])))";
}

// Keeps the larger of a known value and a new one (NaN: unknown).
void keep_max(double& into, double value) {
  if (!std::isnan(value) && (std::isnan(into) || value > into)) into = value;
}

double first_value(const std::vector<Series>& result) {
  return result.empty() || result.front().points.empty() ? kUnknown : result.front().points.front().value;
}

}  // namespace

int ClusterMap::replica_of_instance(const std::string& instance) const {
  const auto it = std::find(servers.begin(), servers.end(), instance);
  return it == servers.end() ? -1 : static_cast<int>(it - servers.begin());
}

int ClusterMap::replica_of_haproxy_server(const std::string& server) const {
  if (server.rfind("node", 0) != 0 || server.size() == 4 ||
      !std::all_of(server.begin() + 4, server.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  const long n = std::stol(server.substr(4));
  return n >= 1 && n <= static_cast<long>(servers.size()) ? static_cast<int>(n - 1) : -1;
}

int ClusterMap::replica_of_gpu_instance(const std::string& instance) const {
  if (const int exact = replica_of_instance(instance); exact >= 0) return exact;
  int found = -1;
  for (std::size_t r = 0; r < servers.size(); ++r)
    if (host_of(servers[r]) == host_of(instance)) {
      if (found >= 0) return -1;  // two replicas on that host: which GPU is whose is not known
      found = static_cast<int>(r);
    }
  return found;
}

Queries::Queries(const ClusterMap& map, double window_s) {
  const std::string engines = "{job=\"" + map.engine_job + "\"}";
  const std::string deployment = "{job=~\"" + map.engine_job + "|" + map.haproxy_job + "\"}";
  up = "up" + deployment;
  scrape_time = "max(timestamp(up" + deployment + "))";
  running = "vllm:num_requests_running" + engines;
  waiting = "vllm:num_requests_waiting" + engines;
  kv = "vllm:kv_cache_usage_perc" + engines;
  ttft_p99_by_instance = quantile("vllm:time_to_first_token_seconds", engines, "instance, le", window_s);
  tpot_p99_by_instance = quantile("vllm:inter_token_latency_seconds", engines, "instance, le", window_s);
  ttft_p99 = quantile("vllm:time_to_first_token_seconds", engines, "le", window_s);
  tpot_p99 = quantile("vllm:inter_token_latency_seconds", engines, "le", window_s);
  e2e_p99 = quantile("vllm:e2e_request_latency_seconds", engines, "le", window_s);
  counters = "{job=\"" + map.engine_job +
             "\",__name__=~\"vllm:(prompt_tokens_total|generation_tokens_total|num_preemptions_total|request_success_total|"
             "time_to_first_token_seconds_count|time_to_first_token_seconds_sum|inter_token_latency_seconds_sum|"
             "inter_token_latency_seconds_count)\"}";
  const std::string servers = "{job=\"" + map.haproxy_job + "\",proxy=\"" + map.backend + "\"";
  haproxy_status = "haproxy_server_status" + servers + ",state=\"UP\"}";
  haproxy_sessions = "haproxy_server_current_sessions" + servers + "}";
  haproxy_queue = "haproxy_server_current_queue" + servers + "}";
  haproxy_requests = "haproxy_backend_http_requests_total" + servers + "}";
  gpu = "{__name__=~\"DCGM_FI_DEV_(POWER_USAGE|GPU_TEMP|GPU_UTIL|SM_CLOCK)\"}";
}

TelemetryReader::TelemetryReader(PrometheusClient& prometheus, ClusterMap map, double window_s)
    : prometheus_(prometheus), map_(std::move(map)), queries_(map_, window_s) {}

Telemetry TelemetryReader::read(double t_unix) {
  try {
    return read_reached(t_unix);
  } catch (const PrometheusError& e) {
    Telemetry t;
    t.t_unix = t_unix;
    t.replicas.resize(map_.servers.size());
    t.lacking.push_back(std::string("Prometheus: ") + e.what());
    return t;
  }
}

Telemetry TelemetryReader::read_reached(double t_unix) {
  Telemetry t;
  t.t_unix = t_unix;
  const std::size_t n = map_.servers.size();
  t.replicas.resize(n);
  auto per_replica = [&](const std::string& query, double ReplicaTelemetry::*field) {
    for (const auto& s : prometheus_.query(query))
      if (const int r = map_.replica_of_instance(s.label("instance")); r >= 0 && !s.points.empty())
        t.replicas[r].*field = s.points.front().value;
  };
  for (const auto& s : prometheus_.query(queries_.up))
    if (const int r = map_.replica_of_instance(s.label("instance")); r >= 0 && !s.points.empty())
      t.replicas[r].scraped = s.points.front().value == 1;
  t.newest_scrape_unix = first_value(prometheus_.query(queries_.scrape_time));
  t.reached = true;
  per_replica(queries_.running, &ReplicaTelemetry::running);
  per_replica(queries_.waiting, &ReplicaTelemetry::waiting);
  per_replica(queries_.kv, &ReplicaTelemetry::kv_usage);
  per_replica(queries_.ttft_p99_by_instance, &ReplicaTelemetry::ttft_p99_s);
  per_replica(queries_.tpot_p99_by_instance, &ReplicaTelemetry::tpot_p99_s);
  t.ttft_p99_s = first_value(prometheus_.query(queries_.ttft_p99));
  t.tpot_p99_s = first_value(prometheus_.query(queries_.tpot_p99));
  t.e2e_p99_s = first_value(prometheus_.query(queries_.e2e_p99));

  Increments& inc = t.increments;
  for (const auto& s : prometheus_.query(queries_.counters)) {
    if (map_.replica_of_instance(s.label("instance")) < 0 || s.points.empty()) continue;
    const std::string& name = s.label("__name__");
    const double d = counters_.increase(name + "|" + s.label("instance") + "|" + s.label("finished_reason"), s.points.front().value);
    if (name == "vllm:prompt_tokens_total") inc.prompt_tokens += d;
    else if (name == "vllm:generation_tokens_total") inc.generation_tokens += d;
    else if (name == "vllm:num_preemptions_total") inc.preemptions += d;
    else if (name == "vllm:request_success_total") inc.completed += d;
    else if (name == "vllm:time_to_first_token_seconds_count") inc.first_tokens += d;
    else if (name == "vllm:time_to_first_token_seconds_sum") inc.ttft_sum_s += d;
    else if (name == "vllm:inter_token_latency_seconds_sum") inc.itl_sum_s += d;
    else if (name == "vllm:inter_token_latency_seconds_count") inc.itl_count += d;
  }
  for (const auto& s : prometheus_.query(queries_.haproxy_requests))
    if (!s.points.empty()) {
      inc.arrivals += counters_.increase("haproxy|" + s.label("proxy"), s.points.front().value);
      t.arrivals_known = true;
    }

  auto per_server = [&](const std::string& query, auto&& apply) {
    for (const auto& s : prometheus_.query(query))
      if (const int r = map_.replica_of_haproxy_server(s.label("server")); r >= 0 && !s.points.empty())
        apply(t.replicas[r], s.points.front().value);
  };
  per_server(queries_.haproxy_status, [](ReplicaTelemetry& r, double v) { r.haproxy_up = v == 1 ? 1 : 0; });
  per_server(queries_.haproxy_sessions, [](ReplicaTelemetry& r, double v) { r.haproxy_sessions = v; });
  per_server(queries_.haproxy_queue, [](ReplicaTelemetry& r, double v) { r.haproxy_queue = v; });

  std::set<int> with_gpu;
  for (const auto& s : prometheus_.query(queries_.gpu)) {
    const int r = map_.replica_of_gpu_instance(s.label("instance"));
    if (r < 0 || s.points.empty()) continue;
    with_gpu.insert(r);
    const std::string& name = s.label("__name__");
    const double v = s.points.front().value;
    auto& replica = t.replicas[r];
    if (name == "DCGM_FI_DEV_POWER_USAGE") keep_max(replica.gpu_power_w, v);
    else if (name == "DCGM_FI_DEV_GPU_TEMP") keep_max(replica.gpu_temp_c, v);
    else if (name == "DCGM_FI_DEV_GPU_UTIL") keep_max(replica.gpu_util, v / 100);
    else if (name == "DCGM_FI_DEV_SM_CLOCK") keep_max(replica.sm_clock_mhz, v);
  }

  if (!t.arrivals_known) t.lacking.push_back("HAProxy: backend " + map_.backend + " request counter (arrival rate)");
  for (std::size_t r = 0; r < n; ++r) {
    const auto& replica = t.replicas[r];
    const std::string who = "replica " + std::to_string(r) + " (" + map_.servers[r] + ")";
    if (!replica.scraped) t.lacking.push_back(who + ": scrape failing or absent");
    else if (std::isnan(replica.running)) t.lacking.push_back(who + ": vLLM series");
    if (replica.haproxy_up < 0) t.lacking.push_back(who + ": HAProxy server node" + std::to_string(r + 1));
    if (!with_gpu.count(static_cast<int>(r))) t.lacking.push_back(who + ": DCGM GPU gauges");
  }
  return t;
}

}  // namespace aidc::twin
