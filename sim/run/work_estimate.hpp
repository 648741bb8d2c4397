#pragma once
// How much work a run is, from its scenario alone, before anything is built: simulation events (wall
// time) and memory. `aidc run` refuses a run beyond the limits unless `--allow-long` is given, so a
// typo (a rate of 1e7/s, 268 million servers, a 1 ms time series over 11 days) is a clear error in
// milliseconds instead of a machine swapping for hours. The coefficients are measured (docs/reliability.md).
#include <string>
#include <vector>

#include "scenario/scenario.hpp"

namespace aidc {

// One cause of work: what it is, the keys that drive it, and its share of events and bytes.
struct WorkTerm {
  std::string what;                    // e.g. "6.0e+09 requests (peak 1e+07/s × duration_s 600 s)"
  std::vector<std::string> key_paths;  // the scenario keys that set it, the first the most direct
  double events = 0;
  double bytes = 0;
};

struct WorkEstimate {
  std::vector<WorkTerm> terms;
  double events() const;
  double bytes() const;
};

// Measured on the 2-core CI machine: about 5·10⁵ events/s, so 10⁹ events is about half an hour.
inline constexpr double kMaxRunEvents = 1e9;
inline constexpr double kMaxRunBytes = 4.0 * (1ull << 30);

WorkEstimate estimate_work(const Scenario& scenario);

// Throws InputErrors located at the key of the largest term when the estimate passes either limit,
// naming the estimate, the limit and `--allow-long`.
void check_run_size(const Scenario& scenario);

}  // namespace aidc
