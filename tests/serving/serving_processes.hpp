#pragma once
// Real services for the serving tests, on loopback only: `aidc-engine serve` on the CPU backend,
// HAProxy, and `aidc load`, each a child process the test stops (SIGTERM, then SIGKILL) however it ends.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aidc_child.hpp"

namespace aidc_test {

inline const std::string kEngine = AIDC_ENGINE_BINARY;
inline const std::string kTinyModel = AIDC_TINY_MODEL;
inline const std::string kServingScenarios = AIDC_SERVING_SCENARIOS;

inline double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A loopback port nobody listens on right now.
inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0)
    throw std::runtime_error("no free loopback port");
  close(fd);
  return ntohs(address.sin_port);
}

// A child process with stdout and stderr in `log`; stopped when it goes out of scope.
class Service {
 public:
  Service(std::vector<std::string> argv, const std::string& log) : log_(log) {
    pid_ = fork();
    if (pid_ == 0) {
      if (!freopen(log.c_str(), "w", stdout) || !freopen(log.c_str(), "a", stderr)) _exit(127);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  ~Service() { stop(); }
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log() const { return log_; }

  // `signal` (SIGTERM; HAProxy's graceful stop is SIGUSR1), then SIGKILL after `grace_s`; returns the
  // exit code (128 + signal when killed).
  int stop(double grace_s = 10, int signal = SIGTERM) {
    if (pid_ <= 0) return exit_code_;
    kill(pid_, signal);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_s);
    while (!reaped() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      wait_exit();
    }
    return exit_code_;
  }
  void kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    wait_exit();
  }
  // Waits for it to exit on its own; returns the exit code.
  int wait_exit() {
    int status = 0;
    if (pid_ > 0 && waitpid(pid_, &status, 0) == pid_) record(status);
    return exit_code_;
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

inline std::string url(int port) { return "http://127.0.0.1:" + std::to_string(port); }

// Polls GET path until it answers 200; false after `timeout_s`.
inline bool wait_ok(int port, const std::string& path, double timeout_s) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1);
  client.set_read_timeout(2);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto r = client.Get(path); r && r->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// `aidc-engine serve` on the CPU backend with the tiny random-weight model, healthy on return.
inline std::unique_ptr<Service> start_engine(int port, const std::string& log) {
  auto service = std::make_unique<Service>(
      std::vector<std::string>{kEngine, "serve", "--model", kTinyModel, "--random-weights", "--backend", "cpu", "--host", "127.0.0.1",
                               "--port", std::to_string(port)},
      log);
  if (!wait_ok(port, "/health", 60)) ADD_FAILURE() << "aidc-engine serve on port " << port << " never became healthy:\n" << read_file(log);
  return service;
}

// Sample values of a Prometheus text exposition, keyed by `name{labels}` as written.
inline std::map<std::string, double> scrape(int port, const std::string& path = "/metrics") {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(5);
  std::map<std::string, double> samples;
  auto r = client.Get(path);
  if (!r || r->status != 200) return samples;
  std::istringstream in(r->body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

// The sum of every sample of `name`, whatever its labels.
inline double metric_sum(const std::map<std::string, double>& samples, const std::string& name) {
  double sum = 0;
  for (const auto& [key, value] : samples)
    if (key == name || key.rfind(name + "{", 0) == 0) sum += value;
  return sum;
}

inline int tiny_model_vocab() { return read_json(kTinyModel)["vocab_size"].get<int>(); }

}  // namespace aidc_test
