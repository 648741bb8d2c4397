#include "workload/generators.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace aidc {

LengthSampler::LengthSampler(const LengthDistribution& d)
    : d_(d),
      // Parameterised by the mean of the lengths: mu = ln(mean) - sigma^2 / 2.
      lognormal_(std::log(d.mean) - d.sigma * d.sigma / 2.0, d.sigma),
      empirical_(d.weights.begin(), d.weights.end()) {}

int LengthSampler::sample(Rng& rng) {
  double value = d_.value;
  switch (d_.kind) {
    case LengthDistribution::Kind::Fixed: break;
    case LengthDistribution::Kind::Uniform:
      value = std::uniform_int_distribution<long long>(static_cast<long long>(d_.min), static_cast<long long>(d_.max))(rng);
      break;
    case LengthDistribution::Kind::LogNormal: value = std::clamp(std::round(lognormal_(rng)), d_.min, d_.max); break;
    case LengthDistribution::Kind::Empirical: value = d_.samples[empirical_(rng)]; break;
  }
  return std::max(1, static_cast<int>(value));
}

ArrivalProcess::ArrivalProcess(const WorkloadSpec& w, double end_s)
    : schedule_(w.schedule), gamma_(w.arrival == "gamma"), shape_(1.0 / (w.burstiness * w.burstiness)), end_s_(end_s) {}

double ArrivalProcess::next_positive_rate_time(double t) const {
  if (schedule_.rate_at(t) > 0) return t;
  if (schedule_.kind == RateSchedule::Kind::Steps)
    for (const auto& step : schedule_.steps)
      if (step.at_s > t && step.rate_per_s > 0) return step.at_s;
  return std::numeric_limits<double>::infinity();
}

double ArrivalProcess::next_after(double now, Rng& rng) {
  double t = next_positive_rate_time(now);
  if (t > end_s_) return std::numeric_limits<double>::infinity();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (gamma_) {
    const double rate = schedule_.rate_at(t);
    return t + std::gamma_distribution<double>(shape_, 1.0 / (shape_ * rate))(rng);
  }
  const double peak = schedule_.max_rate();
  while (true) {
    t += std::exponential_distribution<double>(peak)(rng);
    if (t > end_s_) return std::numeric_limits<double>::infinity();
    const double rate = schedule_.rate_at(t);
    if (rate <= 0) {
      t = next_positive_rate_time(t);
      if (t > end_s_) return std::numeric_limits<double>::infinity();
      continue;
    }
    if (unit(rng) * peak <= rate) return t;
  }
}

double sample_think_time(const WorkloadSpec& w, Rng& rng) {
  if (w.think_time_s <= 0) return 0.0;
  if (w.think_distribution == "fixed") return w.think_time_s;
  return std::exponential_distribution<double>(1.0 / w.think_time_s)(rng);
}

}  // namespace aidc
