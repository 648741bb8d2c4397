#pragma once
// Replica failures: when they happen (scripted, or drawn from a per-GPU MTBF) and the actor that
// delivers them. The replica that receives a ReplicaFailureMessage drops its work, hands its
// requests back to the balancer (sim/actors/replica), and serves again after repair and weight reload.
#include <memory>
#include <random>
#include <vector>

#include "des/des.hpp"
#include "platform/layout.hpp"
#include "scenario/facility_spec.hpp"

namespace aidc {

struct FailureEvent {
  double at_s = 0;
  int replica = 0;
};

// Scripted failures as replica events (a rack failure takes every replica placed on it), by time.
std::vector<FailureEvent> scripted_failures(const FailureSpec& spec, const std::vector<ReplicaPlacement>& placements);

// A replica as failures see it: the GPUs any of which takes it down, and how long it is then down
// (repair + weight reload).
struct FailingReplica {
  int gpus = 0;
  double down_s = 0;
};

// Sends each failure to its replica's inbox; with `random`, also draws failures per replica from an
// exponential distribution with rate GPUs / MTBF (a replica fails when any of its GPUs does), the
// next one after the replica is serving again.
class FailureActor {
 public:
  FailureActor(const FailureSpec& spec, std::vector<FailureEvent> scripted, std::vector<FailingReplica> replicas, double end_s,
               unsigned long long seed);
  void operator()();

 private:
  double next_failure_after(double t, int replica);

  std::vector<FailureEvent> events_;  // scripted, then drawn as the run goes
  const FailureSpec spec_;
  const std::vector<FailingReplica> failing_;
  const double end_s_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<des::Inbox>> replicas_;
};

}  // namespace aidc
