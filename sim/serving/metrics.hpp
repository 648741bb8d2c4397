#pragma once
// What a run records: one row per request, and per-interval series. Plain data, filled by the
// actors while the simulation runs, read by the reports afterwards.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "perf/performance_model.hpp"
#include "serving/facility_record.hpp"
#include "core/serving/request.hpp"

namespace aidc {

struct RequestRecord {
  double arrival_s = 0;  // the client sent it
  double first_token_s = std::numeric_limits<double>::quiet_NaN();
  double finish_s = std::numeric_limits<double>::quiet_NaN();
  int prompt_tokens = 0, output_tokens = 0;
  int replica = -1;  // disaggregated: the prefill replica
  RequestStatus status = RequestStatus::InFlight;
  // Disaggregated: when its KV cache left the prefill replica, arrived, and joined the decode replica's batch.
  double kv_sent_s = std::numeric_limits<double>::quiet_NaN();
  double kv_arrived_s = std::numeric_limits<double>::quiet_NaN();
  double decode_admitted_s = std::numeric_limits<double>::quiet_NaN();
  double kv_bytes = 0;
  int decode_replica = -1;
};

class TimeSeries {
 public:
  TimeSeries(double interval_s, double duration_s, int replicas);

  double interval() const { return interval_; }
  std::size_t bins() const { return arrivals_.size(); }
  int replicas() const { return replicas_; }

  void add_arrival(double t) { ++arrivals_[bin(t)]; }
  void add_tokens(double t, int prefill_tokens, int generated_tokens);
  // A replica busy over [start, end) with `kv_used` of its blocks in use.
  void add_busy(int replica, double start, double end, double kv_fraction);
  void set_sample(std::size_t bin, double in_flight, double queued);

  double arrivals(std::size_t b) const { return arrivals_[b]; }
  double input_tokens(std::size_t b) const { return input_tokens_[b]; }
  double output_tokens(std::size_t b) const { return output_tokens_[b]; }
  double in_flight(std::size_t b) const { return in_flight_[b]; }
  double queued(std::size_t b) const { return queued_[b]; }
  double busy_s(int replica, std::size_t b) const { return busy_[index(replica, b)]; }
  double kv_fraction_s(int replica, std::size_t b) const { return kv_[index(replica, b)]; }

 private:
  std::size_t bin(double t) const;
  std::size_t index(int replica, std::size_t b) const { return static_cast<std::size_t>(replica) * bins() + b; }
  double interval_;
  int replicas_;
  std::vector<double> arrivals_, input_tokens_, output_tokens_, in_flight_, queued_;
  std::vector<double> busy_, kv_;  // [replica][bin]: busy seconds, KV-fraction x seconds
};

struct RunRecord {
  explicit RunRecord(TimeSeries s) : series(std::move(s)) {}
  std::vector<RequestRecord> requests;  // indexed by request id
  TimeSeries series;
  long long preemptions = 0;
  long long events = 0;
  double simulated_s = 0;
  double wall_s = 0;
  std::vector<long long> kv_blocks_per_replica;
  long long max_kv_blocks_used = 0;  // the highest any replica ever held
  std::string performance_model;
  std::vector<StepCost> work_done;  // per replica, the whole run at nominal clocks: compute- and memory-bound seconds
  std::optional<FacilityRecord> facility;  // when the scenario has facility: or cost:
};

}  // namespace aidc
