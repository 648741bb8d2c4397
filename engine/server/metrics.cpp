#include "server/metrics.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "profiler/nvml.h"

namespace aidc {
namespace {

// vLLM v1's bucket boundaries (vllm/v1/metrics/loggers.py).
const std::vector<double> kTimeToFirstTokenBuckets = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                                      0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0,
                                                      20.0,  40.0,  80.0, 160.0, 640.0, 2560.0};
const std::vector<double> kInterTokenLatencyBuckets = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                                       0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
const std::vector<double> kRequestLatencyBuckets = {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
                                                    30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
const char* const kOutcomeNames[] = {"stop", "length", "abort"};

std::string number(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string& out, const std::string& name, const std::string& labels, double value) {
  out += name + "{" + labels + "} " + number(value) + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();  // le: value <= bound
  ++counts_[static_cast<std::size_t>(bucket)];
  sum_ += value;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help,
                       const std::string& labels) const {
  header(out, name, help, "histogram");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= bounds_.size(); ++b) {
    cumulative += counts_[b];
    const std::string le = b < bounds_.size() ? number(bounds_[b]) : "+Inf";
    sample(out, name + "_bucket", labels + ",le=\"" + le + "\"", static_cast<double>(cumulative));
  }
  sample(out, name + "_sum", labels, sum_);
  sample(out, name + "_count", labels, static_cast<double>(count_));
}

void IterationStats::clear() {
  prompt_tokens = generation_tokens = 0;
  time_to_first_token.clear();
  inter_token_latency.clear();
  e2e_latency.clear();
  finished.fill(0);
}

ServingMetrics::ServingMetrics(std::string model_name, double model_load_seconds)
    : labels_("model_name=\"" + escape_label(model_name) + "\""),
      model_load_seconds_(model_load_seconds),
      time_to_first_token_(kTimeToFirstTokenBuckets),
      inter_token_latency_(kInterTokenLatencyBuckets),
      e2e_latency_(kRequestLatencyBuckets) {}

void ServingMetrics::record(const IterationStats& stats, const SchedulerGauges& gauges) {
  std::lock_guard lock(mutex_);
  gauges_ = gauges;
  prompt_tokens_ += stats.prompt_tokens;
  generation_tokens_ += stats.generation_tokens;
  for (std::size_t o = 0; o < finished_.size(); ++o) finished_[o] += stats.finished[o];
  for (double v : stats.time_to_first_token) time_to_first_token_.observe(v);
  for (double v : stats.inter_token_latency) inter_token_latency_.observe(v);
  for (double v : stats.e2e_latency) e2e_latency_.observe(v);
}

std::string ServingMetrics::render() const {
  // Copied under the lock, formatted outside it: the engine thread records every step.
  std::unique_lock lock(mutex_);
  const SchedulerGauges g = gauges_;
  const long long prompt_tokens = prompt_tokens_, generation_tokens = generation_tokens_;
  const std::array<long long, 3> finished = finished_;
  const Histogram ttft = time_to_first_token_, itl = inter_token_latency_, e2e = e2e_latency_;
  lock.unlock();

  std::string out;
  header(out, "vllm:num_requests_running", "Number of requests in model execution batches.", "gauge");
  sample(out, "vllm:num_requests_running", labels_, static_cast<double>(g.running));
  header(out, "vllm:num_requests_waiting", "Number of requests waiting to be processed.", "gauge");
  sample(out, "vllm:num_requests_waiting", labels_, static_cast<double>(g.waiting));
  header(out, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", "gauge");
  sample(out, "vllm:kv_cache_usage_perc", labels_, g.kv_cache_usage);
  header(out, "vllm:num_preemptions_total", "Cumulative number of preemption from the engine.", "counter");
  sample(out, "vllm:num_preemptions_total", labels_, static_cast<double>(g.preemptions));
  header(out, "vllm:prompt_tokens_total", "Number of prefill tokens processed.", "counter");
  sample(out, "vllm:prompt_tokens_total", labels_, static_cast<double>(prompt_tokens));
  header(out, "vllm:generation_tokens_total", "Number of generation tokens processed.", "counter");
  sample(out, "vllm:generation_tokens_total", labels_, static_cast<double>(generation_tokens));
  header(out, "vllm:request_success_total", "Count of successfully processed requests.", "counter");
  for (std::size_t o = 0; o < finished.size(); ++o)
    sample(out, "vllm:request_success_total", labels_ + ",finished_reason=\"" + kOutcomeNames[o] + "\"",
           static_cast<double>(finished[o]));
  ttft.render(out, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", labels_);
  itl.render(out, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", labels_);
  e2e.render(out, "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", labels_);
  header(out, "aidc_model_load_time_seconds", "Seconds to read the weights and build the backend at start-up.", "gauge");
  sample(out, "aidc_model_load_time_seconds", labels_, model_load_seconds_);

  const Nvml& nvml = Nvml::instance();
  if (!nvml.available()) {
    out += "# DCGM_FI_DEV_* GPU gauges omitted: " + nvml.why_unavailable() + "\n";
    return out;
  }
  struct Gauge {
    const char* name;
    const char* help;
    std::optional<double> (Nvml::*read)() const;
  };
  const Gauge gpu_gauges[] = {
      {"DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", &Nvml::power_watts},
      {"DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", &Nvml::temperature_celsius},
      {"DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", &Nvml::utilization_percent},
      {"DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", &Nvml::memory_used_mib},
      {"DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).", &Nvml::sm_clock_mhz},
  };
  for (const Gauge& g : gpu_gauges) {
    const std::optional<double> value = (nvml.*g.read)();
    if (!value) {
      out += std::string("# ") + g.name + " omitted: NVML gave no reading\n";
      continue;
    }
    header(out, g.name, g.help, "gauge");
    sample(out, g.name, "gpu=\"0\"", *value);
  }
  return out;
}

}  // namespace aidc
