#pragma once
// What the actors observe goes into the run record through this narrow interface rather than by
// messages: recording is observation, not interaction. A message per observation would cost a network
// exchange or a wake-up each (more events, slower runs) and change nothing the model simulates. The
// rule that keeps actors independent: they write here, and no actor decides anything from what
// another wrote, except the monitor (sim/actors/monitor), the recorder's own clock, which samples it
// and, through the facility model, answers with ClockNotices.
#include <cstdint>
#include <vector>

#include "perf/performance_model.hpp"
#include "serving/facility_runtime.hpp"
#include "serving/metrics.hpp"

namespace aidc {

class RunRecorder {
 public:
  // `facility`: power, thermal and outages; null without facility:/cost:.
  RunRecorder(RunRecord& record, FacilityRuntime* facility, int replicas);

  // Client.
  // Rows are indexed by request id: the client numbers requests in the order they arrive.
  void arrived(double now, int prompt_tokens, int output_tokens);
  void first_token(std::uint64_t id, double now) { record_.requests[id].first_token_s = now; }
  void answered(std::uint64_t id, RequestStatus status, double now);

  // Balancer.
  void dispatched(std::uint64_t id, int replica) { record_.requests[id].replica = replica; }
  void health_check_sees_down(int replica, double now);
  void retried(int failed_replica);
  void failed_on_outage(int failed_replica);

  // Replicas.
  void iteration(int replica, double start, double end, int prefill_tokens, int generated_tokens, long long kv_blocks_used,
                 long long kv_blocks_total);
  void preempted() { ++record_.preemptions; }
  // Disaggregated: a request's KV cache left its prefill replica, arrived at its decode replica, joined its batch.
  void kv_sent(std::uint64_t id, double now, double bytes) {
    record_.requests[id].kv_sent_s = now;
    record_.requests[id].kv_bytes = bytes;
  }
  void kv_arrived(std::uint64_t id, double at) { record_.requests[id].kv_arrived_s = at; }
  void decode_admitted(std::uint64_t id, double now, int replica) {
    record_.requests[id].decode_admitted_s = now;
    record_.requests[id].decode_replica = replica;
  }
  // After each change, before the replica waits: what the monitor samples.
  void replica_state(int replica, std::size_t waiting, const StepCost& work_done) {
    waiting_[static_cast<std::size_t>(replica)] = waiting;
    work_done_[static_cast<std::size_t>(replica)] = work_done;
  }
  void outage_began(int replica, double now, double serving_again_s, long long held);
  void arrived_while_down(int replica);
  void serving_again(int replica) { serving_[static_cast<std::size_t>(replica)] = true; }

  // Monitor and the end of the run.
  RunRecord& record() { return record_; }
  FacilityRuntime* facility() { return facility_; }
  double in_flight() const { return static_cast<double>(record_.requests.size()) - static_cast<double>(answers_); }
  double queued() const;
  const std::vector<StepCost>& work_done() const { return work_done_; }
  const std::vector<bool>& serving() const { return serving_; }  // replicas whose serving process runs

 private:
  RunRecord& record_;
  FacilityRuntime* facility_;
  long long answers_ = 0;  // requests whose outcome reached the client
  std::vector<std::size_t> waiting_;
  std::vector<StepCost> work_done_;
  std::vector<bool> serving_;
};

}  // namespace aidc
