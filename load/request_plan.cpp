#include "load/request_plan.hpp"

#include <cmath>

#include "workload/csv_input.hpp"

namespace aidc::load {

RequestDraws::RequestDraws(const WorkloadSpec& workload, unsigned long long seed)
    : w_(workload), rng_(seed), prompts_(workload.prompt_tokens), outputs_(workload.output_tokens), arrivals_(workload) {}

void RequestDraws::draw_lengths(PlannedRequest& request) {
  request.output_tokens = outputs_.sample(rng_);
  request.prompt_tokens = prompts_.sample(rng_);
}

std::vector<PlannedRequest> RequestDraws::open_requests(double end_s, long long max_requests) {
  std::vector<PlannedRequest> plan;
  auto room = [&] { return max_requests < 0 || static_cast<long long>(plan.size()) < max_requests; };
  if (w_.kind == WorkloadSpec::Kind::Trace) {
    for (const TraceRow& row : *w_.trace) {  // read once, by the scenario loader
      if (row.arrival_s >= end_s || !room()) break;
      plan.push_back({row.arrival_s, row.prompt_tokens, row.output_tokens, row.session, -1});
    }
    return plan;
  }
  for (double t = arrivals_.next_after(0.0, rng_); t < end_s && room(); t = arrivals_.next_after(t, rng_)) {
    PlannedRequest request;
    request.arrival_s = t;
    request.session = std::uniform_int_distribution<std::uint64_t>(0, static_cast<std::uint64_t>(w_.sessions) - 1)(rng_);
    draw_lengths(request);
    plan.push_back(request);
  }
  return plan;
}

std::vector<double> RequestDraws::first_sends() {
  std::vector<double> starts;
  for (int user = 0; user < w_.users; ++user)
    starts.push_back(w_.ramp_up_s > 0 ? std::uniform_real_distribution<double>(0, w_.ramp_up_s)(rng_) : think_time());
  return starts;
}

PlannedRequest RequestDraws::user_request(int user, double now) {
  PlannedRequest request;
  request.arrival_s = now;
  request.session = static_cast<std::uint64_t>(user);
  request.user = user;
  draw_lengths(request);
  return request;
}

}  // namespace aidc::load
