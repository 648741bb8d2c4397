#pragma once
// `aidc-engine serve --backend cpu --random-weights` as a child process on a free loopback port, for the
// tests that drive the real server over HTTP (test_server.cpp, test_server_abuse.cpp).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "engine_test_support.h"

namespace aidc::test {

// The server as a child process; killed (if still running) when this goes away.
class ServerProcess {
 public:
  using Clock = std::chrono::steady_clock;
  ServerProcess(const std::string& model, const std::vector<std::string>& extra, const std::filesystem::path& log) {
    std::vector<std::string> args = {AIDC_ENGINE_BINARY, "serve", "--model", model, "--random-weights", "--backend", "cpu",
                                     "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      FILE* err = std::freopen(log.c_str(), "w", stderr);
      (void)err;
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    for (auto until = Clock::now() + std::chrono::seconds(30); Clock::now() < until && port_ == 0;) {
      std::smatch m;
      const std::string text = read_all(log);
      if (std::regex_search(text, m, listening)) port_ = std::stoi(m[1]);
      else if (exited()) break;
      else std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    log_ = log;
  }
  ~ServerProcess() {
    if (pid_ > 0 && !exited()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_all(log_); }
  void signal(int sig) const { kill(pid_, sig); }
  // The exit code once it exits within `limit`; -1 if it does not (or died by a signal).
  int wait_exit(std::chrono::seconds limit) {
    for (auto until = Clock::now() + limit; Clock::now() < until;) {
      if (exited()) return exit_code_;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

 private:
  bool exited() {
    if (reaped_) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    reaped_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return true;
  }
  pid_t pid_ = -1;
  int port_ = 0;
  bool reaped_ = false;
  int exit_code_ = -1;
  std::filesystem::path log_;
};

}  // namespace aidc::test
