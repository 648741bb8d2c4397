#pragma once
// aidc batch: several scenarios, or the cross product of sweeps over scenario keys, each run to its
// end by an executor; one row per run in batch.csv (status, then every summary.json leaf as a column).
#include <string>
#include <vector>

#include "study/executors/executor.hpp"

namespace aidc::study {

struct BatchOptions {
  std::vector<std::string> files;
  std::vector<std::string> sweeps;  // key.path=v1,v2,...
  std::vector<std::string> overrides;
  int jobs = 1;
  std::string out_dir;
  bool allow_long = false;  // each run's `aidc run --allow-long`
};

// Throws InputErrors for a malformed sweep or a missing file; returns the worst exit status of the
// runs (common/exit_codes.hpp).
int run_batch(const BatchOptions& options, RunExecutor& executor);

}  // namespace aidc::study
