#pragma once
// Thermal state: first-order RC nodes for each GPU and rack inlet, clock throttling above the
// slowdown temperature, and the cooling control policies that set airflow / coolant flow.
#include "facility/cooling.hpp"

namespace aidc::facility {

// dT/dt = (ambient + P·R − T) / (R·C). Constant power and ambient over a step give the exact update
// T(t+dt) = T∞ + (T − T∞)·e^(−dt/RC), T∞ = ambient + P·R, stable for any dt.
struct RcNode {
  double resistance_k_per_w = 0;
  double capacitance_j_per_k = 0;
  double temperature_c = 0;
  double time_constant_s() const { return resistance_k_per_w * capacitance_j_per_k; }
  double steady_state_c(double power_w, double ambient_c) const { return ambient_c + power_w * resistance_k_per_w; }
  // Advances by dt_s with resistance scaled by `resistance_scale` (see convective_resistance_scale).
  void step(double power_w, double ambient_c, double dt_s, double resistance_scale = 1.0);
};

// Forced-convection resistance falls with flow as h ∝ Re^0.8 (Dittus–Boelter), so R ∝ flow^−0.8.
double convective_resistance_scale(double flow_multiplier);

// Thermal parameters of one GPU and its rack's local ambient for a cooling kind. The GPU's ambient is
// the rack node: inlet air (air; rises with hot-air recirculation), coolant at the cold plates (direct
// liquid; warms along the manifold) or the tank's bulk fluid (immersion). The rack node's own ambient
// is the plant's supply temperature.
struct ThermalDefaults {
  double gpu_resistance_k_per_w;   // die to local ambient at design flow
  double gpu_time_constant_s;      // heatsink / cold plate time constant
  double rack_rise_k_per_kw;       // rise of the rack node over supply per kW of rack heat
  double rack_time_constant_s;
};
// An RC node for a GPU or a rack, at `initial_c`, from the defaults.
RcNode gpu_node(const ThermalDefaults& defaults, double initial_c);
RcNode rack_node(const ThermalDefaults& defaults, double initial_c);
ThermalDefaults thermal_defaults(CoolingKind kind);
// Temperature the GPU's ambient is held at by the plant: supply air, or the liquid supply.
double cooling_supply_c(const CoolingPlant& plant);

// Clock fraction left by thermal throttling: 1 up to `start_c`, falling linearly to
// `min_clock_fraction` at `full_c` and held there above it.
struct ThrottleModel {
  double start_c = 87;              // H100 SXM maximum operating temperature
  double full_c = 92;               // H100 SXM shutdown temperature
  double min_clock_fraction = 0.6;  // throttling removes up to 40% of the clock
};
double throttle_clock_fraction(const ThrottleModel& model, double gpu_temperature_c);

struct CoolingCommand {
  double flow_multiplier = 1.0;  // airflow / coolant flow relative to design
  bool boosted = false;          // high fan / liquid active
};

// The seeds' ThermalController: temperature above 75 °C or load above 80% -> high fan, liquid active.
struct SeedThermalController {
  double temperature_threshold_c = 75;
  double load_threshold = 0.8;
  double high_flow_multiplier = 1.3;
  CoolingCommand decide(double hottest_gpu_c, double gpu_load) const;
};

// Proportional control: flow = 1 + gain·(T − setpoint), clipped to [min_flow, max_flow].
struct ProportionalController {
  double setpoint_c = 75;
  double gain_per_k = 0.05;
  double min_flow = 0.7;
  double max_flow = 1.3;
  CoolingCommand decide(double hottest_gpu_c) const;
};

}  // namespace aidc::facility
