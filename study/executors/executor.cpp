#include "study/executors/executor.hpp"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include "common/exit_codes.hpp"

namespace aidc::study {

void for_each_parallel(std::size_t count, int workers, const std::function<void(std::size_t)>& work) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  const std::size_t thread_count = std::min<std::size_t>(std::max(workers, 1), std::max<std::size_t>(count, 1));
  for (std::size_t w = 0; w < thread_count; ++w)
    threads.emplace_back([&] {
      for (std::size_t i = next++; i < count; i = next++) work(i);
    });
  for (auto& thread : threads) thread.join();
}

std::vector<RunResult> RunExecutor::run_all(const std::vector<RunRequest>& runs) {
  std::vector<RunResult> results(runs.size());
  for_each_parallel(runs.size(), slots(), [&](std::size_t i) { results[i] = run(runs[i]); });
  return results;
}

std::vector<std::string> run_command_line(const std::string& aidc, const RunRequest& request) {
  std::vector<std::string> args = {aidc, "run", request.scenario_file, "--out", request.out_dir, "--progress", "none", "--quiet"};
  for (const auto& o : request.overrides) args.insert(args.end(), {"--set", o});
  args.insert(args.end(), request.run_options.begin(), request.run_options.end());
  return args;
}

RunResult read_run_result(const RunRequest& request, int exit_code) {
  RunResult result;
  result.exit_code = exit_code;
  if (exit_code == kExitDone) {
    std::ifstream summary(request.out_dir + "/summary.json");
    auto parsed = nlohmann::ordered_json::parse(summary, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      result.exit_code = kExitInternal;
      result.first_error = "the run ended without a whole " + request.out_dir + "/summary.json";
    } else {
      result.summary = std::move(parsed);
    }
  } else {
    std::ifstream log(request.log_file);
    std::getline(log, result.first_error);
  }
  return result;
}

}  // namespace aidc::study
