#include "actors/monitor.hpp"

#include <algorithm>

#include "serving/messages.hpp"

namespace aidc {

MonitorActor::MonitorActor(RunRecorder& recorder, double end_s, ProgressSink* progress)
    : recorder_(recorder), end_(end_s), progress_(progress) {
  for (int r = 0; r < recorder.record().series.replicas(); ++r) replicas_.push_back(std::make_unique<des::Inbox>(replica_inbox(r)));
  clocks_.assign(replicas_.size(), 1.0);  // replicas start at full clock
}

void MonitorActor::operator()() {
  TimeSeries& series = recorder_.record().series;
  for (std::size_t b = 0; b < series.bins(); ++b) {
    const double t = std::min(end_, (static_cast<double>(b) + 1) * series.interval());
    des::sleep_until(t);
    series.set_sample(b, recorder_.in_flight(), recorder_.queued());
    if (FacilityRuntime* facility = recorder_.facility()) {
      const std::vector<double> clocks = facility->end_interval(b, series, recorder_.work_done(), recorder_.serving());
      for (std::size_t r = 0; r < clocks.size(); ++r)
        if (clocks[r] != clocks_[r]) replicas_[r]->notify(std::make_unique<ClockNotice>(clocks_[r] = clocks[r]));
    }
    if (progress_) progress_->update(t, end_);
  }
  des::yield();  // replicas waking at the very end record their last iterations before the run stops
}

}  // namespace aidc
