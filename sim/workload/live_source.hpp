#pragma once
// Requests fed while the simulation runs (the live twin: requests as a real deployment sees them).
// Another thread feeds requests and releases simulated time: release_until(t) promises that no
// request arriving before t will be fed any more, so the simulation may run up to t. Until then it
// waits, in wall time, for the feeder: it never runs ahead of what it has been told.
#include <condition_variable>
#include <map>
#include <mutex>

#include "workload/source.hpp"

namespace aidc {

class LiveSource final : public WorkloadSource {
 public:
  // Any thread. `arrival_s` must not be before the time already released (std::invalid_argument).
  void feed(double arrival_s, const SourceRequest& request);
  // Any thread. Times only move forward: an earlier `t` changes nothing.
  void release_until(double t);
  // Any thread: nothing more will be fed; the simulation runs on to its end.
  void close();

  // The simulation's side.
  double next_due() override;
  void take_due(double now, std::vector<SourceRequest>& due) override;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::multimap<double, SourceRequest> pending_;  // by arrival; equal arrivals in the order fed
  double released_ = 0;
  bool closed_ = false;
};

}  // namespace aidc
