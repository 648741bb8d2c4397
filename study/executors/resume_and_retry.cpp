#include "study/executors/resume_and_retry.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/config_tree.hpp"
#include "common/exit_codes.hpp"
#include "scenario/loader.hpp"

namespace aidc::study {
namespace {

// Beside the run's outputs: the scenario file, the run's options and the resolved tree the run was
// started with. Resuming compares it with what the request resolves to now, so an edited scenario,
// sweep, override or option runs again.
const char* const kRequestFile = "study_request.yaml";

// Empty when the request does not resolve (its run then fails with the reason).
std::string resolved_request(const RunRequest& request) {
  try {
    std::string options;
    for (const auto& option : request.run_options) options += " " + option;
    return "# " + std::filesystem::absolute(request.scenario_file).lexically_normal().string() + "\n# options:" + options +
           "\n" + to_yaml(resolve_scenario_tree(request.scenario_file, request.overrides));
  } catch (const std::exception&) {
    return "";
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool worth_retrying(const RunResult& result) {
  return result.exit_code != kExitDone && result.exit_code != kExitBadInput;
}

void announce_retry(const RunRequest& request, const RunResult& result) {
  std::printf("  retrying %s once: %s\n", std::filesystem::path(request.out_dir).filename().c_str(),
              result.first_error.c_str());
  std::fflush(stdout);
}

}  // namespace

std::optional<RunResult> ResumeAndRetry::finished_or_prepare(const RunRequest& request) const {
  const std::string resolved = resolved_request(request);
  const std::string summary = request.out_dir + "/summary.json";
  if (resume_ && !resolved.empty() && read_text(request.out_dir + "/" + kRequestFile) == resolved) {
    RunResult earlier = read_run_result(request, kExitDone);
    if (earlier.summary) return earlier;
  }
  std::error_code ignored;
  std::filesystem::remove(summary, ignored);
  if (!resolved.empty()) {
    std::filesystem::create_directories(request.out_dir);
    write_file_atomically(request.out_dir + "/" + kRequestFile, resolved);
  }
  return std::nullopt;
}

RunResult ResumeAndRetry::run(const RunRequest& request) {
  if (auto earlier = finished_or_prepare(request)) return *earlier;
  RunResult result = executor_.run(request);
  if (!worth_retrying(result)) return result;
  announce_retry(request, result);
  return executor_.run(request);
}

std::vector<RunResult> ResumeAndRetry::run_all(const std::vector<RunRequest>& runs) {
  std::vector<RunResult> results(runs.size());
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (auto earlier = finished_or_prepare(runs[i]))
      results[i] = *earlier;
    else
      pending.push_back(i);
  }
  if (resume_) std::printf("  resuming: %zu of %zu runs had finished\n", runs.size() - pending.size(), runs.size());
  for (int attempt = 0; attempt < 2 && !pending.empty(); ++attempt) {
    std::vector<RunRequest> requests;
    for (std::size_t i : pending) requests.push_back(runs[i]);
    const std::vector<RunResult> attempted = executor_.run_all(requests);
    std::vector<std::size_t> failed;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      results[pending[k]] = attempted[k];
      if (attempt == 0 && worth_retrying(attempted[k])) {
        announce_retry(runs[pending[k]], attempted[k]);
        failed.push_back(pending[k]);
      }
    }
    pending = failed;
  }
  return results;
}

}  // namespace aidc::study
