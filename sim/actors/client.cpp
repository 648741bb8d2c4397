#include "actors/client.hpp"

#include <limits>

#include "serving/messages.hpp"

namespace aidc {

ClientActor::ClientActor(WorkloadSource& source, RunRecorder& recorder, double end_s, std::uint64_t first_id)
    : source_(source), recorder_(recorder), end_(end_s), inbox_(kClientInbox), balancer_(kBalancerInbox), next_id_(first_id),
      first_id_(first_id) {}

void ClientActor::operator()() {
  while (true) {
    const double due = source_.next_due();
    if (auto message = inbox_.receive_until(due < end_ ? due : std::numeric_limits<double>::infinity())) {
      handle(*message, des::now());
      continue;
    }
    send_due(des::now());
  }
}

void ClientActor::send_due(double now) {
  due_.clear();
  source_.take_due(now, due_);
  for (const SourceRequest& s : due_) {
    Request request;
    request.id = next_id_++;
    request.session = s.session;
    request.prompt_tokens = s.prompt_tokens;
    request.max_output_tokens = s.output_tokens;
    request.user = s.user;
    recorder_.arrived(now, s.prompt_tokens, s.output_tokens);
    balancer_.deliver(std::make_unique<RequestMessage>(request), request_bytes(request));
    user_of_.push_back(s.user);
  }
}

void ClientActor::handle(const des::Message& message, double now) {
  if (const auto* first = dynamic_cast<const FirstTokenMessage*>(&message)) {
    recorder_.first_token(first->request_id, now);
    return;
  }
  const auto& done = dynamic_cast<const CompletionMessage&>(message);
  recorder_.answered(done.request_id, done.status, now);
  if (done.request_id < first_id_) return;  // in flight at the start: no user of this run waits for it
  const int user = user_of_[done.request_id - first_id_];
  if (user >= 0) source_.answered(user, now);
}

}  // namespace aidc
