#pragma once
// The live twin's recalibration until the black-box calibration exists: the scenario's performance
// model with every iteration's time multiplied by one factor, fitted from live measurements as
// measured / mirrored mean inter-token latency (docs/twin.md, "Drift and recalibration").
#include <memory>
#include <sstream>

#include "perf/performance_model.hpp"

namespace aidc::twin {

class ScaledPerformanceModel final : public PerformanceModel {
 public:
  ScaledPerformanceModel(const PerformanceModel& base, double scale) : base_(base), scale_(scale) {}
  // Owning its base: what `aidc run --step-scale` uses.
  ScaledPerformanceModel(std::unique_ptr<PerformanceModel> base, double scale) : owned_(std::move(base)), base_(*owned_), scale_(scale) {}
  void set_scale(double scale) { scale_ = scale; }
  double scale() const { return scale_; }

  StepCost token_cost(int tokens, int logits_rows, int sequences) const override {
    return scaled(base_.token_cost(tokens, logits_rows, sequences));
  }
  StepCost attention_cost(const BatchShape& batch) const override { return scaled(base_.attention_cost(batch)); }
  // The base's: the factor is fitted live, its own error is the drift the twin reports.
  ModelFidelity fidelity() const override { return base_.fidelity(); }
  std::string description() const override {
    std::ostringstream text;
    text << base_.description() << ", step times x" << scale_ << " (live twin recalibration)";
    return text.str();
  }

 private:
  StepCost scaled(StepCost c) const {
    c.compute_bound_s *= scale_;
    c.memory_bound_s *= scale_;
    c.communication_s *= scale_;
    c.overhead_s *= scale_;
    return c;
  }
  std::unique_ptr<PerformanceModel> owned_;
  const PerformanceModel& base_;
  double scale_;
};

// `base` itself when `scale` is 1, else it with step times times `scale`.
inline std::unique_ptr<PerformanceModel> scale_step_times(std::unique_ptr<PerformanceModel> base, double scale) {
  if (scale == 1.0) return base;
  return std::make_unique<ScaledPerformanceModel>(std::move(base), scale);
}

}  // namespace aidc::twin
