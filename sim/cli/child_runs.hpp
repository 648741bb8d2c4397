#pragma once
// Runs `aidc run` in child processes: SimGrid allows one engine per process, so batches, sweeps
// and plans fan out to children and read back their summary.json.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace aidc::cli {

struct ChildRun {
  std::string scenario_file;
  std::vector<std::string> overrides;
  std::string out_dir;
  std::string log_file;  // the child's stdout and stderr
};

struct ChildResult {
  int exit_code = 1;
  std::optional<nlohmann::ordered_json> summary;  // when the run finished (keys in the order aidc writes them)
  std::string first_error;                // the first line of its stderr, when it failed
};

// Blocks until the child exits.
ChildResult run_child(const ChildRun& run);
// Runs all, at most `jobs` at a time, results in the same order.
std::vector<ChildResult> run_children(const std::vector<ChildRun>& runs, int jobs);

// Every number, bool and string leaf of a summary as dotted-key columns, in document order.
void flatten_json(const nlohmann::ordered_json& value, const std::string& prefix,
                  std::vector<std::pair<std::string, std::string>>& out);

std::string csv_field(const std::string& text);

}  // namespace aidc::cli
