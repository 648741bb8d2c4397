#pragma once
// A request as the scheduler sees it: counts of tokens, not the tokens. The engine keeps the token
// ids beside it; the simulator needs nothing more. Requests are data: in the simulator they travel
// inside messages, never as actors of their own.
#include <cstdint>

namespace aidc {

struct Request {
  std::uint64_t id = 0;
  std::uint64_t session = 0;  // consistent-hashing key (a user, or a conversation)
  int prompt_tokens = 0;
  // The simulator's requests generate exactly this many tokens; the engine's may stop earlier
  // (a stop token or string), which the engine reports to the scheduler.
  int max_output_tokens = 0;
  int user = -1;  // closed-loop user waiting for it; -1 for open-loop and trace requests
};

enum class RequestStatus { InFlight, Completed, Failed, Rejected };

}  // namespace aidc
