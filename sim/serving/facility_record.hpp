#pragma once
// What the facility model recorded during a run: per-interval power, PUE, weather and temperatures,
// the energy balance integrated over the run, throttling, outages and alert firings. Plain data,
// filled by FacilityRuntime and the failure handling, read by sim/report/facility_report.
#include <string>
#include <vector>

#include "facility/alerts.hpp"
#include "facility/facility.hpp"

namespace aidc {

struct FacilityInterval {
  double start_s = 0, end_s = 0;
  double ambient_c = 0, wet_bulb_c = 0;
  facility::PowerTotals power;  // kW, all halls
  double pue = 0;
  double gpu_max_c = 0;         // hottest GPU of the site
  double gpu_utilization = 0;   // mean busy fraction of the GPUs that serve a replica
  double serving_gpu_w = 0;     // mean board power of the GPUs that serve a replica (NVML's power.draw)
  double flow_multiplier = 1;   // the cooling controller's command (first hall)
  std::vector<double> rack_kw, rack_gpu_max_c;
};

struct Outage {
  int replica = -1;
  double failed_at_s = 0;
  double removed_at_s = -1;    // the balancer's health check marked it down; -1: it never did
  double serving_again_s = 0;  // repaired and weights reloaded
  long long in_flight = 0;     // requests the replica held (running + waiting) when it failed
  long long arrived_while_down = 0;  // sent to it before the health check took it out (or retried onto it)
  long long retried = 0;       // of those: redispatched to another replica
  long long failed = 0;        // of those: answered with an error
};

struct AlertFirings {
  std::string metric;
  facility::AlertRule rule;
  std::vector<facility::FiringInterval> firings;
};

struct FacilityRecord {
  std::vector<FacilityInterval> intervals;
  facility::EnergyBalance energy_kwh;  // every line item integrated over the run (kWh, not kW)
  facility::PueSummary pue;
  double annualized_pue = 0;
  double design_it_kw = 0, design_heat_kw = 0;  // all halls: what capex per kW is sized on
  double gpu_max_c = 0;
  double serving_gpu_w_mean = 0;     // board power of a serving GPU, mean over the run
  double throttled_fraction = 0;     // of serving GPU-seconds, thermal clock below 1
  double power_capped_fraction = 0;  // of serving GPU-seconds, power-limit clock below 1
  long long breaker_overloads = 0;   // rack-intervals above the breaker's continuous limit
  double availability = 1;           // replica-seconds serving / replica-seconds
  double weight_reload_s = 0;         // disaggregated: the longer of the two pools'
  // Disaggregated: per pool (prefill, decode), its servers' wall power (switches not included) and
  // the board power of its serving GPUs.
  struct PoolPower {
    double it_kw_mean = 0, it_kwh = 0, serving_gpu_w_mean = 0;
  };
  std::vector<PoolPower> pools;
  std::vector<Outage> outages;
  std::vector<AlertFirings> alerts;
};

}  // namespace aidc
