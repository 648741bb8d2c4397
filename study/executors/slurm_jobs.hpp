#pragma once
// Runs a study's runs as tasks of Slurm job arrays (`sbatch --array`), each an `aidc run` on whichever
// node Slurm picks, so the study folder, the scenarios and this aidc binary must be on a filesystem
// every node sees. Each task records its exit status in a file beside the array's task list; squeue
// says whether a task that has not is still queued or running, or was lost (cancelled, timed out, its
// node failed). sacct is not used: without slurmdbd it has no records (docs/studies.md).
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "study/executors/executor.hpp"

namespace aidc::study {

struct SlurmOptions {
  std::string work_dir;                  // task lists, exit files and Slurm's own output (the study folder's slurm/)
  std::vector<std::string> sbatch_args;  // given to every sbatch: --partition, --account, --time, ...
  int max_running = 0;                   // tasks of one array running at once (--array=...%N); 0: no limit
  double poll_s = 5;                     // seconds between looks at the queue; calls to run() in between share an array
};

class SlurmJobs final : public RunExecutor {
 public:
  // Cancels the arrays an earlier, interrupted study left in `work_dir`. `aidc`: the binary the tasks run
  // (default: this process's own).
  explicit SlurmJobs(SlurmOptions options, std::string aidc = "/proc/self/exe");
  ~SlurmJobs() override;  // cancels tasks still queued or running
  // Cancels every array this study submitted (scancel; safe from any thread, e.g. on SIGINT).
  void cancel() const;
  RunResult run(const RunRequest& request) override;
  int slots() const override;
  std::vector<RunResult> run_all(const std::vector<RunRequest>& runs) override;

 private:
  struct Waiting;
  struct Task;
  std::vector<std::shared_ptr<Waiting>> enqueue(const std::vector<RunRequest>& runs);
  std::vector<RunResult> wait_for(const std::vector<std::shared_ptr<Waiting>>& waiting);
  void poll_loop();
  void submit(std::vector<std::shared_ptr<Waiting>> waiting);
  void collect();
  void finish(Waiting& waiting, RunResult result);

  SlurmOptions options_;
  std::string aidc_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<Waiting>> queued_;  // not yet submitted
  std::vector<Task> tasks_;                       // submitted, not yet finished
  int arrays_ = 0;                                // submitted so far; numbers their folders
  int max_array_size_ = 0;                        // Slurm's MaxArraySize, read at the first submission
  bool stopping_ = false;
  std::thread poller_;
};

}  // namespace aidc::study
