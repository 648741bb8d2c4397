#include "cli/child_runs.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace aidc::cli {

ChildResult run_child(const ChildRun& run) {
  std::vector<std::string> args = {"aidc", "run", run.scenario_file, "--out", run.out_dir, "--progress", "none", "--quiet"};
  for (const auto& o : run.overrides) args.insert(args.end(), {"--set", o});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::filesystem::create_directories(std::filesystem::path(run.log_file).parent_path());
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, run.log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  ChildResult result;
  const int spawn_error = posix_spawn(&pid, "/proc/self/exe", &files, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  if (spawn_error != 0) {
    result.first_error = "cannot start a child process";
    return result;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (result.exit_code == 0) {
    std::ifstream summary(run.out_dir + "/summary.json");
    result.summary = nlohmann::ordered_json::parse(summary);
  } else {
    std::ifstream log(run.log_file);
    std::getline(log, result.first_error);
  }
  return result;
}

std::vector<ChildResult> run_children(const std::vector<ChildRun>& runs, int jobs) {
  std::vector<ChildResult> results(runs.size());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < std::max(1, jobs); ++w)
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < runs.size(); i = next++) results[i] = run_child(runs[i]);
    });
  for (auto& worker : workers) worker.join();
  return results;
}

void flatten_json(const nlohmann::ordered_json& value, const std::string& prefix,
                  std::vector<std::pair<std::string, std::string>>& out) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) flatten_json(child, prefix.empty() ? key : prefix + "." + key, out);
  } else if (value.is_string()) {
    out.emplace_back(prefix, value.get<std::string>());
  } else if (!value.is_array()) {
    out.emplace_back(prefix, value.is_null() ? std::string() : value.dump());
  }
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char ch : text) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return quoted + "\"";
}

}  // namespace aidc::cli
