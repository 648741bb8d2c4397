#pragma once
// Alert rules evaluated the way Prometheus does: the condition is checked at each evaluation (here,
// each sample); a rule is pending from the first true evaluation and fires once it has been true
// continuously for `for_s`; it resolves at the first false evaluation.
#include <string>
#include <vector>

namespace aidc::facility {

enum class Comparison { Greater, GreaterOrEqual, Less, LessOrEqual };

struct AlertRule {
  std::string name;
  Comparison comparison = Comparison::Greater;
  double threshold = 0;
  double for_s = 0;
};

// The seeds' rules (GPUTemperatureHigh: > 85 °C for 5m) and the latency / utilization rules.
AlertRule gpu_temperature_high_rule();  // gpu_temperature_c > 85 for 300 s
AlertRule p99_latency_high_rule();      // p99_latency_s > 0.5 for 60 s
AlertRule gpu_utilization_sustained_rule();  // gpu_utilization > 0.9 for 600 s

struct TimedValue {
  double t_s = 0;
  double value = 0;
};

struct FiringInterval {
  double pending_since_s = 0;  // first evaluation of the run of true evaluations
  double firing_since_s = 0;   // first evaluation at which it had been true for `for_s`
  double resolved_at_s = 0;    // first false evaluation; the last sample's time if still firing
  bool still_firing = false;
};

// `series` in increasing time order.
std::vector<FiringInterval> evaluate_alert(const AlertRule& rule, const std::vector<TimedValue>& series);

}  // namespace aidc::facility
