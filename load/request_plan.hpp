#pragma once
// What `aidc load` sends and when: the scenario's workload drawn with the simulator's own generators
// (sim/workload/generators.*, the trace the loader read) in the order its sources draw them
// (sim/workload/generated_sources.*), from one generator seeded with simulation.seed. The same scenario and seed
// therefore give the same arrival times and lengths as `aidc run` (tests/serving/load_test.cpp checks it
// against the simulator's requests.csv); in a closed loop that holds until completions, which the real
// server decides, interleave with the draws.
#include <cstdint>
#include <vector>

#include "scenario/scenario.hpp"
#include "workload/generators.hpp"

namespace aidc::load {

struct PlannedRequest {
  double arrival_s = 0;
  int prompt_tokens = 0, output_tokens = 0;
  std::uint64_t session = 0;
  int user = -1;  // closed loop: who sends it
};

class RequestDraws {
 public:
  RequestDraws(const WorkloadSpec& workload, unsigned long long seed);

  // Open loop and trace: every request arriving before `end_s`, at most `max_requests` of them.
  std::vector<PlannedRequest> open_requests(double end_s, long long max_requests);

  // Closed loop: when each user sends its first request (ramp-up spread, or a think time).
  std::vector<double> first_sends();
  // Closed loop: `user`'s request sent at `now`.
  PlannedRequest user_request(int user, double now);
  // Closed loop: the pause after an answer arrives.
  double think_time() { return sample_think_time(w_, rng_); }

 private:
  // The simulator evaluates `send(session, prompts_.sample(rng_), outputs_.sample(rng_), ...)`, whose
  // argument order the compiler chooses; GCC draws the output length first.
  void draw_lengths(PlannedRequest& request);

  const WorkloadSpec& w_;
  Rng rng_;
  LengthSampler prompts_, outputs_;
  ArrivalProcess arrivals_;
};

}  // namespace aidc::load
