#pragma once
// The server's Prometheus exposition (text format 0.0.4). Serving metrics carry vLLM's names,
// meanings and bucket boundaries (vLLM v1, vllm/v1/metrics/loggers.py), so dashboards, alerts and
// `aidc load` read this server as they read vLLM; GPU gauges carry the DCGM exporter's names.
//   vllm:num_requests_running / _waiting   requests in the running batch / queued (not yet scheduled)
//   vllm:kv_cache_usage_perc               KV blocks in use / all KV blocks (1 = full); vLLM v1's name,
//                                          replacing v0's vllm:gpu_cache_usage_perc
//   vllm:prompt_tokens_total               prompt tokens of requests that got their first token
//   vllm:generation_tokens_total           tokens generated
//   vllm:request_success_total{finished_reason="stop|length|abort"}  finished requests
//   vllm:num_preemptions_total             preemptions by recompute
//   vllm:time_to_first_token_seconds       arrival at the server to the first token
//   vllm:inter_token_latency_seconds       between consecutive tokens of a request (vLLM v1's name for
//                                          what v0 called vllm:time_per_output_token_seconds)
//   vllm:e2e_request_latency_seconds       arrival to the last token
//   aidc_model_load_time_seconds           weights read and backend built, at start-up
// Prometheus reserves ':' for recording rules, so `promtool check metrics` lints vLLM's names (and
// vLLM's own /metrics) with "metric names should not contain ':'"; the names are kept for
// compatibility, the format itself parses clean (tests/engine/test_server.cpp).
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace aidc {

// Fixed upper bounds (le); the +Inf bucket is implicit.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  void render(std::string& out, const std::string& name, const std::string& help, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket (not cumulative); the last counts values above every bound
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// vLLM's finished_reason label values.
enum class Outcome { Stop, Length, Abort };

// What one engine iteration changed, gathered by the engine thread and applied under one lock.
struct IterationStats {
  long long prompt_tokens = 0;
  long long generation_tokens = 0;
  std::vector<double> time_to_first_token, inter_token_latency, e2e_latency;
  std::array<long long, 3> finished{};  // by Outcome
  void clear();
};

struct SchedulerGauges {
  long long running = 0;
  long long waiting = 0;
  double kv_cache_usage = 0;
  long long preemptions = 0;
};

class ServingMetrics {
 public:
  ServingMetrics(std::string model_name, double model_load_seconds);
  void record(const IterationStats& stats, const SchedulerGauges& gauges);
  // The whole exposition, GPU gauges read from NVML now (a comment says why when NVML is absent).
  std::string render() const;

 private:
  const std::string labels_;  // model_name="..."
  const double model_load_seconds_;
  mutable std::mutex mutex_;
  SchedulerGauges gauges_;
  long long prompt_tokens_ = 0, generation_tokens_ = 0;
  std::array<long long, 3> finished_{};
  Histogram time_to_first_token_, inter_token_latency_, e2e_latency_;
};

}  // namespace aidc
