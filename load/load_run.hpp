#pragma once
// `aidc load`: drives a real OpenAI-compatible endpoint with a scenario's workload and writes what it
// measured in `aidc run`'s schema (requests.csv, timeseries.csv, summary.json, report.txt), so the same
// report code, `aidc` commands and the GUI read measured and simulated runs alike.
#include <string>
#include <vector>

namespace aidc::load {

struct LoadOptions {
  std::string scenario_file;
  std::string url = "http://127.0.0.1:8000";
  std::string model;    // empty: the first id of GET /v1/models
  std::string out_dir;  // empty: runs/<scenario>-load-<timestamp>
  std::vector<std::string> overrides;
  long long max_requests = -1;  // -1: as many as the scenario sends in duration_s
  double timeout_s = 60;        // a request not finished this long after its arrival is timed out
  int vocab = 0;                // prompt token ids stay below this; 0: the scenario model's vocab_size
  std::string progress = "bar";  // bar | json | none
  bool quiet = false;
};

// Returns the exit code: 0 done (failed and timed-out requests are measurements), 2 bad input.
// Throws InputErrors for a bad scenario, std::exception for anything else.
int run_load(const LoadOptions& options);

}  // namespace aidc::load
