#include "serving/cluster.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <queue>
#include <type_traits>
#include <unordered_map>

#include "des/des.hpp"
#include "perf/memory_plan.hpp"
#include "platform/layout.hpp"
#include "serving/replica_scheduler.hpp"
#include "serving/facility_runtime.hpp"
#include "serving/failures.hpp"
#include "serving/load_balancer.hpp"
#include "serving/messages.hpp"
#include "workload/csv_input.hpp"
#include "workload/generators.hpp"

namespace aidc {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

std::string replica_inbox_name(int replica) { return "replica-" + std::to_string(replica); }

// State the actors share. Requests are data here; only messages cross the network.
struct Cluster {
  const Scenario& scenario;
  RunRecord& record;
  LoadBalancer balancer;
  Schedulers schedulers;
  std::vector<bool> replica_alive;
  long long responses = 0;  // requests whose outcome reached the client
  FacilityRuntime* facility = nullptr;  // power, thermal, failures; null without facility:/cost:
  std::unordered_map<std::uint64_t, int> redispatches = {};  // request id -> retries after a failure
};

class ClientActor {
 public:
  explicit ClientActor(Cluster& cluster)
      : c_(cluster),
        w_(cluster.scenario.workload),
        end_(cluster.scenario.simulation.duration_s),
        rng_(cluster.scenario.simulation.seed),
        prompts_(w_.prompt_tokens),
        outputs_(w_.output_tokens),
        arrivals_(w_),
        inbox_("clients"),
        balancer_("balancer") {}

  void operator()() {
    start();
    while (true) {
      const double due = next_due();
      if (auto message = inbox_.receive_until(due < end_ ? due : kInfinity)) {
        handle(*message, des::now());
        continue;
      }
      send_due();
    }
  }

 private:
  void start() {
    switch (w_.kind) {
      case WorkloadSpec::Kind::ClosedLoop:
        for (int user = 0; user < w_.users; ++user) {
          const double first = w_.ramp_up_s > 0 ? std::uniform_real_distribution<double>(0, w_.ramp_up_s)(rng_)
                                                : sample_think_time(w_, rng_);
          users_.push({first, user});
        }
        break;
      case WorkloadSpec::Kind::OpenLoop: next_open_ = arrivals_.next_after(0.0, rng_); break;
      case WorkloadSpec::Kind::Trace: trace_ = load_trace(w_.trace_file); break;
    }
  }

  double next_due() const {
    switch (w_.kind) {
      case WorkloadSpec::Kind::ClosedLoop: return users_.empty() ? kInfinity : users_.top().time;
      case WorkloadSpec::Kind::OpenLoop: return next_open_;
      case WorkloadSpec::Kind::Trace: return trace_next_ < trace_.size() ? trace_[trace_next_].arrival_s : kInfinity;
    }
    return kInfinity;
  }

  void send_due() {
    const double now = des::now();
    switch (w_.kind) {
      case WorkloadSpec::Kind::ClosedLoop:
        while (!users_.empty() && users_.top().time <= now) {
          const int user = users_.top().user;
          users_.pop();
          send(static_cast<std::uint64_t>(user), prompts_.sample(rng_), outputs_.sample(rng_), user);
        }
        break;
      case WorkloadSpec::Kind::OpenLoop:
        while (next_open_ <= now) {
          const auto session = std::uniform_int_distribution<std::uint64_t>(0, static_cast<std::uint64_t>(w_.sessions) - 1)(rng_);
          send(session, prompts_.sample(rng_), outputs_.sample(rng_), -1);
          next_open_ = arrivals_.next_after(next_open_, rng_);
        }
        break;
      case WorkloadSpec::Kind::Trace:
        while (trace_next_ < trace_.size() && trace_[trace_next_].arrival_s <= now) {
          const TraceRow& row = trace_[trace_next_++];
          send(row.session, row.prompt_tokens, row.output_tokens, -1);
        }
        break;
    }
  }

  void send(std::uint64_t session, int prompt, int output, int user) {
    Request request;
    request.id = c_.record.requests.size();
    request.session = session;
    request.prompt_tokens = prompt;
    request.max_output_tokens = output;
    request.user = user;
    RequestRecord row;
    row.arrival_s = des::now();
    row.prompt_tokens = prompt;
    row.output_tokens = output;
    c_.record.requests.push_back(row);
    c_.record.series.add_arrival(row.arrival_s);
    user_of_.push_back(user);
    balancer_.deliver(std::make_unique<RequestMessage>(request), request_bytes(request));
  }

  void handle(const des::Message& message, double now) {
    if (const auto* first = dynamic_cast<const FirstTokenMessage*>(&message)) {
      c_.record.requests[first->request_id].first_token_s = now;
      return;
    }
    const auto& done = dynamic_cast<const CompletionMessage&>(message);
    RequestRecord& row = c_.record.requests[done.request_id];
    row.status = done.status;
    row.finish_s = now;
    ++c_.responses;
    if (user_of_[done.request_id] >= 0)
      users_.push({now + sample_think_time(w_, rng_), user_of_[done.request_id]});
  }

  struct Wakeup {
    double time;
    int user;
    bool operator>(const Wakeup& o) const { return time > o.time || (time == o.time && user > o.user); }
  };

  Cluster& c_;
  const WorkloadSpec& w_;
  const double end_;
  Rng rng_;
  LengthSampler prompts_, outputs_;
  ArrivalProcess arrivals_;
  des::Inbox inbox_, balancer_;
  std::priority_queue<Wakeup, std::vector<Wakeup>, std::greater<>> users_;
  std::vector<int> user_of_;  // request id -> closed-loop user
  double next_open_ = kInfinity;
  std::vector<TraceRow> trace_;
  std::size_t trace_next_ = 0;
};

class BalancerActor {
 public:
  explicit BalancerActor(Cluster& cluster) : c_(cluster), inbox_("balancer"), clients_("clients") {
    for (std::size_t r = 0; r < cluster.schedulers.size(); ++r)
      replicas_.push_back(std::make_unique<des::Inbox>(replica_inbox_name(static_cast<int>(r))));
  }

  void operator()() {
    const double interval = c_.scenario.load_balancer.health_check.interval_s;
    double next_check = interval;
    while (true) {
      auto message = inbox_.receive_until(next_check);
      if (!message) {
        for (int r = 0; r < c_.balancer.replicas(); ++r)
          c_.balancer.record_check(r, c_.replica_alive[static_cast<std::size_t>(r)]);
        if (c_.facility) c_.facility->observe_health(c_.balancer, des::now());
        next_check += interval;
        continue;
      }
      auto& forwarded = dynamic_cast<RequestMessage&>(*message);
      const Request request = forwarded.request;
      const int replica = c_.balancer.choose(request);
      if (replica < 0) {  // HAProxy answers 503 when no server is up
        clients_.deliver(std::make_unique<CompletionMessage>(request.id, RequestStatus::Failed), kEnvelopeBytes);
        continue;
      }
      c_.balancer.on_dispatched(replica);
      c_.record.requests[request.id].replica = replica;
      replicas_[static_cast<std::size_t>(replica)]->deliver(std::move(message), request_bytes(request));
    }
  }

 private:
  Cluster& c_;
  des::Inbox inbox_, clients_;
  std::vector<std::unique_ptr<des::Inbox>> replicas_;
};

class ReplicaActor final : public ReplicaEvents {
 public:
  ReplicaActor(Cluster& cluster, int replica)
      : c_(cluster),
        replica_(replica),
        end_(cluster.scenario.simulation.duration_s),
        scheduler_(*cluster.schedulers[static_cast<std::size_t>(replica)]),
        inbox_(replica_inbox_name(replica)),
        clients_("clients") {}

  void operator()() {
    while (true) {
      while (auto message = inbox_.try_receive()) admit(*message);
      if (scheduler_.idle()) {
        admit(*inbox_.receive_until());
        continue;
      }
      const double start = des::now();
      const std::vector<double>& durations = scheduler_.plan(start, *this);
      boundaries_.clear();
      double t = start;
      for (double d : durations) boundaries_.push_back(t += d);
      // A fast-forward run stops at the end of the iteration in progress when a message arrives; an
      // iteration still running when the simulated time ends is not counted, in either mode.
      const double wake = std::min(boundaries_.back(), end_);
      std::unique_ptr<des::Message> message;
      if (boundaries_.size() == 1)
        des::sleep_until(wake);
      else
        message = inbox_.receive_until(wake);
      const double now = des::now();
      std::size_t done;  // iterations to apply
      if (message) {       // the iteration in progress (or ending right now) completes first
        done = static_cast<std::size_t>(std::lower_bound(boundaries_.begin(), boundaries_.end(), now) - boundaries_.begin()) + 1;
        done = std::min(done, boundaries_.size());
        des::sleep_until(boundaries_[done - 1]);
      } else {
        done = static_cast<std::size_t>(std::upper_bound(boundaries_.begin(), boundaries_.end(), now) - boundaries_.begin());
      }
      if (done > 0) scheduler_.apply(static_cast<int>(done), start, *this);
      if (message) admit(*message);
      if (des::now() >= end_) return;  // time is up: no further iteration can complete
    }
  }

  void on_first_token(const Request& request, double) override {
    clients_.deliver(std::make_unique<FirstTokenMessage>(request.id), first_token_bytes());
  }
  void on_finished(const Request& request, double) override { respond(request, RequestStatus::Completed); }
  void on_iteration(double start, double end, int prefill_tokens, int generated_tokens, long long kv_used) override {
    c_.record.series.add_busy(replica_, start, end,
                              static_cast<double>(kv_used) / static_cast<double>(scheduler_.scheduler().kv_blocks_total()));
    c_.record.series.add_tokens(end, prefill_tokens, generated_tokens);
    c_.record.max_kv_blocks_used = std::max(c_.record.max_kv_blocks_used, kv_used);
  }
  void on_preempted(const Request&, double) override { ++c_.record.preemptions; }

 private:
  void admit(const des::Message& message) {
    if (const auto* failure = dynamic_cast<const ReplicaFailureMessage*>(&message)) {
      fail_until(failure->serving_again_s);
      return;
    }
    const Request& request = dynamic_cast<const RequestMessage&>(message).request;
    if (scheduler_.can_never_fit(request))
      respond(request, RequestStatus::Rejected);
    else
      scheduler_.enqueue(request);
  }

  // The replica is down until `serving_again_s` (repair + weight reload): the requests it held, and
  // those the balancer still sends it until the health check takes it out, are handed back.
  void fail_until(double serving_again_s) {
    c_.replica_alive[static_cast<std::size_t>(replica_)] = false;
    const std::vector<Request> held = scheduler_.take_all();
    c_.facility->open_outage(replica_, des::now(), serving_again_s, static_cast<long long>(held.size()));
    for (const Request& request : held) hand_back(request);
    while (auto message = inbox_.receive_until(serving_again_s)) {
      if (const auto* forwarded = dynamic_cast<const RequestMessage*>(message.get())) {
        ++c_.facility->current_outage(replica_)->arrived_while_down;
        hand_back(forwarded->request);
      }
    }
    c_.replica_alive[static_cast<std::size_t>(replica_)] = true;
  }

  // HAProxy `retries` with `option redispatch`: a request no token of which has reached the client
  // is sent to another replica the balancer picks; a stream already started, or out of retries, fails.
  void hand_back(const Request& request) {
    Outage& outage = *c_.facility->current_outage(replica_);
    c_.balancer.on_completed(replica_);
    int& retries = c_.redispatches[request.id];
    const bool streaming = !std::isnan(c_.record.requests[request.id].first_token_s);
    if (!streaming && retries < c_.scenario.facility->failures.retries) {
      for (int attempt = 0; attempt < c_.balancer.replicas(); ++attempt) {
        const int other = c_.balancer.choose(request);
        if (other < 0) break;
        if (other == replica_) continue;
        ++retries;
        ++outage.retried;
        c_.balancer.on_dispatched(other);
        c_.record.requests[request.id].replica = other;
        des::Inbox(replica_inbox_name(other)).deliver(std::make_unique<RequestMessage>(request), request_bytes(request));
        return;
      }
    }
    ++outage.failed;
    clients_.deliver(std::make_unique<CompletionMessage>(request.id, RequestStatus::Failed), kEnvelopeBytes);
  }

  void respond(const Request& request, RequestStatus status) {
    c_.balancer.on_completed(replica_);
    clients_.deliver(std::make_unique<CompletionMessage>(request.id, status),
                     status == RequestStatus::Completed ? completion_bytes(request) : kEnvelopeBytes);
  }

  Cluster& c_;
  const int replica_;
  const double end_;
  ReplicaScheduler& scheduler_;
  des::Inbox inbox_, clients_;
  std::vector<double> boundaries_;
};

// Samples queue lengths at the end of each interval and reports progress.
class MonitorActor {
 public:
  MonitorActor(Cluster& cluster, ProgressSink* progress) : c_(cluster), progress_(progress) {}

  void operator()() {
    const TimeSeries& series = c_.record.series;
    for (std::size_t b = 0; b < series.bins(); ++b) {
      const double t = std::min(c_.scenario.simulation.duration_s, (static_cast<double>(b) + 1) * series.interval());
      des::sleep_until(t);
      double queued = 0;
      for (const auto& s : c_.schedulers) queued += static_cast<double>(s->waiting());
      const double in_flight = static_cast<double>(c_.record.requests.size()) - static_cast<double>(c_.responses);
      c_.record.series.set_sample(b, in_flight, queued);
      if (c_.facility) c_.facility->end_interval(b, c_.record.series, c_.schedulers, c_.replica_alive);
      if (progress_) progress_->update(t, c_.scenario.simulation.duration_s);
    }
    des::yield();  // replicas waking at the very end record their last iterations before the run stops
  }

 private:
  Cluster& c_;
  ProgressSink* progress_;
};

// Actors own mailboxes (not copyable); the engine keeps a shared handle to each.
template <typename Actor, typename... Args>
void spawn(des::Simulation& simulation, const std::string& name, des::HostRef host, Args&&... args) {
  auto actor = std::make_shared<Actor>(std::forward<Args>(args)...);
  // The monitor alone lives until the end of the simulated time; the others serve until stopped.
  simulation.spawn(name, host, [actor] { (*actor)(); }, !std::is_same_v<Actor, MonitorActor>);
}

}  // namespace

RunRecord simulate_cluster(const Scenario& scenario, const Catalog& catalog, const PerformanceModel& performance,
                           ProgressSink* progress) {
  const auto wall_start = std::chrono::steady_clock::now();
  const DeploymentSpec& d = scenario.deployment;
  const ServerSpec& server = *catalog.server(scenario.datacenter.server_type);
  const MemoryPlan memory = plan_memory(*catalog.model(d.model), *catalog.gpu(scenario.datacenter.gpu), d);

  RunRecord record(TimeSeries(scenario.simulation.timeseries_interval_s, scenario.simulation.duration_s, d.replicas));
  record.kv_blocks_per_replica.assign(static_cast<std::size_t>(d.replicas), memory.kv_blocks);
  Cluster cluster{scenario, record, LoadBalancer(scenario.load_balancer, d.replicas, scenario.simulation.seed ^ 0x10adba1ULL),
                  {}, std::vector<bool>(static_cast<std::size_t>(d.replicas), true)};
  SchedulerLimits limits;
  limits.max_batch_sequences = d.max_batch_sequences;
  limits.max_batch_tokens = d.max_batch_tokens;
  limits.chunked_prefill_tokens = d.chunked_prefill_tokens;
  limits.kv_block_tokens = d.kv_block_tokens;
  limits.kv_blocks = memory.kv_blocks;
  limits.max_context = catalog.model(d.model)->max_position;
  limits.shortest_prompt_first = d.scheduler == SchedulerPolicy::ShortestPromptFirst;
  for (int r = 0; r < d.replicas; ++r)
    cluster.schedulers.push_back(std::make_unique<ReplicaScheduler>(limits, performance, scenario.simulation.fast_forward));

  des::Simulation simulation;
  const des::Platform platform = simulation.build(make_network_layout(scenario.datacenter));
  const auto placements = place_replicas(scenario.datacenter, server, d);
  spawn<ClientActor>(simulation, "client", platform.users, cluster);
  spawn<BalancerActor>(simulation, "balancer", platform.balancer, cluster);
  for (int r = 0; r < d.replicas; ++r) {
    const ReplicaPlacement& p = placements[static_cast<std::size_t>(r)];
    spawn<ReplicaActor>(simulation, replica_inbox_name(r),
                        platform.servers[static_cast<std::size_t>(p.rack)][static_cast<std::size_t>(p.server)], cluster, r);
  }
  std::optional<FacilityRuntime> facility;
  if (scenario.facility) {
    facility.emplace(scenario, catalog, placements, memory.weight_bytes_per_gpu);
    cluster.facility = &*facility;
    const FailureSpec& failures = scenario.facility->failures;
    std::vector<std::string> inboxes;
    for (int r = 0; r < d.replicas; ++r) inboxes.push_back(replica_inbox_name(r));
    spawn<FailureActor>(simulation, "failures", platform.balancer, failures, scripted_failures(failures, placements),
                        d.replicas, d.tensor_parallel, failures.repair_s + facility->weight_reload_s(),
                        scenario.simulation.duration_s, scenario.simulation.seed, inboxes);
  }
  spawn<MonitorActor>(simulation, "monitor", platform.balancer, cluster, progress);
  simulation.run_until(scenario.simulation.duration_s);
  if (facility) facility->finish(record, cluster.schedulers, cluster.replica_alive);
  record.simulated_s = scenario.simulation.duration_s;
  record.events = simulation.events();
  record.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  record.performance_model = performance.description();  // after the run: it reports extrapolation counts
  return record;
}

}  // namespace aidc
