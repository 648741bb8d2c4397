// `aidc batch` and `aidc plan`: parsed options to the studies (study/), run as local child processes.
#include "cli/commands.hpp"
#include "cli/errors.hpp"
#include "study/executors/local_processes.hpp"

namespace aidc::cli {

int batch(const BatchOptions& options) {
  return guarded([&] {
    study::LocalProcesses executor(options.jobs);
    return study::run_batch(options, executor);
  });
}

int plan(const PlanOptions& options) {
  return guarded([&] {
    study::LocalProcesses executor(options.jobs);
    return study::run_plan(options, executor);
  });
}

}  // namespace aidc::cli
