#include "facility/facility.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace aidc::facility {

EnergyBalance hall_balance(const HallModel& hall, double it_kw, const Weather& outdoor, double flow_multiplier) {
  EnergyBalance balance;
  balance.it_kw = it_kw;
  balance.losses = electrical_losses(hall.power, it_kw);
  balance.cooling = cooling_power(hall.cooling, HeatLoad{it_kw, balance.losses.total_kw()}, outdoor, flow_multiplier);
  return balance;
}

PowerTotals& PowerTotals::operator+=(const PowerTotals& other) {
  it_kw += other.it_kw;
  losses_kw += other.losses_kw;
  cooling_kw += other.cooling_kw;
  return *this;
}

PowerTotals totals(const EnergyBalance& balance) {
  return PowerTotals{balance.it_kw, balance.losses.total_kw(), balance.cooling.total_kw()};
}

void PueTracker::add(double start_s, double duration_s, const PowerTotals& power) {
  if (duration_s < 0) throw std::invalid_argument("PueTracker::add: negative duration");
  if (duration_s == 0) return;
  const double hours = duration_s / 3600;
  sums_.it_kwh += power.it_kw * hours;
  sums_.losses_kwh += power.losses_kw * hours;
  sums_.cooling_kwh += power.cooling_kw * hours;
  sums_.facility_kwh += power.facility_kw() * hours;
  sums_.it_kw_peak = std::max(sums_.it_kw_peak, power.it_kw);
  duration_s_ += duration_s;
  if (power.it_kw > 0) pue_time_integral_ += power.facility_kw() / power.it_kw * duration_s;

  // Split the interval across the clock hours it touches.
  double t = start_s;
  const double end = start_s + duration_s;
  while (t < end) {
    const long hour = static_cast<long>(std::floor(t / 3600));
    const double hour_end = std::min(end, (hour + 1) * 3600.0);
    HourPue& bucket = hours_[hour];
    bucket.duration_s += hour_end - t;
    if (power.it_kw > 0) bucket.pue_time_integral += power.facility_kw() / power.it_kw * (hour_end - t);
    t = hour_end;
  }
}

PueSummary PueTracker::summary(double target_pue) const {
  PueSummary s = sums_;
  if (duration_s_ <= 0) return s;
  const double hours = duration_s_ / 3600;
  s.it_kw_mean = s.it_kwh / hours;
  s.facility_kw_mean = s.facility_kwh / hours;
  s.pue_mean = pue_time_integral_ / duration_s_;
  s.pue_energy_weighted = s.it_kwh > 0 ? s.facility_kwh / s.it_kwh : 0;
  s.cooling_share = s.facility_kwh > 0 ? s.cooling_kwh / s.facility_kwh : 0;
  for (const auto& [hour, bucket] : hours_) {
    if (bucket.pue_time_integral <= 0) continue;
    const double pue = bucket.pue_time_integral / bucket.duration_s;
    if (pue > s.pue_worst_hour) {
      s.pue_worst_hour = pue;
      s.worst_hour_start_s = hour * 3600.0;
    }
    if (pue > target_pue) s.hours_above_target += 1;
  }
  return s;
}

double annualized_pue(const std::vector<HallLoad>& halls, const WeatherSeries& weather) {
  double it_kwh = 0, facility_kwh = 0;
  for (int hour = 0; hour < static_cast<int>(kHoursPerYear); ++hour) {
    const Weather outdoor = weather.at(hour);
    for (const auto& load : halls) {
      const EnergyBalance balance = hall_balance(load.hall, load.it_kw, outdoor);
      it_kwh += balance.it_kw;
      facility_kwh += balance.facility_kw();
    }
  }
  return it_kwh > 0 ? facility_kwh / it_kwh : 0;
}

}  // namespace aidc::facility
