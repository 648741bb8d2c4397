#include "study/executors/local_processes.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

namespace aidc::study {

RunResult LocalProcesses::run(const RunRequest& request) {
  std::vector<std::string> args = run_command_line(aidc_, request);
  args.front() = "aidc";
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::filesystem::create_directories(std::filesystem::path(request.log_file).parent_path());
  const pid_t parent = ::getpid();
  pid_t pid = -1;
  {
    std::unique_lock lock(mutex_);
    if (stopping_) park(lock);
    // fork + exec rather than posix_spawn, which cannot set the parent-death signal. Between them only
    // async-signal-safe calls: this process has other threads.
    pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(128 + SIGTERM);  // the parent died before prctl
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the study's signal watcher blocks them in its threads
      const int log = ::open(request.log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (log < 0 || ::dup2(log, STDOUT_FILENO) < 0 || ::dup2(log, STDERR_FILENO) < 0) ::_exit(127);
      ::execv(aidc_.c_str(), argv.data());
      ::_exit(127);
    }
    if (pid > 0) running_.insert(pid);
  }
  if (pid < 0) {
    RunResult failed;
    failed.first_error = "cannot start a child process";
    return failed;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  {
    std::unique_lock lock(mutex_);
    running_.erase(pid);
    ended_.notify_all();
    if (stopping_) park(lock);
  }
  return read_run_result(request, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

void LocalProcesses::park(std::unique_lock<std::mutex>& lock) {
  while (true) ended_.wait(lock);
}

void LocalProcesses::stop() {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  for (const pid_t pid : running_) ::kill(pid, SIGTERM);
  if (!ended_.wait_for(lock, std::chrono::seconds(10), [&] { return running_.empty(); })) {
    for (const pid_t pid : running_) ::kill(pid, SIGKILL);
    ended_.wait(lock, [&] { return running_.empty(); });
  }
}

}  // namespace aidc::study
