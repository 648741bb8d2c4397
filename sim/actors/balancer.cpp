#include "actors/balancer.hpp"

#include "serving/messages.hpp"

namespace aidc {

BalancerActor::BalancerActor(const LoadBalancerSpec& spec, int replicas, unsigned long long seed, int retries,
                             RunRecorder& recorder, const std::vector<int>& outstanding, const std::vector<int>& down,
                             int decode_replicas)
    : balancer_(spec, replicas - decode_replicas, seed ^ 0x10adba1ULL),
      prefill_replicas_(replicas - decode_replicas),
      check_interval_(spec.health_check.interval_s),
      retries_(retries),
      recorder_(recorder),
      inbox_(kBalancerInbox),
      clients_(kClientInbox),
      serving_(static_cast<std::size_t>(replicas), true) {
  if (decode_replicas > 0) decode_.emplace(spec, decode_replicas, seed ^ 0xdec0de5ULL);
  for (int r = 0; r < replicas; ++r) replicas_.push_back(std::make_unique<des::Inbox>(replica_inbox(r)));
  for (std::size_t r = 0; r < outstanding.size(); ++r)
    for (int held = 0; held < outstanding[r]; ++held) {
      const auto [pool, index] = pool_of(static_cast<int>(r));
      pool->on_dispatched(index);
    }
  for (int r : down) {
    serving_[static_cast<std::size_t>(r)] = false;
    const auto [pool, index] = pool_of(r);
    for (int check = 0; check < spec.health_check.fall; ++check) pool->record_check(index, false);
  }
}

std::pair<LoadBalancer*, int> BalancerActor::pool_of(int replica) {
  if (decode_ && replica >= prefill_replicas_) return {&*decode_, replica - prefill_replicas_};
  return {&balancer_, replica};
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
      const auto [pool, index] = pool_of(answered->replica);
      pool->on_completed(index);
      continue;
    }
    const auto& health = dynamic_cast<const HealthNotice&>(*notice);
    serving_[static_cast<std::size_t>(health.replica)] = health.serving;
  }
}

void BalancerActor::check_health() {
  for (int r = 0; r < static_cast<int>(serving_.size()); ++r) {
    const auto [pool, index] = pool_of(r);
    pool->record_check(index, serving_[static_cast<std::size_t>(r)]);
    if (!pool->is_up(index)) recorder_.health_check_sees_down(r, des::now());
  }
}

void BalancerActor::route(std::unique_ptr<des::Message> message) {
  if (const auto* handed_back = dynamic_cast<const HandBackMessage*>(message.get())) {
    const auto [pool, index] = pool_of(handed_back->replica);
    pool->on_completed(index);
    if (handed_back->decode_replica >= 0) decode_->on_completed(handed_back->decode_replica - prefill_replicas_);
    retry_or_fail(handed_back->request, handed_back->replica, handed_back->streaming);
    return;
  }
  auto& sent = dynamic_cast<RequestMessage&>(*message);
  const Request& request = sent.request;
  const int replica = balancer_.choose(request);
  // Disaggregated: a decode replica, picked now by the decode pool's policy, takes its KV cache after
  // the prefill; an answer of one token is the prefill's own.
  const int decode = decode_ && request.max_output_tokens > 1 ? decode_->choose(request) : -1;
  if (replica < 0 || (decode_ && request.max_output_tokens > 1 && decode < 0)) {  // HAProxy answers 503 when no server is up
    clients_.deliver(std::make_unique<CompletionMessage>(request.id, RequestStatus::Failed), kEnvelopeBytes);
    return;
  }
  if (decode >= 0) {
    decode_->on_dispatched(decode);
    sent.decode_replica = prefill_replicas_ + decode;
  }
  balancer_.on_dispatched(replica);
  recorder_.dispatched(request.id, replica);
  const double bytes = request_bytes(request);
  replicas_[static_cast<std::size_t>(replica)]->deliver(std::move(message), bytes);
}

// A request no token of which has reached the client goes to another replica the policy picks; a
// stream already started, or out of retries, fails. Disaggregated, it starts again from its prefill
// (a failed decode replica lost its KV cache), on a prefill and a decode replica other than the failed one.
void BalancerActor::retry_or_fail(const Request& request, int failed_replica, bool streaming) {
  int& retries = redispatches_[request.id];
  auto pick = [&](LoadBalancer& pool, int first) {
    for (int attempt = 0; attempt < pool.replicas(); ++attempt) {
      const int other = pool.choose(request);
      if (other < 0) return -1;
      if (first + other != failed_replica) return first + other;
    }
    return -1;
  };
  if (!streaming && retries < retries_) {
    const int other = pick(balancer_, 0);
    const int decode = decode_ && request.max_output_tokens > 1 ? pick(*decode_, prefill_replicas_) : -1;
    if (other >= 0 && (decode >= 0 || !decode_ || request.max_output_tokens <= 1)) {
      ++retries;
      recorder_.retried(failed_replica);
      balancer_.on_dispatched(other);
      recorder_.dispatched(request.id, other);
      auto message = std::make_unique<RequestMessage>(request);
      if (decode >= 0) {
        decode_->on_dispatched(decode - prefill_replicas_);
        message->decode_replica = decode;
      }
      replicas_[static_cast<std::size_t>(other)]->deliver(std::move(message), request_bytes(request));
      return;
    }
  }
  recorder_.failed_on_outage(failed_replica);
  clients_.deliver(std::make_unique<CompletionMessage>(request.id, RequestStatus::Failed), kEnvelopeBytes);
}

}  // namespace aidc
