#pragma once
// `aidc haproxy-config`: the HAProxy configuration the seeds deploy in front of the engine servers
// (`balance roundrobin`, `server nodeN host:port check`), with the scenario's balancer policy and
// health checks, its failure retries (facility.failures.retries: `retries` + `option redispatch`), and
// a Prometheus exporter on a separate bind for the live twin.
#include <string>
#include <vector>

#include "scenario/scenario.hpp"

namespace aidc::load {

struct HaproxyOptions {
  std::string scenario_file;
  std::vector<std::string> overrides;
  std::vector<std::string> servers;  // host:port, one per replica, in replica order
  std::string bind = "127.0.0.1:8080";
  std::string stats_bind = "127.0.0.1:8404";
  std::string out;
};

// Throws InputErrors when a server or bind address is not host:port.
std::string haproxy_config(const Scenario& scenario, const HaproxyOptions& options);

// Writes the file atomically; returns the exit code.
int write_haproxy_config(const HaproxyOptions& options);

}  // namespace aidc::load
