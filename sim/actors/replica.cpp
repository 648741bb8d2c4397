#include "actors/replica.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "serving/messages.hpp"

namespace aidc {

ReplicaActor::ReplicaActor(int replica, SchedulerLimits limits, const PerformanceModel& performance, bool fast_forward,
                           double end_s, RunRecorder& recorder, double kv_bytes_per_token)
    : replica_(replica),
      kv_bytes_per_token_(kv_bytes_per_token),
      end_(end_s),
      scheduler_(limits, performance, fast_forward),
      recorder_(recorder),
      inbox_(replica_inbox(replica)),
      clients_(kClientInbox),
      balancer_(kBalancerInbox) {}

void ReplicaActor::hold(const HeldRequest& held) {
  if (!scheduler_.resume(held.request, held.computed_tokens, held.generated_tokens))
    throw std::invalid_argument("replica " + std::to_string(replica_) + ": request " + std::to_string(held.request.id) + " with " +
                                std::to_string(held.computed_tokens) + " tokens in the KV cache does not fit beside the others");
  if (held.generated_tokens > 0) streaming_.insert(held.request.id);
}

void ReplicaActor::operator()() {
  if (down_until_ > des::now()) fail_until(down_until_);
  while (true) {
    while (auto message = inbox_.try_receive()) admit(*message);
    if (scheduler_.idle()) {
      admit(*inbox_.receive_until());
      continue;
    }
    read_notices();
    const double start = des::now();
    const std::vector<double>& durations = scheduler_.plan(start, *this);
    boundaries_.clear();
    double t = start;
    for (double d : durations) boundaries_.push_back(t += d);
    publish_state();
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
    admit_arrived_kv();
    publish_state();
    if (message) admit(*message);
    if (des::now() >= end_) return;  // time is up: no further iteration can complete
  }
}

void ReplicaActor::read_notices() {
  while (auto notice = inbox_.take_notice())
    scheduler_.set_clock_fraction(dynamic_cast<const ClockNotice&>(*notice).clock_fraction);
}

void ReplicaActor::admit(const des::Message& message) {
  if (const auto* failure = dynamic_cast<const ReplicaFailureMessage*>(&message)) {
    fail_until(failure->serving_again_s);
    return;
  }
  if (const auto* kv = dynamic_cast<const KvCacheMessage*>(&message)) {
    recorder_.kv_arrived(kv->request.id, inbox_.last_arrival());
    if (scheduler_.can_never_fit(kv->request)) {
      respond(kv->request, RequestStatus::Rejected);
      return;
    }
    arrived_kv_.push_back(kv->request);
    admit_arrived_kv();
    publish_state();
    return;
  }
  const auto& sent = dynamic_cast<const RequestMessage&>(message);
  const Request& request = sent.request;
  if (scheduler_.can_never_fit(request)) {
    if (sent.decode_replica >= 0) balancer_.notify(std::make_unique<AnsweredNotice>(sent.decode_replica));
    respond(request, RequestStatus::Rejected);
    return;
  }
  if (sent.decode_replica < 0) {
    scheduler_.enqueue(request);
  } else {
    Request prefill_only = request;
    prefill_only.max_output_tokens = 1;
    scheduler_.enqueue(prefill_only);
    handed_on_.emplace(request.id, sent);
  }
  publish_state();
}

// The prompt's last token is computed again, as vLLM does on a full cache hit, for the logits of the
// first token: a one-token prefill step over the whole prompt's KV.
void ReplicaActor::admit_arrived_kv() {
  while (!arrived_kv_.empty()) {
    const Request& request = arrived_kv_.front();
    if (!scheduler_.resume(request, request.prompt_tokens - 1, 0)) return;
    recorder_.decode_admitted(request.id, des::now(), replica_);
    arrived_kv_.pop_front();
  }
}

// Down until `serving_again_s` (repair + weight reload): the requests it held, and those the balancer
// still sends it until a health check takes it out, go back to the balancer.
void ReplicaActor::fail_until(double serving_again_s) {
  balancer_.notify(std::make_unique<HealthNotice>(replica_, false));
  const std::vector<Request> held = scheduler_.take_all();
  recorder_.outage_began(replica_, des::now(), serving_again_s, static_cast<long long>(held.size() + arrived_kv_.size()));
  for (const Request& request : held) {
    // A prefill replica holds the prefill of a request a decode replica was to finish: the whole
    // request goes back.
    const auto handed = handed_on_.find(request.id);
    if (handed == handed_on_.end()) {
      hand_back(request);
      continue;
    }
    hand_back(handed->second.request, handed->second.decode_replica);
    handed_on_.erase(handed);
  }
  for (const Request& request : arrived_kv_) hand_back(request);
  arrived_kv_.clear();
  streaming_.clear();
  publish_state();
  while (auto message = inbox_.receive_until(serving_again_s)) {
    if (const auto* forwarded = dynamic_cast<const RequestMessage*>(message.get())) {
      recorder_.arrived_while_down(replica_);
      hand_back(forwarded->request, forwarded->decode_replica);
    } else if (const auto* kv = dynamic_cast<const KvCacheMessage*>(message.get())) {
      recorder_.arrived_while_down(replica_);
      hand_back(kv->request);
    }
  }
  balancer_.notify(std::make_unique<HealthNotice>(replica_, true));
  recorder_.serving_again(replica_);
}

void ReplicaActor::hand_back(const Request& request, int decode_replica) {
  balancer_.deliver(std::make_unique<HandBackMessage>(request, replica_, streaming_.count(request.id) > 0, decode_replica),
                    kEnvelopeBytes);
}

void ReplicaActor::on_first_token(const Request& request, double) {
  if (handed_on_.count(request.id)) return;  // the decode replica streams the answer
  streaming_.insert(request.id);
  clients_.deliver(std::make_unique<FirstTokenMessage>(request.id), first_token_bytes());
}

void ReplicaActor::on_finished(const Request& request, double time) {
  if (const auto handed = handed_on_.find(request.id); handed != handed_on_.end()) {
    const double bytes = kv_bytes_per_token_ * request.prompt_tokens;
    balancer_.notify(std::make_unique<AnsweredNotice>(replica_));
    recorder_.kv_sent(request.id, time, bytes);
    des::Inbox(replica_inbox(handed->second.decode_replica))
        .deliver(std::make_unique<KvCacheMessage>(handed->second.request, time, bytes), bytes);
    handed_on_.erase(handed);
    return;
  }
  streaming_.erase(request.id);
  respond(request, RequestStatus::Completed);
}

void ReplicaActor::on_iteration(double start, double end, int prefill_tokens, int generated_tokens, long long kv_used) {
  recorder_.iteration(replica_, start, end, prefill_tokens, generated_tokens, kv_used, scheduler_.scheduler().kv_blocks_total());
}

void ReplicaActor::respond(const Request& request, RequestStatus status) {
  balancer_.notify(std::make_unique<AnsweredNotice>(replica_));
  clients_.deliver(std::make_unique<CompletionMessage>(request.id, status),
                   status == RequestStatus::Completed ? completion_bytes(request) : kEnvelopeBytes);
}

}  // namespace aidc
