#pragma once
// The exit status of every `aidc` command: studies read their child runs' by these.
namespace aidc {

constexpr int kExitDone = 0;
constexpr int kExitInternal = 1;
constexpr int kExitBadInput = 2;  // the scenario or an input file is wrong; errors printed as FILE:LINE:COL

}  // namespace aidc
