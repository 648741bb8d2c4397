#pragma once
// Iteration time from a black-box fit of a serving engine (`aidc calibrate`; the `source: fit`
// calibration format, core/calibration/profile.hpp StepFit): affine in the batch's decoding sequences,
// their KV tokens and the prompt tokens it computes. It holds for the engine, model, GPU and TP it was
// measured on, inside the batch and context range of those runs; the report says when a run leaves it.
#include "catalog/catalog.hpp"
#include "core/calibration/profile.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

class FittedModel final : public PerformanceModel {
 public:
  FittedModel(const CalibrationProfile& profile, const GpuSpec& gpu, const DeploymentSpec& deployment);
  StepCost token_cost(int tokens, int logits_rows, int sequences) const override;
  StepCost attention_cost(const BatchShape& batch) const override;
  std::string description() const override;
  ModelFidelity fidelity() const override;

 private:
  const CalibrationProfile::Metadata measured_;
  const CalibrationProfile::StepFit fit_;
  const std::string file_;
  const GpuSpec gpu_;
  const int tp_;
};

}  // namespace aidc
