#pragma once
// A request is data: it travels inside messages, never as an actor of its own.
#include <cstdint>

namespace aidc {

struct Request {
  std::uint64_t id = 0;
  std::uint64_t session = 0;  // consistent hashing key (a user, or a conversation)
  int prompt_tokens = 0;
  int output_tokens = 0;
  int user = -1;  // closed-loop user waiting for it; -1 for open-loop and trace requests
};

enum class RequestStatus { InFlight, Completed, Failed, Rejected };

}  // namespace aidc
