#pragma once
// Errors the user can fix (bad config, missing tensor, model too big) are EngineError: the CLI prints
// the message and exits with code 2. Anything else is a bug.
#include <stdexcept>
#include <string>

namespace aidc {

struct EngineError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const std::string& message) { throw EngineError(message); }

inline void require(bool ok, const std::string& message) {
  if (!ok) fail(message);
}

}  // namespace aidc
