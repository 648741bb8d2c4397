#include "workload/generated_sources.hpp"

namespace aidc {

ClosedLoopSource::ClosedLoopSource(const WorkloadSpec& workload, unsigned long long seed)
    : w_(workload), rng_(seed), prompts_(workload.prompt_tokens), outputs_(workload.output_tokens) {
  for (int user = 0; user < w_.users; ++user) {
    const double first =
        w_.ramp_up_s > 0 ? std::uniform_real_distribution<double>(0, w_.ramp_up_s)(rng_) : sample_think_time(w_, rng_);
    wakeups_.push({first, user});
  }
}

void ClosedLoopSource::take_due(double now, std::vector<SourceRequest>& due) {
  while (!wakeups_.empty() && wakeups_.top().time <= now) {
    SourceRequest request;
    request.user = wakeups_.top().user;
    request.session = static_cast<std::uint64_t>(request.user);
    wakeups_.pop();
    draw_lengths(prompts_, outputs_, rng_, request);
    due.push_back(request);
  }
}

void ClosedLoopSource::answered(int user, double now) { wakeups_.push({now + sample_think_time(w_, rng_), user}); }

OpenLoopSource::OpenLoopSource(const WorkloadSpec& workload, unsigned long long seed, double end_s)
    : w_(workload), rng_(seed), prompts_(workload.prompt_tokens), outputs_(workload.output_tokens), arrivals_(workload, end_s) {
  next_ = arrivals_.next_after(0.0, rng_);
}

void OpenLoopSource::take_due(double now, std::vector<SourceRequest>& due) {
  std::uniform_int_distribution<std::uint64_t> sessions(0, static_cast<std::uint64_t>(w_.sessions) - 1);
  while (next_ <= now) {
    SourceRequest request;
    request.session = sessions(rng_);
    draw_lengths(prompts_, outputs_, rng_, request);
    due.push_back(request);
    next_ = arrivals_.next_after(next_, rng_);
  }
}

}  // namespace aidc
