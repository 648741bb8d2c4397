#pragma once
// The scenario's alert rules (facility.alerts; the seeds' three when it has none) as a Prometheus
// rule file over the metrics a real deployment exports, evaluated as the simulator evaluates them
// (sim/facility/alerts, sim/serving/facility_runtime): GPU temperature from DCGM_FI_DEV_GPU_TEMP,
// GPU utilisation from DCGM_FI_DEV_GPU_UTIL (percent, compared as a fraction), and p99 latency as the
// simulator's p99_latency_s: the deployment's p99 time to first token.
#include <string>
#include <vector>

#include "scenario/scenario.hpp"

namespace aidc::twin {

// The scenario's rules: facility.alerts, or the seeds' three when it has none.
std::vector<FacilitySpec::Alert> scenario_alerts(const Scenario& scenario);

// The rule file's YAML (`promtool check rules` accepts it); `engine_job` selects the engines' series.
std::string alert_rules_yaml(const Scenario& scenario, const std::string& engine_job);

}  // namespace aidc::twin
