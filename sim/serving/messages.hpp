#pragma once
// The typed messages actors exchange. Their byte sizes on the wire are set by the sender.
#include <cstdint>

#include "des/des.hpp"
#include "core/serving/request.hpp"

namespace aidc {

struct RequestMessage final : des::Message {
  explicit RequestMessage(const Request& r) : request(r) {}
  Request request;
};

struct FirstTokenMessage final : des::Message {
  explicit FirstTokenMessage(std::uint64_t id) : request_id(id) {}
  std::uint64_t request_id;
};

struct CompletionMessage final : des::Message {
  CompletionMessage(std::uint64_t id, RequestStatus s) : request_id(id), status(s) {}
  std::uint64_t request_id;
  RequestStatus status;
};

// Wire sizes: an HTTP/JSON envelope plus about 4 bytes of UTF-8 text per token.
constexpr double kEnvelopeBytes = 512;
constexpr double kBytesPerToken = 4;
inline double request_bytes(const Request& r) { return kEnvelopeBytes + kBytesPerToken * r.prompt_tokens; }
inline double first_token_bytes() { return kEnvelopeBytes + kBytesPerToken; }
inline double completion_bytes(const Request& r) { return kEnvelopeBytes + kBytesPerToken * r.max_output_tokens; }

}  // namespace aidc
