#pragma once
// The users' side: sends what the workload source yields to the balancer and takes the answers.
#include <cstdint>
#include <vector>

#include "actors/recorder.hpp"
#include "des/des.hpp"
#include "workload/source.hpp"

namespace aidc {

class ClientActor {
 public:
  // Requests are numbered from `first_id` (those before it were in flight when the run started).
  ClientActor(WorkloadSource& source, RunRecorder& recorder, double end_s, std::uint64_t first_id);
  void operator()();

 private:
  void send_due(double now);
  void handle(const des::Message& message, double now);

  WorkloadSource& source_;
  RunRecorder& recorder_;
  const double end_;
  des::Inbox inbox_, balancer_;
  std::uint64_t next_id_;
  const std::uint64_t first_id_;
  std::vector<int> user_of_;  // [request id - first id]: the closed-loop user waiting (-1: none)
  std::vector<SourceRequest> due_;
};

}  // namespace aidc
