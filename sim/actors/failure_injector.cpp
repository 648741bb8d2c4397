#include "actors/failure_injector.hpp"

#include <algorithm>
#include <limits>
#include <memory>

#include "serving/messages.hpp"

namespace aidc {

std::vector<FailureEvent> scripted_failures(const FailureSpec& spec, const std::vector<ReplicaPlacement>& placements) {
  std::vector<FailureEvent> events;
  for (const ScriptedFailure& f : spec.scripted) {
    if (f.replica >= 0) events.push_back({f.at_s, f.replica});
    for (std::size_t r = 0; r < placements.size(); ++r)
      if (f.rack >= 0 && placements[r].rack == f.rack) events.push_back({f.at_s, static_cast<int>(r)});
  }
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.at_s < b.at_s; });
  return events;
}

FailureActor::FailureActor(const FailureSpec& spec, std::vector<FailureEvent> scripted, std::vector<FailingReplica> replicas,
                           double end_s, unsigned long long seed)
    : events_(std::move(scripted)), spec_(spec), failing_(std::move(replicas)), end_s_(end_s), rng_(seed ^ 0xfa11ed5eedULL) {
  const int count = static_cast<int>(failing_.size());
  for (int r = 0; r < count; ++r) replicas_.push_back(std::make_unique<des::Inbox>(replica_inbox(r)));
  if (spec_.random)
    for (int r = 0; r < count; ++r) events_.push_back({next_failure_after(0, r), r});
}

double FailureActor::next_failure_after(double t, int replica) {
  const double mean_s = spec_.mtbf_gpu_hours * 3600 / failing_[static_cast<std::size_t>(replica)].gpus;
  return t + std::exponential_distribution<double>(1.0 / mean_s)(rng_);
}

void FailureActor::operator()() {
  // A replica that is down ignores further failures until it serves again.
  std::vector<double> serving_again(replicas_.size(), -1);
  while (true) {
    const auto next = std::min_element(events_.begin(), events_.end(), [](const auto& a, const auto& b) { return a.at_s < b.at_s; });
    if (next == events_.end() || next->at_s >= end_s_) return;
    const FailureEvent event = *next;
    events_.erase(next);
    des::sleep_until(event.at_s);
    const auto r = static_cast<std::size_t>(event.replica);
    if (event.at_s < serving_again[r]) continue;
    serving_again[r] = event.at_s + failing_[r].down_s;
    replicas_[r]->deliver(std::make_unique<ReplicaFailureMessage>(serving_again[r]), 0);
    if (spec_.random) events_.push_back({next_failure_after(serving_again[r], event.replica), event.replica});
  }
}

}  // namespace aidc
