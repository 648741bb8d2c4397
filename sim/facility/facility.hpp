#pragma once
// One hall = its power chain + its cooling plant. Per interval: IT kW + weather -> an energy balance
// whose line items add up to the facility power, and the PUE that follows from it (never an input).
#include <map>
#include <string>
#include <vector>

#include "facility/cooling.hpp"
#include "facility/power_chain.hpp"
#include "facility/weather.hpp"

namespace aidc::facility {

struct HallModel {
  std::string name;
  PowerChainModel power;
  CoolingPlant cooling;
};

// Instantaneous power flows of one hall, kW. Mechanical (cooling) loads are fed outside the UPS.
struct EnergyBalance {
  double it_kw = 0;
  ElectricalLosses losses;
  CoolingPower cooling;
  double facility_kw() const { return it_kw + losses.total_kw() + cooling.total_kw(); }
  double pue() const { return it_kw > 0 ? facility_kw() / it_kw : 0; }
};

// `flow_multiplier`: the cooling controller's command (1 = design airflow / coolant flow).
EnergyBalance hall_balance(const HallModel& hall, double it_kw, const Weather& outdoor,
                           double flow_multiplier = 1.0);

// Sums over halls (or over a whole site) for reports and aggregation.
struct PowerTotals {
  double it_kw = 0;
  double losses_kw = 0;
  double cooling_kw = 0;
  double facility_kw() const { return it_kw + losses_kw + cooling_kw; }
  PowerTotals& operator+=(const PowerTotals& other);
};
PowerTotals totals(const EnergyBalance& balance);

struct PueSummary {
  double it_kwh = 0;
  double losses_kwh = 0;
  double cooling_kwh = 0;
  double facility_kwh = 0;
  double it_kw_mean = 0;
  double it_kw_peak = 0;
  double facility_kw_mean = 0;
  double pue_mean = 0;             // time-weighted mean of the interval PUEs
  double pue_energy_weighted = 0;  // facility kWh / IT kWh over the simulated period
  double pue_worst_hour = 0;       // highest time-weighted PUE of any clock hour of simulated time (≥ pue_mean)
  double worst_hour_start_s = 0;
  double cooling_share = 0;        // cooling kWh / facility kWh
  double hours_above_target = 0;   // clock hours whose PUE exceeded the target
};

// Accumulates intervals of constant power (the event loop's steps) in simulated seconds.
class PueTracker {
 public:
  void add(double start_s, double duration_s, const PowerTotals& power);
  PueSummary summary(double target_pue) const;

 private:
  // A clock hour's PUE is the same statistic as the mean, over that hour: the time-weighted mean of
  // its intervals' PUEs. The mean over the run is a duration-weighted average of these, so the worst
  // hour is never below it (an energy-weighted hour can be: low-load intervals weigh little).
  struct HourPue {
    double duration_s = 0;
    double pue_time_integral = 0;
  };
  PueSummary sums_;
  double duration_s_ = 0;
  double pue_time_integral_ = 0;
  std::map<long, HourPue> hours_;
};

// A hall with the mean IT load it carried in the simulation.
struct HallLoad {
  HallModel hall;
  double it_kw = 0;
};

// Annualized PUE: each hall at its mean IT load through all 8760 hours of the weather year,
// Σ facility kWh / Σ IT kWh — so a one-hour summer run still reports what its design does over a year.
double annualized_pue(const std::vector<HallLoad>& halls, const WeatherSeries& weather);

}  // namespace aidc::facility
