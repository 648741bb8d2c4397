#include "facility/alerts.hpp"

#include <stdexcept>

namespace aidc::facility {
namespace {

bool holds(Comparison comparison, double value, double threshold) {
  switch (comparison) {
    case Comparison::Greater: return value > threshold;
    case Comparison::GreaterOrEqual: return value >= threshold;
    case Comparison::Less: return value < threshold;
    case Comparison::LessOrEqual: return value <= threshold;
  }
  throw std::invalid_argument("unknown comparison");
}

}  // namespace

AlertRule gpu_temperature_high_rule() { return {"GPUTemperatureHigh", Comparison::Greater, 85, 300}; }
AlertRule p99_latency_high_rule() { return {"P99LatencyHigh", Comparison::Greater, 0.5, 60}; }
AlertRule gpu_utilization_sustained_rule() { return {"GPUUtilizationSustained", Comparison::Greater, 0.9, 600}; }

std::vector<FiringInterval> evaluate_alert(const AlertRule& rule, const std::vector<TimedValue>& series) {
  std::vector<FiringInterval> intervals;
  bool pending = false;
  bool firing = false;
  FiringInterval current;
  double previous_t = 0;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& sample = series[i];
    if (i > 0 && sample.t_s < previous_t) throw std::invalid_argument("alert series must be in time order");
    previous_t = sample.t_s;
    if (holds(rule.comparison, sample.value, rule.threshold)) {
      if (!pending) {
        pending = true;
        current = FiringInterval{};
        current.pending_since_s = sample.t_s;
      }
      if (!firing && sample.t_s - current.pending_since_s >= rule.for_s) {
        firing = true;
        current.firing_since_s = sample.t_s;
      }
    } else {
      if (firing) {
        current.resolved_at_s = sample.t_s;
        intervals.push_back(current);
      }
      pending = firing = false;
    }
  }
  if (firing) {
    current.resolved_at_s = series.back().t_s;
    current.still_firing = true;
    intervals.push_back(current);
  }
  return intervals;
}

}  // namespace aidc::facility
