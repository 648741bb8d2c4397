#pragma once
// One model replica: its continuous-batching scheduler (sim/serving/replica_scheduler) run in
// simulated time. It takes requests from its inbox, runs iterations, streams the first token and the
// answer to the client, and tells the balancer what it learns beside those messages (notices). When
// it fails it hands every request back to the balancer and serves again after repair.
#include <deque>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/recorder.hpp"
#include "des/des.hpp"
#include "serving/messages.hpp"
#include "serving/replica_scheduler.hpp"

namespace aidc {

// A request the replica holds when the run starts, with the progress it made before.
struct HeldRequest {
  Request request;
  int computed_tokens = 0;   // tokens whose KV is in this replica's cache; 0: it waits in the queue
  int generated_tokens = 0;  // output tokens already sent to the client
};

// Prefill/decode disaggregation (docs/deepseek-scale.md) is in the messages: a request that names a
// decode replica is prefilled here with one token sampled (vLLM's prefill instance runs it with
// max_tokens 1), and its KV cache, `kv_bytes_per_token` per prompt token, then goes to that replica as a
// flow on the platform's links; a replica that receives a KV cache recomputes the prompt's last token
// for the first token the client sees and generates the rest.
class ReplicaActor final : public ReplicaEvents {
 public:
  ReplicaActor(int replica, SchedulerLimits limits, const PerformanceModel& performance, bool fast_forward, double end_s,
               RunRecorder& recorder, double kv_bytes_per_token = 0);
  // Before the run: a request already here (std::invalid_argument when its progress cannot be, or its
  // KV does not fit beside those given before it).
  void hold(const HeldRequest& held);
  // Before the run: the replica is down until `serving_again_s`.
  void down_until(double serving_again_s) { down_until_ = serving_again_s; }
  void operator()();

  void on_first_token(const Request& request, double) override;
  void on_finished(const Request& request, double) override;
  void on_iteration(double start, double end, int prefill_tokens, int generated_tokens, long long kv_used) override;
  void on_preempted(const Request&, double) override { recorder_.preempted(); }

 private:
  void admit(const des::Message& message);
  // Decode: requests whose KV cache has arrived join the batch, in arrival order, while room allows.
  void admit_arrived_kv();
  void read_notices();
  // After every change of the queue or of the work done: the monitor may sample at any moment.
  void publish_state() { recorder_.replica_state(replica_, scheduler_.waiting() + arrived_kv_.size(), scheduler_.work_done()); }
  void fail_until(double serving_again_s);
  // Back to the balancer: `request` as it arrived (a prefill replica's whole request, with the decode
  // replica picked for it) or as its KV cache brought it.
  void hand_back(const Request& request, int decode_replica = -1);
  void respond(const Request& request, RequestStatus status);

  const int replica_;
  const double kv_bytes_per_token_;
  const double end_;
  ReplicaScheduler scheduler_;
  RunRecorder& recorder_;
  des::Inbox inbox_, clients_, balancer_;
  std::vector<double> boundaries_;
  std::unordered_set<std::uint64_t> streaming_;  // requests whose first token was sent, until they finish
  double down_until_ = -1;
  std::unordered_map<std::uint64_t, RequestMessage> handed_on_;  // prefill: requests a decode replica finishes
  std::deque<Request> arrived_kv_;                                // decode: KV here, not yet in the batch
};

}  // namespace aidc
