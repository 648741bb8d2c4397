#pragma once
// Analytic capacity, independent of the event simulation: what one replica sustains under the TPOT
// SLO, and the load a workload offers. The run's summary reports it beside the simulated result;
// the planner starts its search from it.
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

struct CapacityEstimate {
  double rule_of_thumb_gpus = 0;     // the seeds' 2 A100 per 1,000 concurrent users (closed loop only)
  double offered_requests_per_s = 0;
  double replica_requests_per_s = 0;  // sustainable by one replica under the TPOT SLO (analytic)
  int batch_at_slo = 0;               // the decode batch that sustains it
  double decode_step_s_at_batch_1 = 0;  // the fastest decode step (one sequence, mean context): TPOT's floor
  double prefill_s_mean_prompt = 0;     // one mean prompt alone: TTFT's floor
  double estimated_min_gpus = 0;
};

// The largest decode batch whose step time meets the TPOT SLO and fits the KV cache, and the GPU time
// each request then costs, at mean prompt and output lengths.
CapacityEstimate estimate_capacity(const Scenario& scenario, const PerformanceModel& performance, double offered_requests_per_s);

// The mean of a prompt or output length distribution.
double mean_length(const LengthDistribution& d);

// Requests per second the workload offers at its busiest, from its description alone: open loop the
// schedule's peak rate; closed loop each user once per think time (an upper bound: answers take time
// too); a trace its requests over the time they span.
double peak_offered_rate(const WorkloadSpec& workload);

}  // namespace aidc
