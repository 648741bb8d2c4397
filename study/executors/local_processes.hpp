#pragma once
// Runs each study run as a child process of this machine: `aidc run ... --progress none --quiet`.
#include "study/executors/executor.hpp"

namespace aidc::study {

class LocalProcesses final : public RunExecutor {
 public:
  // `aidc`: the binary to start (default: this process's own, which is aidc).
  explicit LocalProcesses(int jobs, std::string aidc = "/proc/self/exe") : jobs_(jobs), aidc_(std::move(aidc)) {}
  RunResult run(const RunRequest& request) override;
  int slots() const override { return jobs_; }

 private:
  int jobs_;
  std::string aidc_;
};

}  // namespace aidc::study
