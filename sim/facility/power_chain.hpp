#pragma once
// Electrical path from the utility to the IT load: UPS, PDUs/transformers, lighting and other
// building loads; breaker limits. All powers in kW.

namespace aidc::facility {

// UPS losses as a share of rated power: no-load + proportional·x + square-law·x², x = load / rating
// (Rasmussen, "Electrical Efficiency Modeling for Data Centers", APC/Schneider White Paper 113).
struct UpsModel {
  double rated_kw = 0;              // installed capacity (2N: twice the design load)
  double no_load_loss = 0.005;      // fraction of rated_kw, lost even at zero load
  double proportional_loss = 0.02;  // fraction of rated_kw at full load, linear in load
  double square_law_loss = 0.005;   // fraction of rated_kw at full load, grows with load²
};

// Loss in kW when the UPS delivers `output_kw`; throws if rated_kw <= 0.
double ups_loss_kw(const UpsModel& ups, double output_kw);
// output / (output + loss); 0 at zero load.
double ups_efficiency(const UpsModel& ups, double output_kw);

struct PowerChainModel {
  UpsModel ups;
  // Transformers, PDUs and cabling after the UPS: loss = IT·r/(1 − r) (Lei & Masanet 2020, 0–2%).
  double distribution_loss_ratio = 0.015;
  // Lighting and other building loads in the hall, as a share of IT power (Lei & Masanet 2020: 0–0.2%).
  double lighting_other_ratio = 0.002;
};

struct ElectricalLosses {
  double distribution_loss_kw = 0;
  double ups_loss_kw = 0;
  double lighting_other_kw = 0;
  double total_kw() const { return distribution_loss_kw + ups_loss_kw + lighting_other_kw; }
};

// Losses for an IT load; every loss ends up as heat the hall's cooling must remove.
ElectricalLosses electrical_losses(const PowerChainModel& chain, double it_kw);

// Continuous-load limit of a breaker: 80% of its rating (NEC 210.19/215.2: conductors and breakers
// sized at 125% of the continuous load).
inline constexpr double kBreakerContinuousFraction = 0.8;
double breaker_continuous_limit_kw(double rated_kw);

struct BreakerCheck {
  double load_kw = 0;
  double limit_kw = 0;
  double utilization = 0;  // load / limit
  bool over_limit = false;
};
BreakerCheck check_breaker(double load_kw, double rated_kw);

}  // namespace aidc::facility
