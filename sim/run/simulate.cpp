#include "run/simulate.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "actors/balancer.hpp"
#include "actors/client.hpp"
#include "actors/failure_injector.hpp"
#include "actors/recorder.hpp"
#include "des/des.hpp"
#include "platform/layout.hpp"
#include "serving/messages.hpp"
#include "serving/facility_runtime.hpp"

namespace aidc {

SchedulerLimits scheduler_limits(const Scenario& scenario, const Catalog& catalog) {
  const DeploymentSpec& d = scenario.deployment;
  SchedulerLimits limits;
  limits.max_batch_sequences = d.max_batch_sequences;
  limits.max_batch_tokens = d.max_batch_tokens;
  limits.chunked_prefill_tokens = d.chunked_prefill_tokens;
  limits.kv_block_tokens = d.kv_block_tokens;
  limits.kv_blocks = scenario.memory.kv_blocks;
  limits.max_context = catalog.model(d.model)->max_position;
  limits.shortest_prompt_first = d.scheduler == SchedulerPolicy::ShortestPromptFirst;
  return limits;
}

namespace {

void check_replica(int replica, int replicas, const char* what) {
  if (replica < 0 || replica >= replicas)
    throw std::invalid_argument(std::string("start state: ") + what + " names replica " + std::to_string(replica) +
                                "; the deployment has " + std::to_string(replicas));
}

// Actors own mailboxes (not copyable); the engine keeps a shared handle to each. The monitor alone
// lives until the end of the simulated time; the others serve until stopped.
template <typename Actor>
void spawn(des::Simulation& simulation, const std::string& name, des::HostRef host, std::shared_ptr<Actor> actor,
           bool daemon = true) {
  simulation.spawn(name, host, [actor] { (*actor)(); }, daemon);
}

}  // namespace

RunRecord simulate(const Scenario& scenario, const Catalog& catalog, const PerformanceModel& performance,
                   const RunSetup& setup) {
  const auto wall_start = std::chrono::steady_clock::now();
  const DeploymentSpec& d = scenario.deployment;
  const double end = scenario.simulation.duration_s;
  const ServerSpec& server = *catalog.server(scenario.datacenter.server_type);
  const StartState empty;
  const StartState& start = setup.start ? *setup.start : empty;

  RunRecord record(TimeSeries(scenario.simulation.timeseries_interval_s, end, d.replicas));
  record.kv_blocks_per_replica.assign(static_cast<std::size_t>(d.replicas), scenario.memory.kv_blocks);
  const auto placements = place_replicas(scenario.datacenter, server, d);
  std::optional<FacilityRuntime> facility;
  if (scenario.facility) facility.emplace(scenario, catalog, placements, scenario.memory.weight_bytes_per_gpu);
  RunRecorder recorder(record, facility ? &*facility : nullptr, d.replicas);

  des::Simulation simulation;
  const des::Platform platform = simulation.build(make_network_layout(scenario.datacenter));
  const SchedulerLimits limits = scheduler_limits(scenario, catalog);
  std::vector<std::shared_ptr<ReplicaActor>> replicas;
  for (int r = 0; r < d.replicas; ++r)
    replicas.push_back(std::make_shared<ReplicaActor>(r, limits, performance, scenario.simulation.fast_forward, end, recorder));

  // The start state: requests become rows 0, 1, ... of the record, held by their replicas.
  std::vector<int> outstanding(static_cast<std::size_t>(d.replicas), 0), down;
  for (const StartState::Down& gone : start.down) {
    check_replica(gone.replica, d.replicas, "a down replica");
    replicas[static_cast<std::size_t>(gone.replica)]->down_until(gone.serving_again_s);
    down.push_back(gone.replica);
  }
  for (const StartState::HeldBy& held : start.requests) {
    check_replica(held.replica, d.replicas, "a request");
    for (const StartState::Down& gone : start.down)
      if (gone.replica == held.replica)
        throw std::invalid_argument("start state: replica " + std::to_string(held.replica) + " is down but holds a request");
    HeldRequest h = held.held;
    h.request.id = record.requests.size();
    replicas[static_cast<std::size_t>(held.replica)]->hold(h);
    ++outstanding[static_cast<std::size_t>(held.replica)];
    RequestRecord row;
    row.arrival_s = held.arrival_s;
    row.first_token_s = held.first_token_s;
    row.prompt_tokens = h.request.prompt_tokens;
    row.output_tokens = h.request.max_output_tokens;
    row.replica = held.replica;
    record.requests.push_back(row);
  }

  std::unique_ptr<WorkloadSource> own_workload;
  WorkloadSource* workload = setup.workload;
  if (!workload) workload = (own_workload = make_workload_source(scenario.workload, scenario.simulation.seed, end)).get();
  const int retries = scenario.facility ? scenario.facility->failures.retries : 0;

  spawn(simulation, "client", platform.users, std::make_shared<ClientActor>(*workload, recorder, end, record.requests.size()));
  spawn(simulation, "balancer", platform.balancer,
        std::make_shared<BalancerActor>(scenario.load_balancer, d.replicas, scenario.simulation.seed, retries, recorder,
                                        outstanding, down));
  for (int r = 0; r < d.replicas; ++r) {
    const ReplicaPlacement& p = placements[static_cast<std::size_t>(r)];
    spawn(simulation, replica_inbox(r), platform.servers[static_cast<std::size_t>(p.rack)][static_cast<std::size_t>(p.server)],
          replicas[static_cast<std::size_t>(r)]);
  }
  if (facility) {
    const FailureSpec& failures = scenario.facility->failures;
    spawn(simulation, "failures", platform.balancer,
          std::make_shared<FailureActor>(failures, scripted_failures(failures, placements), d.replicas, d.gpus_per_replica(),
                                         failures.repair_s + facility->weight_reload_s(), end, scenario.simulation.seed));
  }
  spawn(simulation, "monitor", platform.balancer, std::make_shared<MonitorActor>(recorder, end, setup.progress), false);
  simulation.run_until(end);
  if (facility) facility->finish(record, recorder.work_done(), recorder.serving());
  record.simulated_s = end;
  record.work_done = recorder.work_done();
  record.events = simulation.events();
  record.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  record.performance_model = performance.description();  // after the run: it reports extrapolation counts
  return record;
}

}  // namespace aidc
