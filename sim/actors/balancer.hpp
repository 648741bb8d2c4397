#pragma once
// The load balancer as HAProxy runs it: routes each request to a replica by the scenario's policy,
// checks every replica's health each `interval` (`check inter/fall/rise`), and retries a request a
// failed replica hands back on another one (`retries` with `option redispatch`). The policy itself
// is plain data (sim/serving/load_balancer); this actor feeds it messages and notices.
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/recorder.hpp"
#include "des/des.hpp"
#include "serving/load_balancer.hpp"

namespace aidc {

class BalancerActor {
 public:
  // When the run starts from a state: `outstanding`, the requests each replica holds (empty: none);
  // `down`, replicas out of service (the balancer knows it).
  // `decode_replicas` > 0: the deployment is disaggregated; the last that many replicas are the decode
  // pool, the others the prefill pool, and each pool has a policy of its own (the same kind).
  BalancerActor(const LoadBalancerSpec& spec, int replicas, unsigned long long seed, int retries, RunRecorder& recorder,
                const std::vector<int>& outstanding = {}, const std::vector<int>& down = {}, int decode_replicas = 0);
  void operator()();

 private:
  void read_notices();
  void route(std::unique_ptr<des::Message> message);
  void retry_or_fail(const Request& request, int failed_replica, bool streaming);
  void check_health();
  // The policy that routes to `replica`, and the replica's index in its pool.
  std::pair<LoadBalancer*, int> pool_of(int replica);

  LoadBalancer balancer_;                 // every replica, or the prefill pool
  std::optional<LoadBalancer> decode_;    // disaggregated: the decode pool
  const int prefill_replicas_;
  const double check_interval_;
  const int retries_;
  RunRecorder& recorder_;
  des::Inbox inbox_, clients_;
  std::vector<std::unique_ptr<des::Inbox>> replicas_;
  std::vector<bool> serving_;  // what the next health check of each replica finds
  std::unordered_map<std::uint64_t, int> redispatches_;  // request id -> retries after a failure
};

}  // namespace aidc
