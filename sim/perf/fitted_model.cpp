#include "perf/fitted_model.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace aidc {

FittedModel::FittedModel(const CalibrationProfile& profile, const GpuSpec& gpu, const DeploymentSpec& deployment)
    : measured_(profile.metadata), fit_(*profile.fit), file_(profile.file), gpu_(gpu), tp_(deployment.tensor_parallel) {}

// The per-step constant: host work and the weight read every step pays, whatever the batch.
StepCost FittedModel::token_cost(int tokens, int, int) const {
  StepCost cost;
  if (tokens > 0) cost.overhead_s = fit_.base_s;
  return cost;
}

// Decode terms grow with what the step reads (memory-bound), the prompt term with what it computes.
StepCost FittedModel::attention_cost(const BatchShape& batch) const {
  note(batch);
  StepCost cost;
  cost.memory_bound_s = fit_.per_decode_sequence_s * batch.decode_sequences + fit_.per_kv_token_s * batch.decode_context_tokens;
  cost.compute_bound_s = fit_.per_prefill_token_s * batch.prefill_tokens();
  return cost;
}

std::string FittedModel::description() const {
  char text[512];
  std::snprintf(text, sizeof text,
                "black-box fit: %s (%s on %s, %s, TP %d; %d runs, %d requests): step %.3g ms + %.3g ms/sequence + %.3g us/KV token "
                "+ %.3g us/prompt token",
                std::filesystem::path(file_).filename().c_str(), measured_.engine_version.c_str(), measured_.gpu.c_str(),
                measured_.precision.c_str(), measured_.tp, fit_.runs, fit_.requests, 1e3 * fit_.base_s, 1e3 * fit_.per_decode_sequence_s,
                1e6 * fit_.per_kv_token_s, 1e6 * fit_.per_prefill_token_s);
  return text;
}

// The band is the fit's own error on the runs it was fitted on (their mean TPOT); a held-out
// check of the method on a real server is tests/serving/calibrate_test.cpp.
ModelFidelity FittedModel::fidelity() const {
  ModelFidelity f;
  f.kind = "fit";
  f.band_basis = "black-box fit: error of the mean TPOT of the " + std::to_string(fit_.runs) + " runs it was fitted on (" +
                 std::filesystem::path(file_).filename().string() + ")";
  f.throughput_band = fit_.tpot_error;
  f.tpot_band = fit_.tpot_error;
  f.checked = {.max_decode_batch = fit_.max_decode_batch, .max_context_tokens = fit_.max_context_tokens};
  const bool same_gpu = measured_.gpu == gpu_.id || std::find(gpu_.device_names.begin(), gpu_.device_names.end(), measured_.gpu) != gpu_.device_names.end();
  if (!same_gpu) f.out_of_range.push_back("fitted on " + measured_.gpu + ", run on " + gpu_.id + " (a fit does not carry to another GPU)");
  if (measured_.tp != tp_) f.out_of_range.push_back("fitted at TP " + std::to_string(measured_.tp) + ", run at TP " + std::to_string(tp_));
  return with_range_checks(f);
}

}  // namespace aidc
