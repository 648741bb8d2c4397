#pragma once
// Random draws for the workload: request lengths, open-loop inter-arrival times, think times.
// One seeded generator per stream keeps runs reproducible.
#include <random>

#include "scenario/scenario.hpp"

namespace aidc {

using Rng = std::mt19937_64;

class LengthSampler {
 public:
  explicit LengthSampler(const LengthDistribution& distribution);
  int sample(Rng& rng);

 private:
  LengthDistribution d_;
  std::lognormal_distribution<double> lognormal_;
  std::discrete_distribution<std::size_t> empirical_;
};

// Arrival times of an open-loop process whose rate follows the schedule.
// Poisson: exact non-homogeneous process by thinning (Lewis & Shedler 1979).
// Gamma: renewal process with the requested coefficient of variation at the current rate.
class ArrivalProcess {
 public:
  // Arrivals stop at `end_s` (the run's duration): thinning under a rate far below the schedule's peak
  // (a last step of 1e-9/s after 100/s) would otherwise draw ~10¹¹ candidates for the next one.
  ArrivalProcess(const WorkloadSpec& workload, double end_s);
  // The next arrival strictly after `now`; +infinity when the rate stays zero from now on or none
  // comes before end_s.
  double next_after(double now, Rng& rng);

 private:
  double next_positive_rate_time(double t) const;
  const RateSchedule schedule_;
  const bool gamma_;
  const double shape_;  // gamma shape k = 1 / cv^2
  const double end_s_;
};

double sample_think_time(const WorkloadSpec& workload, Rng& rng);

}  // namespace aidc
