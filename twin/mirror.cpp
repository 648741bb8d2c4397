#include "twin/mirror.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/statistics.hpp"

namespace aidc::twin {
namespace {

constexpr double kKeepFinishedS = 900;  // longer than any window the twin asks for
const double kNone = std::numeric_limits<double>::quiet_NaN();

}  // namespace

// One replica on its own clock: iterations are planned one at a time (no fast forward, so an
// arrival joins at the next iteration boundary, as on the real engine).
struct Mirror::Replica final : ReplicaEvents {
  Replica(Mirror& mirror, const SchedulerLimits& limits, const PerformanceModel& performance)
      : mirror(mirror), scheduler(limits, performance, /*fast_forward=*/false) {}

  void on_first_token(const Request& r, double t) override { mirror.on_first_token(r.id, t); }
  void on_finished(const Request& r, double t) override { mirror.on_finished(r.id, t); }
  void on_iteration(double, double, int, int, long long) override {}
  void on_preempted(const Request&, double) override {}

  void advance_to(double t) {
    while (up) {
      if (!planned) {
        if (scheduler.idle()) break;
        iteration_end = clock + scheduler.plan(clock, *this).front();
        planned = true;
      }
      if (iteration_end > t) return;
      scheduler.apply(1, clock, *this);
      clock = iteration_end;
      planned = false;
    }
    clock = std::max(clock, t);
  }

  Mirror& mirror;
  ReplicaScheduler scheduler;
  bool up = true, planned = false;
  double clock = 0, iteration_end = 0;
};

Mirror::Mirror(const Scenario& scenario, const Catalog& catalog, const PerformanceModel& performance)
    : performance_(performance),
      balancer_(scenario.load_balancer, scenario.deployment.replicas, scenario.simulation.seed),
      fall_(scenario.load_balancer.health_check.fall),
      rise_(scenario.load_balancer.health_check.rise) {
  const SchedulerLimits limits = scheduler_limits(scenario, catalog);
  for (int r = 0; r < scenario.deployment.replicas; ++r) replicas_.push_back(std::make_unique<Replica>(*this, limits, performance_));
}

Mirror::~Mirror() = default;

void Mirror::on_first_token(std::uint64_t id, double t) {
  if (auto it = in_flight_.find(id); it != in_flight_.end()) it->second.first_token_s = t;
}

void Mirror::on_finished(std::uint64_t id, double t) {
  auto it = in_flight_.find(id);
  if (it == in_flight_.end()) return;
  it->second.finish_s = t;
  done_.push_back(it->second);
  in_flight_.erase(it);
}

void Mirror::route(double t, int prompt_tokens, int output_tokens) {
  Request request;
  request.id = next_id_++;
  request.session = request.id;
  request.prompt_tokens = std::max(prompt_tokens, 1);
  request.max_output_tokens = std::max(output_tokens, 1);
  const int r = balancer_.choose(request);
  if (r < 0 || replicas_[r]->scheduler.can_never_fit(request)) {
    ++failed_;
    return;
  }
  Replica& replica = *replicas_[r];
  replica.advance_to(t);  // its iterations before the arrival run without it
  in_flight_[request.id] = Tracked{t, -1, -1, request.max_output_tokens};
  replica.scheduler.enqueue(request);
}

void Mirror::arrive(double from_s, double to_s, int count, int prompt_tokens, int output_tokens) {
  for (int i = 1; i <= count; ++i) {
    const double t = std::max(clock_s_, from_s + (to_s - from_s) * i / count);
    route(t, prompt_tokens, output_tokens);
  }
}

void Mirror::set_up(int replica, bool up, double t_s) {
  Replica& r = *replicas_.at(static_cast<std::size_t>(replica));
  if (r.up == up) return;
  r.advance_to(t_s);
  r.up = up;
  r.planned = false;
  r.clock = std::max(r.clock, t_s);
  if (!up)
    for (const Request& lost : r.scheduler.take_all()) {
      in_flight_.erase(lost.id);
      ++failed_;
    }
  // The balancer follows HAProxy's verdict: as many checks as it takes to flip it.
  for (int i = 0; i < std::max(fall_, rise_) && balancer_.is_up(replica) != up; ++i) balancer_.record_check(replica, up);
}

void Mirror::advance_to(double t_s) {
  for (auto& r : replicas_) r->advance_to(t_s);
  clock_s_ = std::max(clock_s_, t_s);
  while (!done_.empty() && done_.front().finish_s < clock_s_ - kKeepFinishedS) done_.pop_front();
}

MirrorFigures Mirror::figures(double now_s, double window_s) const {
  MirrorFigures f;
  for (const auto& r : replicas_) {
    const Scheduler& s = r->scheduler.scheduler();
    f.replicas.push_back({r->up, static_cast<int>(s.running()), static_cast<int>(s.waiting()),
                          s.kv_blocks_total() > 0 ? static_cast<double>(s.kv_blocks_used()) / s.kv_blocks_total() : 0});
  }
  f.in_flight = static_cast<int>(in_flight_.size());
  f.failed = failed_;
  const double since = now_s - window_s;
  std::vector<double> ttft, tpot;
  double decode_s = 0, intervals = 0;
  auto first_token_in_window = [&](const Tracked& t) {
    if (t.first_token_s >= since && t.first_token_s <= now_s) ttft.push_back(t.first_token_s - t.arrival_s);
  };
  for (const auto& [id, t] : in_flight_) first_token_in_window(t);
  for (const Tracked& t : done_) {
    first_token_in_window(t);
    if (t.finish_s < since || t.output_tokens < 2) continue;
    tpot.push_back((t.finish_s - t.first_token_s) / (t.output_tokens - 1));
    decode_s += t.finish_s - t.first_token_s;
    intervals += t.output_tokens - 1;
  }
  f.ttft_p99_s = ttft.empty() ? kNone : percentile(ttft, 99);
  f.ttft_mean_s = ttft.empty() ? kNone : mean(ttft);
  f.tpot_p99_s = tpot.empty() ? kNone : percentile(tpot, 99);
  f.itl_mean_s = intervals > 0 ? decode_s / intervals : kNone;
  return f;
}

StartState Mirror::snapshot(double now_s, double down_until_s) const {
  StartState state;
  for (std::size_t r = 0; r < replicas_.size(); ++r) {
    if (!replicas_[r]->up) {
      state.down.push_back({static_cast<int>(r), down_until_s});
      continue;
    }
    for (const auto& p : replicas_[r]->scheduler.scheduler().progress()) {
      StartState::HeldBy held;
      held.replica = static_cast<int>(r);
      held.held.request = p.request;
      held.held.generated_tokens = p.generated;
      held.held.computed_tokens = std::min(p.computed, p.request.prompt_tokens + p.generated - 1);
      const auto it = in_flight_.find(p.request.id);
      held.arrival_s = it == in_flight_.end() ? 0 : it->second.arrival_s - now_s;
      if (it != in_flight_.end() && it->second.first_token_s >= 0) held.first_token_s = it->second.first_token_s - now_s;
      state.requests.push_back(held);
    }
  }
  return state;
}

}  // namespace aidc::twin
