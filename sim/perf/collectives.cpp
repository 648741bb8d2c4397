#include "perf/collectives.hpp"

namespace aidc {
namespace {
constexpr double kActivationBytes = 2.0;
// NCCL reaches ~80% of NVLink line rate in all-reduce bus bandwidth (370 of 450 GB/s, nccl-tests#212).
constexpr double kCollectiveEfficiency = 0.8;
constexpr double kHopLatency_s = 5e-6;
}  // namespace

Collectives::Collectives(const ModelConfig& model, const GpuSpec& gpu, const ServerSpec& server, const DeploymentSpec& d)
    : model_(model),
      tp_(d.tensor_parallel),
      ep_(d.expert_parallel),
      link_bytes_per_s_(server.gpu_to_gpu_gb_s(gpu) * 1e9 * kCollectiveEfficiency) {}

double Collectives::seconds(double tokens) const {
  double total = 0;
  if (tp_ > 1) {
    // Two ring all-reduces of the hidden state per layer (after attention and after the MLP).
    const double bytes = tokens * model_.hidden * kActivationBytes;
    const double ring = 2.0 * (tp_ - 1) / tp_ * bytes / link_bytes_per_s_ + 2.0 * (tp_ - 1) * kHopLatency_s;
    total += 2.0 * model_.layers * ring;
  }
  if (ep_ > 1 && model_.is_moe()) {
    // Dispatch and combine all-to-all of the routed tokens' hidden states.
    const double bytes = tokens * model_.moe.experts_per_token * model_.hidden * kActivationBytes * (ep_ - 1) / ep_;
    total += 2.0 * model_.moe_layer_count() * (bytes / ep_ / link_bytes_per_s_ + kHopLatency_s);
  }
  return total;
}

}  // namespace aidc
