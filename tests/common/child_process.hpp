#pragma once
// A process a test starts (a server, a daemon, a command it waits for), shared by the test areas that
// run real programs: the serving stack, the twin, the Slurm cluster. Its stdout and stderr go to one log;
// it dies with the test process (PR_SET_PDEATHSIG), so nothing outlives a crashed test, and it is stopped
// (a signal, then SIGKILL) when it goes out of scope.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace aidc_test {

// A loopback port nobody listens on right now.
inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof address;
  const bool bound = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                     getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
  if (fd >= 0) close(fd);
  if (!bound) throw std::runtime_error("no free loopback port");
  return ntohs(address.sin_port);
}

class ChildProcess {
 public:
  // argv[0] is a path or a name looked up on PATH; `cwd` empty: the test's own folder.
  ChildProcess(std::vector<std::string> argv, const std::string& log, const std::string& cwd = "") : log_(log) {
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      // A parent that died before prctl would never send the signal: then end now.
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
      if ((!cwd.empty() && chdir(cwd.c_str()) != 0) || !freopen(log.c_str(), "w", stdout) ||
          dup2(fileno(stdout), STDERR_FILENO) < 0)
        _exit(127);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  ~ChildProcess() { stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // -1 once it has ended and been waited for.
  pid_t pid() const { return pid_; }
  const std::string& log() const { return log_; }

  // Its exit code (128 + signal when killed) once it ends within `timeout`; -1 if it still runs then.
  int wait(std::chrono::duration<double> timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reaped() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return pid_ > 0 ? -1 : exit_code_;
  }
  // Waits for it to end on its own, without a bound; returns the exit code.
  int wait_exit() {
    int status = 0;
    if (pid_ > 0 && waitpid(pid_, &status, 0) == pid_) record(status);
    return exit_code_;
  }
  void signal(int number) const {
    if (pid_ > 0) kill(pid_, number);
  }
  // `number` (SIGTERM; HAProxy's graceful stop is SIGUSR1), then SIGKILL after `grace_s`; returns the
  // exit code.
  int stop(double grace_s = 10, int number = SIGTERM) {
    if (pid_ <= 0) return exit_code_;
    signal(number);
    if (wait(std::chrono::duration<double>(grace_s)) < 0) kill9();
    return exit_code_;
  }
  void kill9() {
    signal(SIGKILL);
    wait_exit();
  }

 private:
  bool reaped() {
    int status = 0;
    if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_) record(status);
    return pid_ <= 0;
  }
  void record(int status) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
  }

  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string log_;
};

}  // namespace aidc_test
