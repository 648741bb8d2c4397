#include "actors/recorder.hpp"

#include <algorithm>

namespace aidc {

RunRecorder::RunRecorder(RunRecord& record, FacilityRuntime* facility, int replicas)
    : record_(record),
      facility_(facility),
      waiting_(static_cast<std::size_t>(replicas), 0),
      work_done_(static_cast<std::size_t>(replicas)),
      serving_(static_cast<std::size_t>(replicas), true) {}

void RunRecorder::arrived(double now, int prompt_tokens, int output_tokens) {
  RequestRecord row;
  row.arrival_s = now;
  row.prompt_tokens = prompt_tokens;
  row.output_tokens = output_tokens;
  record_.requests.push_back(row);
  record_.series.add_arrival(now);
}

void RunRecorder::answered(std::uint64_t id, RequestStatus status, double now) {
  RequestRecord& row = record_.requests[id];
  row.status = status;
  row.finish_s = now;
  ++answers_;
}

void RunRecorder::health_check_sees_down(int replica, double now) {
  if (facility_) facility_->observe_down(replica, now);
}

void RunRecorder::retried(int failed_replica) {
  if (facility_) ++facility_->current_outage(failed_replica)->retried;
}

void RunRecorder::failed_on_outage(int failed_replica) {
  if (facility_) ++facility_->current_outage(failed_replica)->failed;
}

void RunRecorder::iteration(int replica, double start, double end, int prefill_tokens, int generated_tokens,
                            long long kv_blocks_used, long long kv_blocks_total) {
  record_.series.add_busy(replica, start, end, static_cast<double>(kv_blocks_used) / static_cast<double>(kv_blocks_total));
  record_.series.add_tokens(end, prefill_tokens, generated_tokens);
  record_.max_kv_blocks_used = std::max(record_.max_kv_blocks_used, kv_blocks_used);
}

void RunRecorder::outage_began(int replica, double now, double serving_again_s, long long held) {
  serving_[static_cast<std::size_t>(replica)] = false;
  if (facility_) facility_->open_outage(replica, now, serving_again_s, held);
}

void RunRecorder::arrived_while_down(int replica) {
  if (facility_) ++facility_->current_outage(replica)->arrived_while_down;
}

double RunRecorder::queued() const {
  double queued = 0;
  for (std::size_t waiting : waiting_) queued += static_cast<double>(waiting);
  return queued;
}

}  // namespace aidc
