#include "perf/roofline_model.hpp"

#include <cmath>
#include <cstdio>

namespace aidc {
namespace {

constexpr double kActivationBytes = 2.0;  // activations stay bf16 whatever the weight precision
// NCCL reaches ~80% of NVLink line rate in all-reduce bus bandwidth (370 of 450 GB/s, nccl-tests#212).
constexpr double kCollectiveEfficiency = 0.8;
constexpr double kCollectiveHopLatency_s = 5e-6;

double peak_tflops(const GpuSpec& gpu, Precision p) {
  switch (p) {
    case Precision::FP8: return gpu.fp8_tflops.value_or(gpu.bf16_tflops);
    case Precision::INT8: return gpu.int8_tops.value_or(gpu.bf16_tflops);
    default: return gpu.bf16_tflops;  // int4 is weight-only: dequantized to bf16 for the math
  }
}

}  // namespace

RooflineModel::RooflineModel(const ModelSpec& model, const GpuSpec& gpu, const ServerSpec& server,
                             const DeploymentSpec& d, double step_overhead_s)
    : model_(model),
      gpu_(gpu),
      tp_(d.tensor_parallel),
      ep_(d.expert_parallel),
      weight_bytes_(bytes_per_value(d.precision)),
      kv_bytes_(bytes_per_value(d.kv_cache_precision)),
      flops_per_s_(peak_tflops(gpu, d.precision) * 1e12 * gpu.compute_efficiency),
      bytes_per_s_(gpu.memory_bandwidth_gb_s * 1e9 * gpu.memory_efficiency),
      link_bytes_per_s_(server.gpu_to_gpu_gb_s(gpu) * 1e9 * kCollectiveEfficiency),
      step_overhead_s_(step_overhead_s),
      precision_(to_string(d.precision)) {}

void RooflineModel::add_operator(StepCost& cost, double flops, double bytes) const {
  const double compute_s = flops / flops_per_s_;
  const double memory_s = bytes / bytes_per_s_;
  if (compute_s > memory_s)
    cost.compute_bound_s += compute_s;
  else
    cost.memory_bound_s += memory_s;
}

// A GEMM of `tokens` rows against `weight_params` weights (sharded over TP ranks), over `layers` layers.
void RooflineModel::add_layer_linears(StepCost& cost, double tokens, double layers, double weight_params,
                                      double activation_values) const {
  if (tokens <= 0 || layers <= 0) return;
  const double flops = 2.0 * tokens * weight_params / tp_;
  const double bytes = weight_params * weight_bytes_ / tp_ + tokens * activation_values * kActivationBytes / tp_;
  add_operator(cost, layers * flops, layers * bytes);
}

void RooflineModel::add_attention(StepCost& cost, const BatchShape& batch) const {
  const double heads = static_cast<double>(model_.heads) / tp_;
  const bool latent = model_.attention == AttentionKind::MultiLatent;
  // FLOPs per (query, key) pair per head: QK^T plus PV. MLA decode runs absorbed in the 512-d latent.
  const double prefill_pair_flops =
      latent ? 2.0 * (model_.qk_nope_dim + model_.qk_rope_dim) + 2.0 * model_.v_head_dim : 4.0 * model_.head_dim;
  const double decode_pair_flops =
      latent ? 2.0 * (2.0 * model_.kv_lora_rank + model_.qk_rope_dim) : 4.0 * model_.head_dim;
  const double kv_shards = latent ? 1.0 : std::min<double>(tp_, model_.kv_heads);
  const double kv_token_bytes = model_.kv_values_per_token_per_layer() * kv_bytes_ / kv_shards;
  const double layers = model_.layers;
  for (const auto& chunk : batch.prefills) {
    const double c = chunk.tokens, p = chunk.context_before;
    const double pairs = c * (p + (c + 1.0) / 2.0);  // causal: token i sees p + i keys
    add_operator(cost, layers * heads * pairs * prefill_pair_flops, layers * (p + c) * kv_token_bytes);
  }
  if (batch.decode_sequences > 0)
    add_operator(cost, layers * heads * batch.decode_context_tokens * decode_pair_flops,
                 layers * batch.decode_context_tokens * kv_token_bytes);
}

void RooflineModel::add_mlp(StepCost& cost, double tokens) const {
  add_layer_linears(cost, tokens, model_.dense_layers(), model_.dense_mlp_params_per_layer(),
                    2.0 * model_.hidden + 3.0 * model_.intermediate);
  if (!model_.is_moe() || tokens <= 0) return;
  const double layers = model_.moe_layers();
  const double experts = model_.routed_experts, k = model_.experts_per_token;
  // Expected distinct experts hit by `tokens` tokens each picking k of E (uniform routing).
  const double active_experts = experts * (1.0 - std::pow(1.0 - k / experts, tokens));
  const double routed_flops = 2.0 * tokens * k * model_.expert_params() / tp_;
  const double routed_bytes = active_experts * model_.expert_params() * weight_bytes_ / tp_ +
                              tokens * k * (2.0 * model_.hidden + 3.0 * model_.expert_intermediate) * kActivationBytes / tp_;
  add_operator(cost, layers * routed_flops, layers * routed_bytes);
  add_layer_linears(cost, tokens, layers, model_.shared_experts * model_.expert_params() + 1.0 * model_.hidden * experts,
                    2.0 * model_.hidden + 3.0 * model_.expert_intermediate * model_.shared_experts);
}

void RooflineModel::add_collectives(StepCost& cost, double tokens) const {
  if (tp_ > 1) {
    // Two ring all-reduces of the hidden state per layer (after attention and after the MLP).
    const double bytes = tokens * model_.hidden * kActivationBytes;
    const double ring = 2.0 * (tp_ - 1) / tp_ * bytes / link_bytes_per_s_ + 2.0 * (tp_ - 1) * kCollectiveHopLatency_s;
    cost.communication_s += 2.0 * model_.layers * ring;
  }
  if (ep_ > 1 && model_.is_moe()) {
    // Dispatch and combine all-to-all of the routed tokens' hidden states.
    const double bytes = tokens * model_.experts_per_token * model_.hidden * kActivationBytes * (ep_ - 1) / ep_;
    cost.communication_s += 2.0 * model_.moe_layers() * (bytes / ep_ / link_bytes_per_s_ + kCollectiveHopLatency_s);
  }
}

StepCost RooflineModel::step(const BatchShape& batch) const {
  StepCost cost;
  const double tokens = batch.tokens();
  if (tokens <= 0) return cost;
  const double hidden = model_.hidden;
  // Norms, residual adds, rotary embedding: a few passes over the hidden state per layer.
  add_operator(cost, 0, model_.layers * tokens * hidden * kActivationBytes * 8.0);
  add_layer_linears(cost, tokens, model_.layers, model_.attention_params_per_layer(),
                    2.0 * hidden + (model_.heads + 2.0 * model_.kv_heads) * std::max(model_.head_dim, model_.v_head_dim));
  add_attention(cost, batch);
  add_mlp(cost, tokens);
  add_collectives(cost, tokens);
  // Embedding lookup, then the LM head only for rows that sample.
  add_operator(cost, 0, tokens * hidden * weight_bytes_);
  add_layer_linears(cost, batch.logits_rows, 1, 1.0 * model_.vocab * hidden, hidden + model_.vocab);
  cost.overhead_s = step_overhead_s_;
  return cost;
}

std::string RooflineModel::description() const {
  char text[256];
  std::snprintf(text, sizeof text, "roofline: %s on %s, %s, TP %d, %.0f TFLOP/s and %.0f GB/s achievable", model_.id.c_str(),
                gpu_.id.c_str(), precision_.c_str(), tp_, flops_per_s_ / 1e12, bytes_per_s_ / 1e9);
  return text;
}

}  // namespace aidc
