#include "facility/thermal.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace aidc::facility {

void RcNode::step(double power_w, double ambient_c, double dt_s, double resistance_scale) {
  const double r = resistance_k_per_w * resistance_scale;
  const double tau = r * capacitance_j_per_k;
  if (tau <= 0) throw std::invalid_argument("RcNode: resistance and capacitance must be > 0");
  const double steady = ambient_c + power_w * r;
  temperature_c = steady + (temperature_c - steady) * std::exp(-dt_s / tau);
}

double convective_resistance_scale(double flow_multiplier) {
  if (flow_multiplier <= 0) throw std::invalid_argument("flow_multiplier must be > 0");
  return std::pow(flow_multiplier, -0.8);
}

ThermalDefaults thermal_defaults(CoolingKind kind) {
  switch (kind) {
    case CoolingKind::Air:  // 700 W over 20 °C supply + 4 K recirculation (40 kW rack) -> about 73 °C
      return {0.07, 20, 0.1, 120};
    case CoolingKind::DirectLiquid:  // cold plate: 700 W over 35 °C water + 2 K manifold rise -> about 65 °C
      return {0.04, 10, 0.05, 120};
    case CoolingKind::Immersion:  // 700 W in 40 °C fluid + 3 K tank rise -> about 78 °C
      return {0.05, 30, 0.08, 300};
  }
  throw std::invalid_argument("unknown cooling kind");
}

RcNode gpu_node(const ThermalDefaults& defaults, double initial_c) {
  return RcNode{defaults.gpu_resistance_k_per_w, defaults.gpu_time_constant_s / defaults.gpu_resistance_k_per_w,
                initial_c};
}

RcNode rack_node(const ThermalDefaults& defaults, double initial_c) {
  const double r_k_per_w = defaults.rack_rise_k_per_kw / 1000;
  return RcNode{r_k_per_w, defaults.rack_time_constant_s / r_k_per_w, initial_c};
}

double cooling_supply_c(const CoolingPlant& plant) {
  return plant.kind == CoolingKind::Air ? plant.air.supply_air_c : plant.liquid.supply_c;
}

double throttle_clock_fraction(const ThrottleModel& model, double t) {
  if (t <= model.start_c) return 1.0;
  const double depth = std::min(1.0, (t - model.start_c) / (model.full_c - model.start_c));
  return 1.0 - depth * (1.0 - model.min_clock_fraction);
}

CoolingCommand SeedThermalController::decide(double hottest_gpu_c, double gpu_load) const {
  // The seed's code compares with `>`, so exactly 75 °C or 80% stays normal.
  if (hottest_gpu_c > temperature_threshold_c || gpu_load > load_threshold) return {high_flow_multiplier, true};
  return {1.0, false};
}

CoolingCommand ProportionalController::decide(double hottest_gpu_c) const {
  const double flow = std::clamp(1.0 + gain_per_k * (hottest_gpu_c - setpoint_c), min_flow, max_flow);
  return {flow, flow > 1.0};
}

}  // namespace aidc::facility
