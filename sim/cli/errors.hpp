#pragma once
// Maps failures to exit codes: bad input (InputErrors, a file we cannot read) is 2 with every
// error printed as FILE:LINE:COL: error: key.path: message; anything else is 1.
#include <functional>

namespace aidc::cli {

constexpr int kExitDone = 0;
constexpr int kExitInternal = 1;
constexpr int kExitBadInput = 2;

int guarded(const std::function<int()>& body);

}  // namespace aidc::cli
