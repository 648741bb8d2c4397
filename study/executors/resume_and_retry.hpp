#pragma once
// What a study does around whichever executor runs it: a run that fails for a reason other than its
// input (a crash, a lost node, a cancelled or timed-out job) runs once more before it is reported;
// with `resume`, a run whose folder already holds a whole summary.json computed from the same
// resolved scenario is not run again, so an interrupted study picks up where it stopped.
#include "study/executors/executor.hpp"

namespace aidc::study {

class ResumeAndRetry final : public RunExecutor {
 public:
  ResumeAndRetry(RunExecutor& executor, bool resume) : executor_(executor), resume_(resume) {}
  RunResult run(const RunRequest& request) override;
  int slots() const override { return executor_.slots(); }
  std::vector<RunResult> run_all(const std::vector<RunRequest>& runs) override;

 private:
  // The result of an earlier, finished run of this request, when resuming and there is one;
  // otherwise clears the folder's summary.json and records what the run is about to compute.
  std::optional<RunResult> finished_or_prepare(const RunRequest& request) const;

  RunExecutor& executor_;
  bool resume_;
};

}  // namespace aidc::study
