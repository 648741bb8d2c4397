#pragma once
// Where a study's runs execute. SimGrid allows one engine per process, so every run of a batch,
// sweep or plan is an `aidc run` of its own; an executor starts it somewhere (child processes of this
// machine, or tasks of a Slurm job array) and reads back its summary.json.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace aidc::study {

struct RunRequest {
  std::string scenario_file;
  std::vector<std::string> overrides;  // key.path=value
  std::string out_dir;
  std::string log_file;  // the run's stdout and stderr
  std::vector<std::string> run_options;  // more `aidc run` options (the live twin's --start, --step-scale)
};

struct RunResult {
  int exit_code = 1;  // aidc's exit status (common/exit_codes.hpp)
  std::optional<nlohmann::ordered_json> summary;  // when the run finished (keys in the order aidc writes them)
  std::string first_error;                        // the first line of its log, when it failed
};

class RunExecutor {
 public:
  virtual ~RunExecutor() = default;
  // Runs one scenario to its end. Blocking; called from up to slots() threads at once.
  virtual RunResult run(const RunRequest& request) = 0;
  // Runs it takes at once.
  virtual int slots() const = 0;
  // Runs all, results in the same order. This default calls run() from slots() threads; a cluster
  // scheduler's executor submits them together instead.
  virtual std::vector<RunResult> run_all(const std::vector<RunRequest>& runs);
};

// The `aidc run` command line of a request (program path first): quiet, no progress, its overrides
// and run options.
std::vector<std::string> run_command_line(const std::string& aidc, const RunRequest& request);
// What a run that ended with `exit_code` left behind: its summary.json when it finished (none when
// that file is missing or not whole), else the first line of its log.
RunResult read_run_result(const RunRequest& request, int exit_code);
// Calls `work(i)` for i in [0, count), from up to `workers` threads taking the next index as they finish.
void for_each_parallel(std::size_t count, int workers, const std::function<void(std::size_t)>& work);

}  // namespace aidc::study
