#include "workload/live_source.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace aidc {

void LiveSource::feed(double arrival_s, const SourceRequest& request) {
  {
    std::lock_guard lock(mutex_);
    if (closed_ || !(arrival_s >= released_))
      throw std::invalid_argument("live workload: a request arriving at " + std::to_string(arrival_s) +
                                  " s comes after the simulation was released to " + std::to_string(released_) +
                                  (closed_ ? " s and the source closed" : " s"));
    pending_.emplace(arrival_s, request);
  }
  changed_.notify_all();
}

void LiveSource::release_until(double t) {
  {
    std::lock_guard lock(mutex_);
    if (t > released_) released_ = t;
  }
  changed_.notify_all();
}

void LiveSource::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

double LiveSource::next_due() {
  std::lock_guard lock(mutex_);
  const double horizon = closed_ ? std::numeric_limits<double>::infinity() : released_;
  if (!pending_.empty() && pending_.begin()->first <= horizon) return pending_.begin()->first;
  return horizon;  // the client wakes there and asks again
}

void LiveSource::take_due(double now, std::vector<SourceRequest>& due) {
  std::unique_lock lock(mutex_);
  // At the released horizon: wait for the feeder to say what comes next.
  changed_.wait(lock, [&] { return closed_ || released_ > now; });
  for (auto it = pending_.begin(); it != pending_.end() && it->first <= now; it = pending_.erase(it))
    due.push_back(it->second);
}

}  // namespace aidc
