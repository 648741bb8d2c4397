#pragma once
// Maps failures to exit codes: bad input (InputErrors, a file we cannot read) is 2 with every
// error printed as FILE:LINE:COL: error: key.path: message; anything else is 1 (an output that could
// not be written: "aidc: error: cannot write PATH: REASON").
#include <functional>

#include "common/exit_codes.hpp"

namespace aidc::cli {

using aidc::kExitBadInput;
using aidc::kExitDone;
using aidc::kExitInternal;

int guarded(const std::function<int()>& body);

}  // namespace aidc::cli
