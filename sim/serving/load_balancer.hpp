#pragma once
// Request routing among replicas, as plain data. Policies follow HAProxy (`balance roundrobin`,
// `leastconn`, `hash-type consistent`) and power-of-two-choices (Mitzenmacher 2001). Health follows
// HAProxy `check inter/fall/rise`: a replica is marked down after `fall` failed checks in a row and
// back up after `rise` good ones.
#include <cstdint>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "scenario/scenario.hpp"
#include "core/serving/request.hpp"

namespace aidc {

class LoadBalancer {
 public:
  LoadBalancer(const LoadBalancerSpec& spec, int replicas, std::uint64_t seed);

  // The replica for this request, or -1 when none is up.
  int choose(const Request& request);
  void on_dispatched(int replica) { change_outstanding(replica, +1); }
  void on_completed(int replica) { change_outstanding(replica, -1); }
  int outstanding(int replica) const { return outstanding_[static_cast<std::size_t>(replica)]; }

  void record_check(int replica, bool healthy);
  bool is_up(int replica) const { return up_[static_cast<std::size_t>(replica)]; }
  int replicas() const { return static_cast<int>(up_.size()); }

 private:
  void change_outstanding(int replica, int delta);
  int next_round_robin();
  int least_outstanding();
  int consistent_hash(std::uint64_t key) const;
  int power_of_two();

  LoadBalancerSpec spec_;
  std::vector<int> outstanding_;
  std::vector<bool> up_;
  std::vector<int> streak_;  // consecutive checks contradicting the current state
  int up_count_;
  std::vector<std::pair<std::uint64_t, int>> ring_;  // (point, replica), sorted
  // least_outstanding: replicas that are up ordered by (outstanding, last change), so the least loaded
  // comes first and, among equals, the one unchanged longest (HAProxy's leastconn tree does the same).
  std::set<std::tuple<int, std::uint64_t, int>> by_load_;
  std::vector<std::uint64_t> load_stamp_;
  std::uint64_t clock_ = 0;
  std::size_t cursor_ = 0;
  std::mt19937_64 rng_;
};

std::uint64_t mix_hash(std::uint64_t x);

}  // namespace aidc
