#include "serving/load_balancer.hpp"

#include <algorithm>

namespace aidc {

// SplitMix64 finalizer: a fast, well-mixed 64-bit hash (Steele, Lea & Flood 2014).
std::uint64_t mix_hash(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

LoadBalancer::LoadBalancer(const LoadBalancerSpec& spec, int replicas, std::uint64_t seed)
    : spec_(spec),
      outstanding_(static_cast<std::size_t>(replicas), 0),
      up_(static_cast<std::size_t>(replicas), true),
      streak_(static_cast<std::size_t>(replicas), 0),
      up_count_(replicas),
      rng_(seed) {
  load_stamp_.assign(static_cast<std::size_t>(replicas), 0);
  for (int r = 0; r < replicas; ++r) by_load_.emplace(0, load_stamp_[static_cast<std::size_t>(r)] = clock_++, r);
  if (spec.policy == BalancerPolicy::ConsistentHash) {
    for (int r = 0; r < replicas; ++r)
      for (int v = 0; v < spec.virtual_nodes; ++v)
        ring_.emplace_back(mix_hash((static_cast<std::uint64_t>(r) << 32) | static_cast<std::uint64_t>(v)), r);
    std::sort(ring_.begin(), ring_.end());
  }
}

int LoadBalancer::choose(const Request& request) {
  if (up_count_ == 0) return -1;
  switch (spec_.policy) {
    case BalancerPolicy::RoundRobin: return next_round_robin();
    case BalancerPolicy::LeastOutstanding: return least_outstanding();
    case BalancerPolicy::ConsistentHash: return consistent_hash(request.session);
    case BalancerPolicy::PowerOfTwoChoices: return power_of_two();
  }
  return next_round_robin();
}

int LoadBalancer::next_round_robin() {
  while (true) {
    const auto r = cursor_++ % up_.size();
    if (up_[r]) return static_cast<int>(r);
  }
}

void LoadBalancer::change_outstanding(int replica, int delta) {
  const auto r = static_cast<std::size_t>(replica);
  if (up_[r]) by_load_.erase({outstanding_[r], load_stamp_[r], replica});
  outstanding_[r] += delta;
  load_stamp_[r] = clock_++;
  if (up_[r]) by_load_.emplace(outstanding_[r], load_stamp_[r], replica);
}

// Fewest requests in flight; among equals the replica whose count changed longest ago.
int LoadBalancer::least_outstanding() { return std::get<2>(*by_load_.begin()); }

int LoadBalancer::consistent_hash(std::uint64_t key) const {
  const std::uint64_t point = mix_hash(key ^ 0x5bd1e995ULL);
  auto it = std::lower_bound(ring_.begin(), ring_.end(), std::make_pair(point, -1));
  for (std::size_t step = 0; step < ring_.size(); ++step, ++it) {
    if (it == ring_.end()) it = ring_.begin();
    if (up_[static_cast<std::size_t>(it->second)]) return it->second;
  }
  return -1;
}

// Two distinct replicas drawn at random among those up; the one with fewer requests in flight wins.
int LoadBalancer::power_of_two() {
  std::uniform_int_distribution<std::size_t> pick(0, up_.size() - 1);
  std::size_t a = pick(rng_);
  while (!up_[a]) a = pick(rng_);
  if (up_count_ == 1) return static_cast<int>(a);
  std::size_t b = pick(rng_);
  while (b == a || !up_[b]) b = pick(rng_);
  return static_cast<int>(outstanding_[b] < outstanding_[a] ? b : a);
}

void LoadBalancer::record_check(int replica, bool healthy) {
  const auto r = static_cast<std::size_t>(replica);
  if (healthy == up_[r]) {
    streak_[r] = 0;
    return;
  }
  ++streak_[r];
  if (streak_[r] >= (up_[r] ? spec_.health_check.fall : spec_.health_check.rise)) {
    up_[r] = healthy;
    up_count_ += healthy ? 1 : -1;
    if (healthy)
      by_load_.emplace(outstanding_[r], load_stamp_[r], replica);
    else
      by_load_.erase({outstanding_[r], load_stamp_[r], replica});
    streak_[r] = 0;
  }
}

}  // namespace aidc
