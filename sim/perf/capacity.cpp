#include "perf/capacity.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace aidc {

double mean_length(const LengthDistribution& d) {
  switch (d.kind) {
    case LengthDistribution::Kind::Fixed: return d.value;
    case LengthDistribution::Kind::Uniform: return (d.min + d.max) / 2;
    case LengthDistribution::Kind::LogNormal: return d.mean;
    case LengthDistribution::Kind::Empirical: {
      double sum = 0, weight = 0;
      for (std::size_t i = 0; i < d.samples.size(); ++i) sum += d.samples[i] * d.weights[i], weight += d.weights[i];
      return weight > 0 ? sum / weight : 0;
    }
  }
  return d.value;
}

CapacityEstimate estimate_capacity(const Scenario& s, const PerformanceModel& performance, double offered_requests_per_s) {
  CapacityEstimate c;
  c.offered_requests_per_s = offered_requests_per_s;
  if (s.workload.kind == WorkloadSpec::Kind::ClosedLoop) c.rule_of_thumb_gpus = 2.0 * s.workload.users / 1000.0;
  const double prompt = mean_length(s.workload.prompt_tokens);
  const double output = mean_length(s.workload.output_tokens);
  const MemoryPlan& memory = s.memory;
  const double mean_context = prompt + output / 2;
  const int kv_limit = static_cast<int>(static_cast<double>(memory.kv_capacity_tokens) / (prompt + output));
  const int max_batch = std::max(1, std::min(s.deployment.max_batch_sequences, kv_limit));
  const double tpot_limit = s.slo.tpot_s.value_or(std::numeric_limits<double>::infinity());
  BatchShape shape;
  double best_rate = 0;
  for (int batch = 1; batch <= max_batch; batch = batch < 8 ? batch + 1 : batch + batch / 8) {
    shape.clear();
    shape.decode_sequences = shape.logits_rows = batch;
    shape.decode_context_tokens = batch * mean_context;
    const double step_s = performance.step(shape).seconds();
    if (batch == 1) c.decode_step_s_at_batch_1 = step_s;
    if (step_s > tpot_limit) break;
    shape.clear();
    shape.prefills.push_back({static_cast<int>(prompt), 0});
    shape.logits_rows = 1;
    const double prefill_s = performance.step(shape).seconds();
    if (batch == 1) c.prefill_s_mean_prompt = prefill_s;
    const double rate = 1.0 / (prefill_s + output * step_s / batch);
    if (rate > best_rate) best_rate = rate, c.batch_at_slo = batch;
  }
  c.replica_requests_per_s = best_rate;
  if (best_rate > 0)
    c.estimated_min_gpus = std::ceil(offered_requests_per_s / best_rate) * s.deployment.gpus_per_replica();
  return c;
}

double peak_offered_rate(const WorkloadSpec& w) {
  switch (w.kind) {
    case WorkloadSpec::Kind::OpenLoop: return w.schedule.max_rate();
    case WorkloadSpec::Kind::ClosedLoop: return w.users / std::max(1.0, w.think_time_s);
    case WorkloadSpec::Kind::Trace: {
      const std::vector<TraceRow>& rows = *w.trace;
      const double span = rows.empty() ? 0 : rows.back().arrival_s;
      return span > 0 ? static_cast<double>(rows.size()) / span : static_cast<double>(rows.size());
    }
  }
  return 0;
}

}  // namespace aidc
