#pragma once
// The engine's user-fixable errors are core's (bad config, missing tensor, model too big): the CLI
// prints the message and exits with code 2. Anything else is a bug.
#include "core/common/error.hpp"

namespace aidc {

using EngineError = UserError;

}  // namespace aidc
