#pragma once
// The `aidc` subcommands. Each returns the process exit code: 0 done, 2 bad input, 1 internal failure.
#include <string>
#include <vector>

#include "study/batch.hpp"
#include "study/plan.hpp"

namespace aidc::cli {

struct RunOptions {
  std::string scenario_file;
  std::string out_dir;  // empty: runs/<scenario>-<timestamp>
  std::vector<std::string> overrides;
  std::string progress = "auto";  // auto (a bar on a terminal) | bar (on any stream) | json | none
  bool quiet = false;            // no report on stdout
  bool allow_long = false;       // run even beyond the work limits (run/work_estimate.hpp)
  std::string start_state_file;  // start from this deployment state (the live twin's snapshot, twin/start_state_file.hpp)
  double step_scale = 1.0;       // every iteration's time times this (the live twin's recalibration)
};
// Exit 130 / 143 when stopped by SIGINT / SIGTERM (nothing written unless the outputs were complete).
int run(const RunOptions& options);

struct ValidateOptions {
  std::vector<std::string> files;
  std::vector<std::string> overrides;
  std::string format = "text";  // text | json
};
int validate(const ValidateOptions& options);

// Studies (study/): their runs go to child processes of this machine or to Slurm job arrays.
struct ExecutorOptions {
  std::string executor = "local";        // local | slurm
  std::vector<std::string> sbatch_args;  // slurm: given to every sbatch
  int max_running = 0;                   // slurm: tasks of an array running at once (-j when given); 0: no limit
  double poll_s = 5;                     // slurm: seconds between looks at the queue
  bool resume = false;                   // keep the runs an interrupted study into the same folder finished
};

using BatchOptions = study::BatchOptions;
int batch(const BatchOptions& options, const ExecutorOptions& executor);

using PlanOptions = study::PlanOptions;
int plan(const PlanOptions& options, const ExecutorOptions& executor);

// `aidc calibrate`: fit a black-box step model from measured runs (folders `aidc load` wrote).
struct CalibrateOptions {
  std::vector<std::string> runs;
  std::string out;     // the calibration file to write (source: fit)
  std::string engine;  // what served them, e.g. "vllm 0.6.3" (metadata.engine_version)
  std::string gpu;     // what it ran on (default: the runs' datacenter.gpu)
};
int calibrate(const CalibrateOptions& options);

struct SchemaOptions {
  std::string format = "json";  // json | markdown
  std::string update_doc;       // a Markdown file whose `<!-- schema: … -->` blocks are regenerated in place
};
int schema(const SchemaOptions& options);

}  // namespace aidc::cli
