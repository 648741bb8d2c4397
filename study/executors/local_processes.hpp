#pragma once
// Runs each study run as a child process of this machine: `aidc run ... --progress none --quiet`.
// The children die with the thread that started them (PR_SET_PDEATHSIG: SIGTERM, on which a run
// removes its partial outputs), so a study killed even with SIGKILL leaves no run going on.
#include <condition_variable>
#include <mutex>
#include <set>
#include <sys/types.h>

#include "study/executors/executor.hpp"

namespace aidc::study {

class LocalProcesses final : public RunExecutor {
 public:
  // `aidc`: the binary to start (default: this process's own, which is aidc).
  explicit LocalProcesses(int jobs, std::string aidc = "/proc/self/exe") : jobs_(jobs), aidc_(std::move(aidc)) {}
  RunResult run(const RunRequest& request) override;
  int slots() const override { return jobs_; }
  // Sends SIGTERM to every running child and waits (at most 10 s, then SIGKILL) until they have ended.
  // For a process about to exit (a signal watcher calls it): from then on run() never returns, so the
  // study writes no results of runs it stopped, and no run starts.
  void stop();

 private:
  [[noreturn]] void park(std::unique_lock<std::mutex>& lock);

  int jobs_;
  std::string aidc_;
  std::mutex mutex_;
  std::condition_variable ended_;
  std::set<pid_t> running_;
  bool stopping_ = false;
};

}  // namespace aidc::study
