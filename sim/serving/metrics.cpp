#include "serving/metrics.hpp"

#include <algorithm>
#include <cmath>

namespace aidc {

TimeSeries::TimeSeries(double interval_s, double duration_s, int replicas) : interval_(interval_s), replicas_(replicas) {
  const auto n = static_cast<std::size_t>(std::max(1.0, std::ceil(duration_s / interval_s - 1e-9)));
  for (auto* series : {&arrivals_, &input_tokens_, &output_tokens_, &in_flight_, &queued_}) series->assign(n, 0.0);
  busy_.assign(n * static_cast<std::size_t>(replicas), 0.0);
  kv_.assign(n * static_cast<std::size_t>(replicas), 0.0);
}

std::size_t TimeSeries::bin(double t) const {
  const auto b = static_cast<std::size_t>(std::max(0.0, t / interval_));
  return std::min(b, bins() - 1);
}

void TimeSeries::add_tokens(double t, int prefill_tokens, int generated_tokens) {
  const std::size_t b = bin(t);
  input_tokens_[b] += prefill_tokens;
  output_tokens_[b] += generated_tokens;
}

void TimeSeries::add_busy(int replica, double start, double end, double kv_fraction) {
  // Split the span over the bins it covers.
  while (start < end) {
    const std::size_t b = bin(start);
    const double bin_end = b + 1 == bins() ? end : std::min(end, (static_cast<double>(b) + 1.0) * interval_);
    const double span = std::max(0.0, bin_end - start);
    busy_[index(replica, b)] += span;
    kv_[index(replica, b)] += span * kv_fraction;
    if (bin_end <= start) break;
    start = bin_end;
  }
}

void TimeSeries::set_sample(std::size_t b, double in_flight, double queued) {
  if (b >= bins()) return;
  in_flight_[b] = in_flight;
  queued_[b] = queued;
}

}  // namespace aidc
