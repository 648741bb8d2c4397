#pragma once
// The recorder's clock: at the end of each timeseries interval it samples requests in flight and
// queued, runs the facility model on the work the replicas recorded (power, cooling, temperatures)
// and tells each replica the clock it runs at next, and reports progress. The one actor that lives
// until the end of the simulated time.
#include <memory>
#include <vector>

#include "actors/recorder.hpp"
#include "des/des.hpp"

namespace aidc {

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void update(double simulated_s, double total_s) = 0;
};

class MonitorActor {
 public:
  MonitorActor(RunRecorder& recorder, double end_s, ProgressSink* progress);
  void operator()();

 private:
  RunRecorder& recorder_;
  const double end_;
  ProgressSink* progress_;
  std::vector<std::unique_ptr<des::Inbox>> replicas_;
  std::vector<double> clocks_;  // as last told to each replica
};

}  // namespace aidc
