#pragma once
#include <vector>

namespace aidc {

// Percentile with linear interpolation between closest ranks (NumPy's default "linear" method):
// p in [0, 100]. Sorts a copy. Returns 0 for an empty sample.
double percentile(std::vector<double> values, double p);
double mean(const std::vector<double>& values);

struct Summary {
  double mean = 0, p50 = 0, p90 = 0, p99 = 0;
};
Summary summarize(const std::vector<double>& values);

}  // namespace aidc
