#include "facility/power_chain.hpp"

#include <stdexcept>

namespace aidc::facility {

double ups_loss_kw(const UpsModel& ups, double output_kw) {
  if (ups.rated_kw <= 0) throw std::invalid_argument("UPS rated_kw must be > 0");
  const double x = output_kw / ups.rated_kw;
  return ups.rated_kw * (ups.no_load_loss + ups.proportional_loss * x + ups.square_law_loss * x * x);
}

double ups_efficiency(const UpsModel& ups, double output_kw) {
  if (output_kw <= 0) return 0;
  return output_kw / (output_kw + ups_loss_kw(ups, output_kw));
}

ElectricalLosses electrical_losses(const PowerChainModel& chain, double it_kw) {
  ElectricalLosses losses;
  const double r = chain.distribution_loss_ratio;
  losses.distribution_loss_kw = it_kw * r / (1 - r);
  // The UPS feeds the distribution, so it carries the IT load plus the distribution loss.
  losses.ups_loss_kw = ups_loss_kw(chain.ups, it_kw + losses.distribution_loss_kw);
  losses.lighting_other_kw = it_kw * chain.lighting_other_ratio;
  return losses;
}

double breaker_continuous_limit_kw(double rated_kw) { return rated_kw * kBreakerContinuousFraction; }

BreakerCheck check_breaker(double load_kw, double rated_kw) {
  BreakerCheck check;
  check.load_kw = load_kw;
  check.limit_kw = breaker_continuous_limit_kw(rated_kw);
  check.utilization = check.limit_kw > 0 ? load_kw / check.limit_kw : 0;
  check.over_limit = load_kw > check.limit_kw;
  return check;
}

}  // namespace aidc::facility
