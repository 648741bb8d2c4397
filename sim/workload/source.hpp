#pragma once
// Where requests come from: one interface for every workload, so the client actor (sim/actors/client)
// sends what any source yields and a new kind of workload is one new class. Sources are plain data:
// no SimGrid, driven by the simulated times the client passes in.
#include <cstdint>
#include <memory>
#include <vector>

#include "scenario/scenario.hpp"

namespace aidc {

// A request as a source yields it; the client numbers it and stamps its arrival.
struct SourceRequest {
  std::uint64_t session = 0;  // consistent-hashing key
  int prompt_tokens = 0, output_tokens = 0;
  int user = -1;  // closed loop: the user waiting for it
};

class WorkloadSource {
 public:
  virtual ~WorkloadSource() = default;
  // When the next request is due (simulated seconds); +infinity when none is coming for now.
  virtual double next_due() = 0;
  // Appends the requests due at or before `now`, in the order they are sent.
  virtual void take_due(double now, std::vector<SourceRequest>& due) = 0;
  // Closed loop: the answer to `user`'s request reached it at `now`.
  virtual void answered(int /*user*/, double /*now*/) {}
};

// The source the scenario's workload describes, its draws seeded with `seed`; nothing is due after
// `end_s` (the run's duration).
std::unique_ptr<WorkloadSource> make_workload_source(const WorkloadSpec& workload, unsigned long long seed, double end_s);

}  // namespace aidc
