#pragma once
// A deployment's state as a file, so a simulation in another process can start from it: the live
// twin writes its mirror's snapshot, `aidc run --start FILE` reads it (one SimGrid engine per process).
//   {"requests": [{"replica", "prompt_tokens", "output_tokens", "computed_tokens", "generated_tokens",
//                  "arrival_s", "first_token_s" (absent: not yet)}],
//    "down": [{"replica", "serving_again_s"}]}
// Times are relative to the start (arrivals before it are negative).
#include <string>

#include "run/simulate.hpp"

namespace aidc::twin {

void write_start_state(const std::string& path, const StartState& state);
// Bad input (a missing or mistyped field) throws InputErrors naming the file and the field.
StartState read_start_state(const std::string& path);

// simulate() from the state in `start_file` (none when empty): `aidc run --start`. A state the
// deployment cannot hold (a replica out of range, more KV than it has) is bad input, naming the file.
RunRecord simulate_from_state_file(const Scenario& scenario, const Catalog& catalog, const PerformanceModel& performance,
                                   RunSetup setup, const std::string& start_file);

}  // namespace aidc::twin
