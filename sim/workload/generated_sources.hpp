#pragma once
// Workloads drawn from distributions (sim/workload/generators.*) with one seeded generator each, in
// the order aidc has always drawn them (`aidc load` sends what these same sources yield: load/load_run.cpp).
#include <limits>
#include <queue>

#include "workload/generators.hpp"
#include "workload/source.hpp"

namespace aidc {

// A fixed population of users, each sending a request, waiting for its answer, thinking, and
// sending the next. First requests spread over the ramp-up, or one think time each.
class ClosedLoopSource final : public WorkloadSource {
 public:
  ClosedLoopSource(const WorkloadSpec& workload, unsigned long long seed);
  double next_due() override { return wakeups_.empty() ? std::numeric_limits<double>::infinity() : wakeups_.top().time; }
  void take_due(double now, std::vector<SourceRequest>& due) override;
  void answered(int user, double now) override;

 private:
  struct Wakeup {
    double time;
    int user;
    bool operator>(const Wakeup& o) const { return time > o.time || (time == o.time && user > o.user); }
  };
  const WorkloadSpec& w_;
  Rng rng_;
  LengthSampler prompts_, outputs_;
  std::priority_queue<Wakeup, std::vector<Wakeup>, std::greater<>> wakeups_;
};

// Requests arriving by the scenario's arrival process until `end_s`, whatever happens to earlier ones;
// each from a session drawn uniformly.
class OpenLoopSource final : public WorkloadSource {
 public:
  OpenLoopSource(const WorkloadSpec& workload, unsigned long long seed, double end_s);
  double next_due() override { return next_; }
  void take_due(double now, std::vector<SourceRequest>& due) override;

 private:
  const WorkloadSpec& w_;
  Rng rng_;
  LengthSampler prompts_, outputs_;
  ArrivalProcess arrivals_;
  double next_;
};

// Draws a request's lengths: the output first, the order aidc has always drawn them in.
inline void draw_lengths(LengthSampler& prompts, LengthSampler& outputs, Rng& rng, SourceRequest& request) {
  request.output_tokens = outputs.sample(rng);
  request.prompt_tokens = prompts.sample(rng);
}

}  // namespace aidc
