#pragma once
// Increments of Prometheus counters between two reads, as rate() and increase() count them: a value
// below the previous one is a reset (the process restarted and counts again from 0), so the increment
// is the new value itself. A series seen for the first time has no baseline and adds nothing; a series
// that goes missing keeps its last value, so a scrape gap is not a reset.
#include <cmath>
#include <map>
#include <string>

namespace aidc::twin {

class CounterTracker {
 public:
  // The increment of series `key` since its previous value; 0 the first time, and for NaN.
  double increase(const std::string& key, double value) {
    if (std::isnan(value)) return 0;
    const auto [it, first] = last_.try_emplace(key, value);
    if (first) return 0;
    const double previous = it->second;
    it->second = value;
    if (value >= previous) return value - previous;
    ++resets_;
    return value;
  }
  std::size_t resets_seen() const { return resets_; }

 private:
  std::map<std::string, double> last_;
  std::size_t resets_ = 0;
};

}  // namespace aidc::twin
