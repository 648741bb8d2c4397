#pragma once
// Runs one scenario on the SimGrid engine: builds the platform, starts the actors (workload
// client, load balancer, one scheduler per replica, a monitor) and returns what they recorded.
// One call per process: SimGrid allows a single engine.
#include "catalog/catalog.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"
#include "serving/metrics.hpp"

namespace aidc {

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void update(double simulated_s, double total_s) = 0;
};

RunRecord simulate_cluster(const Scenario& scenario, const Catalog& catalog, const PerformanceModel& performance,
                           ProgressSink* progress);

}  // namespace aidc
