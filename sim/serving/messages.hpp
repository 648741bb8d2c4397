#pragma once
// The typed messages actors exchange, and the inbox names they address each other by. Messages
// cross the network (des::Inbox::deliver, byte sizes set by the sender); notices carry what a
// component learns beside an exchange already timed (des::Inbox::notify).
#include <cstdint>
#include <string>

#include "des/des.hpp"
#include "core/serving/request.hpp"

namespace aidc {

inline const std::string kClientInbox = "clients";
inline const std::string kBalancerInbox = "balancer";
inline std::string replica_inbox(int replica) { return "replica-" + std::to_string(replica); }

// Client -> balancer -> replica. Disaggregated: the balancer sends it to a prefill replica and names
// the decode replica that will take its KV cache (-1: none, the prefill replica answers it alone).
struct RequestMessage final : des::Message {
  explicit RequestMessage(const Request& r) : request(r) {}
  Request request;
  int decode_replica = -1;
};

// Prefill replica -> decode replica: a request's KV cache after its prefill, `bytes` on the wire (the
// message is the transfer, timed on the platform's links).
struct KvCacheMessage final : des::Message {
  KvCacheMessage(const Request& r, double sent, double size) : request(r), sent_s(sent), bytes(size) {}
  Request request;
  double sent_s, bytes;
};

// Replica -> client.
struct FirstTokenMessage final : des::Message {
  explicit FirstTokenMessage(std::uint64_t id) : request_id(id) {}
  std::uint64_t request_id;
};

// Replica or balancer -> client: the request's outcome.
struct CompletionMessage final : des::Message {
  CompletionMessage(std::uint64_t id, RequestStatus s) : request_id(id), status(s) {}
  std::uint64_t request_id;
  RequestStatus status;
};

// Failure injector -> replica: it fails now and serves again at `serving_again_s`.
struct ReplicaFailureMessage final : des::Message {
  explicit ReplicaFailureMessage(double serving_again) : serving_again_s(serving_again) {}
  double serving_again_s;  // repair + process start + weight reload
};

// Failed replica -> balancer: a request it held or received while down (the connection HAProxy sees
// reset); the balancer retries it elsewhere or fails it. `streaming`: a token already reached the client.
// Disaggregated, `decode_replica`: the decode replica the balancer had picked for a request the prefill
// replica hands back (it is picked again), else -1.
struct HandBackMessage final : des::Message {
  HandBackMessage(const Request& r, int from, bool started, int decode = -1)
      : request(r), replica(from), streaming(started), decode_replica(decode) {}
  Request request;
  int replica;
  bool streaming;
  int decode_replica;
};

// Notice, replica -> balancer: a request left `replica` with its answer (HAProxy counts the response
// passing through it; least-outstanding and power-of-two choices read the count).
struct AnsweredNotice final : des::Message {
  explicit AnsweredNotice(int r) : replica(r) {}
  int replica;
};

// Notice, replica -> balancer: what the next health check of `replica` finds.
struct HealthNotice final : des::Message {
  HealthNotice(int r, bool up) : replica(r), serving(up) {}
  int replica;
  bool serving;
};

// Notice, monitor -> replica: the clock its GPUs run at from now on (power limit, throttling), (0, 1].
struct ClockNotice final : des::Message {
  explicit ClockNotice(double fraction) : clock_fraction(fraction) {}
  double clock_fraction;
};

// Wire sizes: an HTTP/JSON envelope plus about 4 bytes of UTF-8 text per token.
constexpr double kEnvelopeBytes = 512;
constexpr double kBytesPerToken = 4;
inline double request_bytes(const Request& r) { return kEnvelopeBytes + kBytesPerToken * r.prompt_tokens; }
inline double first_token_bytes() { return kEnvelopeBytes + kBytesPerToken; }
inline double completion_bytes(const Request& r) { return kEnvelopeBytes + kBytesPerToken * r.max_output_tokens; }

}  // namespace aidc
