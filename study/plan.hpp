#pragma once
// aidc plan: the cheapest deployment that meets the SLOs at the scenario's load, found by running
// candidate deployments (GPU type, tensor parallelism, batch limit, replicas) through an executor.
// Writes plan.csv (every run) and plan.json (winner and cost/latency frontier) into out_dir.
#include <string>
#include <vector>

#include "study/executors/executor.hpp"

namespace aidc::study {

struct PlanOptions {
  std::string scenario_file;
  std::vector<std::string> overrides;
  std::vector<std::string> gpus;         // empty: every GPU that fits a catalog server
  std::vector<int> max_batch_sequences;  // empty: the scenario's
  int max_gpus = 4096;
  int jobs = 1;
  std::string out_dir;
};

// Throws InputErrors for a bad scenario or option; returns kExitDone (common/exit_codes.hpp), also
// when no deployment meets the SLOs (plan.json says so).
int run_plan(const PlanOptions& options, RunExecutor& executor);

}  // namespace aidc::study
