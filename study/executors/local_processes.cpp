#include "study/executors/local_processes.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

extern char** environ;

namespace aidc::study {

RunResult LocalProcesses::run(const RunRequest& request) {
  std::vector<std::string> args = {"aidc", "run", request.scenario_file, "--out", request.out_dir, "--progress", "none", "--quiet"};
  for (const auto& o : request.overrides) args.insert(args.end(), {"--set", o});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::filesystem::create_directories(std::filesystem::path(request.log_file).parent_path());
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, request.log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  RunResult result;
  const int spawn_error = posix_spawn(&pid, aidc_.c_str(), &files, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  if (spawn_error != 0) {
    result.first_error = "cannot start a child process";
    return result;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (result.exit_code == 0) {
    std::ifstream summary(request.out_dir + "/summary.json");
    result.summary = nlohmann::ordered_json::parse(summary);
  } else {
    std::ifstream log(request.log_file);
    std::getline(log, result.first_error);
  }
  return result;
}

}  // namespace aidc::study
