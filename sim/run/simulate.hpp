#pragma once
// Runs one scenario on the SimGrid engine: builds the platform, composes the actors (sim/actors:
// client, balancer, one replica each, failure injector, monitor) and returns what they recorded.
// One call per process: SimGrid allows a single engine.
#include <limits>
#include <vector>

#include "actors/monitor.hpp"
#include "actors/replica.hpp"
#include "catalog/catalog.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"
#include "serving/metrics.hpp"
#include "workload/source.hpp"

namespace aidc {

// What the deployment holds when the run starts (a snapshot: the live twin forecasts from now).
struct StartState {
  struct HeldBy {
    int replica = 0;
    HeldRequest held;  // its request.id is set by simulate(): the start requests are 0, 1, ... in order
    double arrival_s = 0;  // when it arrived (before the start: negative)
    double first_token_s = std::numeric_limits<double>::quiet_NaN();  // when its first token reached the client
  };
  struct Down {
    int replica = 0;
    double serving_again_s = 0;
  };
  std::vector<HeldBy> requests;  // per replica in the order it admitted them; KV use follows from their progress
  std::vector<Down> down;        // no request may be held by a replica that is down
};

struct RunSetup {
  const StartState* start = nullptr;  // null: empty
  WorkloadSource* workload = nullptr;  // null: the scenario's workload
  ProgressSink* progress = nullptr;
  // Disaggregated: the decode pool's model (null: made from the scenario); `performance` is the prefill pool's.
  const PerformanceModel* decode_performance = nullptr;
};

// A replica's scheduler limits, from the scenario's deployment and model (the live twin's mirror uses the same).
SchedulerLimits scheduler_limits(const Scenario& scenario, const Catalog& catalog);

// std::invalid_argument when the start state cannot be (a replica out of range, progress no run
// reaches, more KV than a replica has, or any for a disaggregated deployment). Disaggregated, replicas
// 0 … P−1 are the prefill pool and P … P+D−1 the decode pool.
RunRecord simulate(const Scenario& scenario, const Catalog& catalog, const PerformanceModel& performance,
                   const RunSetup& setup = {});

}  // namespace aidc
