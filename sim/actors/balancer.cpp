#include "actors/balancer.hpp"

#include "serving/messages.hpp"

namespace aidc {

BalancerActor::BalancerActor(const LoadBalancerSpec& spec, int replicas, unsigned long long seed, int retries,
                             RunRecorder& recorder, const std::vector<int>& outstanding, const std::vector<int>& down)
    : balancer_(spec, replicas, seed ^ 0x10adba1ULL),
      check_interval_(spec.health_check.interval_s),
      retries_(retries),
      recorder_(recorder),
      inbox_(kBalancerInbox),
      clients_(kClientInbox),
      serving_(static_cast<std::size_t>(replicas), true) {
  for (int r = 0; r < replicas; ++r) replicas_.push_back(std::make_unique<des::Inbox>(replica_inbox(r)));
  for (std::size_t r = 0; r < outstanding.size(); ++r)
    for (int held = 0; held < outstanding[r]; ++held) balancer_.on_dispatched(static_cast<int>(r));
  for (int r : down) {
    serving_[static_cast<std::size_t>(r)] = false;
    for (int check = 0; check < spec.health_check.fall; ++check) balancer_.record_check(r, false);
  }
}

void BalancerActor::operator()() {
  double next_check = check_interval_;
  while (true) {
    auto message = inbox_.receive_until(next_check);
    read_notices();
    if (!message) {
      check_health();
      next_check += check_interval_;
      continue;
    }
    route(std::move(message));
  }
}

void BalancerActor::read_notices() {
  while (auto notice = inbox_.take_notice()) {
    if (const auto* answered = dynamic_cast<const AnsweredNotice*>(notice.get())) {
      balancer_.on_completed(answered->replica);
      continue;
    }
    const auto& health = dynamic_cast<const HealthNotice&>(*notice);
    serving_[static_cast<std::size_t>(health.replica)] = health.serving;
  }
}

void BalancerActor::check_health() {
  for (int r = 0; r < balancer_.replicas(); ++r) {
    balancer_.record_check(r, serving_[static_cast<std::size_t>(r)]);
    if (!balancer_.is_up(r)) recorder_.health_check_sees_down(r, des::now());
  }
}

void BalancerActor::route(std::unique_ptr<des::Message> message) {
  if (const auto* handed_back = dynamic_cast<const HandBackMessage*>(message.get())) {
    balancer_.on_completed(handed_back->replica);
    retry_or_fail(handed_back->request, handed_back->replica, handed_back->streaming);
    return;
  }
  const Request& request = dynamic_cast<const RequestMessage&>(*message).request;
  const int replica = balancer_.choose(request);
  if (replica < 0) {  // HAProxy answers 503 when no server is up
    clients_.deliver(std::make_unique<CompletionMessage>(request.id, RequestStatus::Failed), kEnvelopeBytes);
    return;
  }
  balancer_.on_dispatched(replica);
  recorder_.dispatched(request.id, replica);
  const double bytes = request_bytes(request);
  replicas_[static_cast<std::size_t>(replica)]->deliver(std::move(message), bytes);
}

// A request no token of which has reached the client goes to another replica the policy picks; a
// stream already started, or out of retries, fails.
void BalancerActor::retry_or_fail(const Request& request, int failed_replica, bool streaming) {
  int& retries = redispatches_[request.id];
  if (!streaming && retries < retries_) {
    for (int attempt = 0; attempt < balancer_.replicas(); ++attempt) {
      const int other = balancer_.choose(request);
      if (other < 0) break;
      if (other == failed_replica) continue;
      ++retries;
      recorder_.retried(failed_replica);
      balancer_.on_dispatched(other);
      recorder_.dispatched(request.id, other);
      replicas_[static_cast<std::size_t>(other)]->deliver(std::make_unique<RequestMessage>(request), request_bytes(request));
      return;
    }
  }
  recorder_.failed_on_outage(failed_replica);
  clients_.deliver(std::make_unique<CompletionMessage>(request.id, RequestStatus::Failed), kEnvelopeBytes);
}

}  // namespace aidc
