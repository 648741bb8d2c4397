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
#include "perf/model_factory.hpp"
#include "platform/layout.hpp"
#include "serving/messages.hpp"
#include "serving/facility_runtime.hpp"

namespace aidc {

namespace {

SchedulerLimits limits_of(const DeploymentSpec& d, const MemoryPlan& memory, const Catalog& catalog) {
  SchedulerLimits limits;
  limits.max_batch_sequences = d.max_batch_sequences;
  limits.max_batch_tokens = d.max_batch_tokens;
  limits.chunked_prefill_tokens = d.chunked_prefill_tokens;
  limits.kv_block_tokens = d.kv_block_tokens;
  limits.kv_blocks = memory.kv_blocks;
  limits.max_context = catalog.model(d.model)->max_position;
  limits.shortest_prompt_first = d.scheduler == SchedulerPolicy::ShortestPromptFirst;
  return limits;
}

}  // namespace

SchedulerLimits scheduler_limits(const Scenario& scenario, const Catalog& catalog) {
  return limits_of(scenario.deployment, scenario.memory, catalog);
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
  const StartState empty;
  const StartState& start = setup.start ? *setup.start : empty;
  const std::optional<Disaggregation>& pools = scenario.disaggregation;
  if (pools && (!start.requests.empty() || !start.down.empty()))
    throw std::invalid_argument("start state: a run of a disaggregated deployment starts empty");

  // Each replica's batch limits, step times and KV hand-over: one pool, or prefill then decode.
  struct ReplicaSetup {
    SchedulerLimits limits;
    const PerformanceModel* performance;
    double kv_bytes_per_token;
  };
  std::vector<ReplicaSetup> setups;
  std::unique_ptr<PerformanceModel> own_decode_model;
  std::vector<ReplicaPlacement> placements;
  des::NetworkLayout network;
  if (pools) {
    const PerformanceModel* decode_model = setup.decode_performance;
    if (!decode_model) decode_model = (own_decode_model = make_pool_performance_model(scenario, catalog, pools->decode)).get();
    const double kv_bytes_per_token = catalog.model(d.model)->kv_bytes_per_token(bytes_per_value(d.kv_cache_precision));
    setups.assign(static_cast<std::size_t>(pools->prefill.deployment.replicas),
                  {limits_of(pools->prefill.deployment, pools->prefill.memory, catalog), &performance, kv_bytes_per_token});
    setups.insert(setups.end(), static_cast<std::size_t>(pools->decode.deployment.replicas),
                  {limits_of(pools->decode.deployment, pools->decode.memory, catalog), decode_model, 0});
    const PoolPlacement placement = place_pools(scenario.datacenter, *pools, catalog);
    placements = placement.replicas;
    network = make_kv_network_layout(scenario.datacenter, placement, catalog);
  } else {
    setups.assign(static_cast<std::size_t>(d.replicas), {scheduler_limits(scenario, catalog), &performance, 0});
    placements = place_replicas(scenario.datacenter, *catalog.server(scenario.datacenter.server_type), d);
    network = make_network_layout(scenario.datacenter);
  }
  const int replica_count = static_cast<int>(setups.size());

  RunRecord record(TimeSeries(scenario.simulation.timeseries_interval_s, end, replica_count));
  for (const ReplicaSetup& r : setups) record.kv_blocks_per_replica.push_back(r.limits.kv_blocks);
  std::optional<FacilityRuntime> facility;
  if (scenario.facility) facility.emplace(scenario, catalog, placements);
  RunRecorder recorder(record, facility ? &*facility : nullptr, replica_count);

  des::Simulation simulation;
  const des::Platform platform = simulation.build(network);
  std::vector<std::shared_ptr<ReplicaActor>> replicas;
  for (int r = 0; r < replica_count; ++r) {
    const ReplicaSetup& rs = setups[static_cast<std::size_t>(r)];
    replicas.push_back(std::make_shared<ReplicaActor>(r, rs.limits, *rs.performance, scenario.simulation.fast_forward, end, recorder,
                                                      rs.kv_bytes_per_token));
  }

  // The start state: requests become rows 0, 1, ... of the record, held by their replicas.
  std::vector<int> outstanding(static_cast<std::size_t>(replica_count), 0), down;
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
        std::make_shared<BalancerActor>(scenario.load_balancer, replica_count, scenario.simulation.seed, retries, recorder,
                                        outstanding, down, pools ? pools->decode.deployment.replicas : 0));
  for (int r = 0; r < replica_count; ++r) {
    const ReplicaPlacement& p = placements[static_cast<std::size_t>(r)];
    spawn(simulation, replica_inbox(r), platform.servers[static_cast<std::size_t>(p.rack)][static_cast<std::size_t>(p.server)],
          replicas[static_cast<std::size_t>(r)]);
  }
  if (facility) {
    const FailureSpec& failures = scenario.facility->failures;
    std::vector<FailingReplica> failing;
    for (int r = 0; r < replica_count; ++r)
      failing.push_back({(pools ? pools->pool_of(r).deployment : d).gpus_per_replica(), failures.repair_s + facility->weight_reload_s(r)});
    spawn(simulation, "failures", platform.balancer,
          std::make_shared<FailureActor>(failures, scripted_failures(failures, placements), failing, end, scenario.simulation.seed));
  }
  spawn(simulation, "monitor", platform.balancer, std::make_shared<MonitorActor>(recorder, end, setup.progress), false);
  simulation.run_until(end);
  if (facility) facility->finish(record, recorder.work_done(), recorder.serving());
  record.simulated_s = end;
  record.work_done = recorder.work_done();
  record.events = simulation.events();
  record.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  // After the run: a description reports extrapolation counts.
  record.performance_model = pools ? "prefill: " + performance.description() + "; decode: " + setups.back().performance->description()
                                   : performance.description();
  return record;
}

}  // namespace aidc
