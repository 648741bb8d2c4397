// `aidc batch` and `aidc plan`: parsed options to the studies (study/), run by the executor the
// options name, with failed runs retried once and, on --resume, finished runs kept.
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>

#include "cli/commands.hpp"
#include "cli/errors.hpp"
#include "cli/interrupt.hpp"
#include "common/output_folder.hpp"
#include "study/executors/local_processes.hpp"
#include "study/executors/resume_and_retry.hpp"
#include "study/executors/slurm_jobs.hpp"

namespace aidc::cli {
namespace {

int with_executor(const ExecutorOptions& options, int jobs, const std::string& out_dir,
                  const std::function<int(study::RunExecutor&)>& study_body) {
  std::unique_ptr<study::RunExecutor> executor;
  std::atomic<study::LocalProcesses*> local_runs{nullptr};
  std::atomic<study::SlurmJobs*> slurm_runs{nullptr};
  std::mutex holding;
  std::optional<OutputFolder> folder;  // checked writable and held before the first run starts
  // SIGINT / SIGTERM: the local runs going on are stopped (each removes its partial outputs), then exit 130 / 143.
  const InterruptHandler interrupt([&](const char* signal) {
    if (study::LocalProcesses* runs = local_runs) runs->stop();
    if (study::SlurmJobs* jobs = slurm_runs) jobs->cancel();
    const std::lock_guard lock(holding);
    folder.reset();
    std::fprintf(stderr, "aidc: stopped by %s; runs going on were stopped, finished runs keep their folders\n", signal);
  });
  const int status = guarded([&] {
    {
      const std::lock_guard lock(holding);
      folder.emplace(out_dir);
    }
    if (options.executor == "slurm") {
      auto jobs = std::make_unique<study::SlurmJobs>(
          study::SlurmOptions{out_dir + "/slurm", options.sbatch_args, options.max_running, options.poll_s});
      slurm_runs = jobs.get();
      executor = std::move(jobs);
    } else {
      auto processes = std::make_unique<study::LocalProcesses>(jobs);
      local_runs = processes.get();
      executor = std::move(processes);
    }
    study::ResumeAndRetry runs(*executor, options.resume);
    return study_body(runs);
  });
  const std::lock_guard lock(holding);
  folder.reset();
  return status;
}

}  // namespace

int batch(const BatchOptions& options, const ExecutorOptions& executor) {
  return with_executor(executor, options.jobs, options.out_dir,
                       [&](study::RunExecutor& runs) { return study::run_batch(options, runs); });
}

int plan(const PlanOptions& options, const ExecutorOptions& executor) {
  return with_executor(executor, options.jobs, options.out_dir,
                       [&](study::RunExecutor& runs) { return study::run_plan(options, runs); });
}

}  // namespace aidc::cli
