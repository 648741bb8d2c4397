#include "study/executors/executor.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

namespace aidc::study {

void for_each_parallel(std::size_t count, int workers, const std::function<void(std::size_t)>& work) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < std::max(1, workers); ++w)
    threads.emplace_back([&] {
      for (std::size_t i = next++; i < count; i = next++) work(i);
    });
  for (auto& thread : threads) thread.join();
}

std::vector<RunResult> run_all(RunExecutor& executor, const std::vector<RunRequest>& runs) {
  std::vector<RunResult> results(runs.size());
  for_each_parallel(runs.size(), executor.slots(), [&](std::size_t i) { results[i] = executor.run(runs[i]); });
  return results;
}

}  // namespace aidc::study
