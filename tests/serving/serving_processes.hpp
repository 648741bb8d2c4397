#pragma once
// Real services for the serving tests, on loopback only: `aidc-engine serve` on the CPU backend,
// HAProxy, and `aidc load`, each a child process the test stops (SIGTERM, then SIGKILL) however it ends
// (tests/common/child_process.hpp).
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "../common/child_process.hpp"
#include "aidc_child.hpp"

namespace aidc_test {

inline const std::string kEngine = AIDC_ENGINE_BINARY;
inline const std::string kTinyModel = AIDC_TINY_MODEL;
inline const std::string kServingScenarios = AIDC_SERVING_SCENARIOS;

inline double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A long-running child: the engine, HAProxy, Prometheus, `aidc load`, `aidc twin`.
using Service = ChildProcess;

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
