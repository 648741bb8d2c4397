#include "load/haproxy_config.hpp"

#include <cmath>
#include <cstdio>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"
#include "common/paths.hpp"
#include "scenario/loader.hpp"

namespace aidc::load {
namespace {

void check_address(const std::string& option, const std::string& address) {
  const auto colon = address.rfind(':');
  bool ok = colon != std::string::npos && colon > 0 && colon + 1 < address.size() && address.size() - colon <= 6;
  for (std::size_t i = colon + 1; ok && i < address.size(); ++i) ok = address[i] >= '0' && address[i] <= '9';
  if (ok) ok = std::stoi(address.substr(colon + 1)) >= 1 && std::stoi(address.substr(colon + 1)) <= 65535;
  for (char ch : address) ok = ok && ch != ' ' && ch != '\t' && ch != '#';
  if (!ok) throw_input_error({"aidc haproxy-config", 0, 0}, option, "expected host:port with a port 1-65535, got '" + address + "'");
}

// The scenario's policy in HAProxy's words. Consistent hashing keys on the session aidc load sends.
std::string balance(const LoadBalancerSpec& lb) {
  switch (lb.policy) {
    case BalancerPolicy::RoundRobin: return "    balance roundrobin\n";
    case BalancerPolicy::LeastOutstanding: return "    balance leastconn\n";
    case BalancerPolicy::ConsistentHash: return "    balance hdr(X-Session-Id)\n    hash-type consistent\n";
    case BalancerPolicy::PowerOfTwoChoices: return "    balance random(2)\n";
  }
  return "    balance roundrobin\n";
}

}  // namespace

std::string haproxy_config(const Scenario& s, const HaproxyOptions& o) {
  if (o.servers.empty()) throw_input_error({"aidc haproxy-config", 0, 0}, "--server", "give at least one --server host:port");
  for (const auto& server : o.servers) check_address("--server", server);
  check_address("--bind", o.bind);
  check_address("--stats-bind", o.stats_bind);
  const HealthCheck& check = s.load_balancer.health_check;
  const long inter_ms = std::lround(check.interval_s * 1000);
  std::string c = "# Written by `aidc haproxy-config` from " + s.source_file + " (scenario " + s.name + ").\n";
  c += "# The seeds' deployment: HTTP mode, the balancer's policy over one `server` per engine replica,\n"
       "# each health-checked on GET /health (inter/fall/rise from load_balancer.health_check).\n"
       "global\n"
       "    maxconn 4096\n"
       "    log stdout format raw local0 notice  # server UP/DOWN transitions\n"
       "\n"
       "defaults\n"
       "    mode http\n"
       "    log global\n"
       "    timeout client 10s\n"
       "    timeout connect 5s\n"
       "    timeout server 10s\n";
  if (s.facility) {
    // As sim/actors/balancer.cpp models it: a request that got no answer (refused connection, or the
    // server died before responding) goes to another server; a stream already started fails.
    // L7 retries need the request in one buffer (tune.bufsize, 16 kB): larger prompts are not retried.
    c += "    retries " + std::to_string(s.facility->failures.retries) + "\n";
    c += "    option redispatch\n";
    c += "    retry-on conn-failure empty-response\n";
  }
  c += "\nfrontend deepseek_frontend\n    bind " + o.bind + "\n    default_backend deepseek_nodes\n";
  c += "\n# Prometheus metrics (haproxy_backend_*, haproxy_server_*) for the live twin.\n"
       "frontend stats\n    bind " + o.stats_bind + "\n"
       "    http-request use-service prometheus-exporter if { path /metrics }\n"
       "    stats enable\n    stats uri /stats\n    no log\n";
  c += "\nbackend deepseek_nodes\n" + balance(s.load_balancer);
  c += "    option httpchk GET /health\n";
  c += "    # Which replica answered (0-based, in --server order), for aidc load's requests.csv.\n";
  c += "    http-response set-header X-Aidc-Replica %[srv_id,sub(1)]\n";
  for (std::size_t i = 0; i < o.servers.size(); ++i)
    c += "    server node" + std::to_string(i + 1) + " " + o.servers[i] + " check inter " + std::to_string(inter_ms) + " fall " +
         std::to_string(check.fall) + " rise " + std::to_string(check.rise) + "\n";
  return c;
}

int write_haproxy_config(const HaproxyOptions& options) {
  const Catalog catalog = Catalog::load(scenarios_dir());
  const Scenario scenario = load_scenario(options.scenario_file, options.overrides, catalog);
  require_one_pool(scenario, "aidc haproxy-config",
                   "HAProxy balances whole requests over one backend of engines and cannot send a request's prefill to one "
                   "pool and its decode to another");
  write_file_atomically(options.out, haproxy_config(scenario, options));
  return 0;
}

}  // namespace aidc::load
