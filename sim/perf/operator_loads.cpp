#include "perf/operator_loads.hpp"

#include <algorithm>
#include <cmath>

namespace aidc {
namespace {

bool latent(const ModelSpec& m) { return m.attention == AttentionKind::MultiLatent; }

// K/V heads shard across TP ranks; an MLA latent (or fewer KV heads than ranks) is replicated.
double kv_token_bytes(const ModelSpec& m, double kv_bytes, int tp) {
  const double shards = latent(m) ? 1.0 : std::min<double>(tp, m.kv_heads);
  return m.kv_values_per_token_per_layer() * kv_bytes / shards;
}

}  // namespace

OperatorLoad linear_load(double tokens, double weight_params, double activation_values, double weight_bytes, int tp) {
  return {2.0 * tokens * weight_params / tp,
          weight_params * weight_bytes / tp + tokens * activation_values * kActivationBytes / tp};
}

OperatorLoad prefill_attention_load(const ModelSpec& m, double chunk, double context, double kv_bytes, int tp) {
  // FLOPs per (query, key) pair per head: QK^T plus PV.
  const double pair_flops = latent(m) ? 2.0 * (m.qk_nope_dim + m.qk_rope_dim) + 2.0 * m.v_head_dim : 4.0 * m.head_dim;
  const double pairs = chunk * (context + (chunk + 1.0) / 2.0);  // causal: token i sees context + i keys
  return {static_cast<double>(m.heads) / tp * pairs * pair_flops, (context + chunk) * kv_token_bytes(m, kv_bytes, tp)};
}

OperatorLoad decode_attention_load(const ModelSpec& m, double context_total, double kv_bytes, int tp) {
  // MLA decodes in the absorbed form, attending in the 512-d latent plus the rope key.
  const double pair_flops = latent(m) ? 2.0 * (2.0 * m.kv_lora_rank + m.qk_rope_dim) : 4.0 * m.head_dim;
  return {static_cast<double>(m.heads) / tp * context_total * pair_flops, context_total * kv_token_bytes(m, kv_bytes, tp)};
}

OperatorLoad moe_layer_load(const ModelSpec& m, double tokens, double weight_bytes, int tp) {
  const double experts = m.routed_experts, k = m.experts_per_token;
  // Expected distinct experts hit by `tokens` tokens each picking k of E.
  const double active = experts * (1.0 - std::pow(1.0 - k / experts, tokens));
  const double expert_activations = 2.0 * m.hidden + 3.0 * m.expert_intermediate;
  OperatorLoad routed{2.0 * tokens * k * m.expert_params() / tp,
                      active * m.expert_params() * weight_bytes / tp + tokens * k * expert_activations * kActivationBytes / tp};
  const OperatorLoad shared = linear_load(tokens, m.shared_experts * m.expert_params() + 1.0 * m.hidden * experts,
                                          2.0 * m.hidden + 3.0 * m.expert_intermediate * m.shared_experts, weight_bytes, tp);
  return {routed.flops + shared.flops, routed.bytes + shared.bytes};
}

OperatorLoad elementwise_load(const ModelSpec& m, double tokens) { return {0, tokens * m.hidden * kActivationBytes * 8.0}; }

double qkv_activation_values(const ModelSpec& m) {
  return 2.0 * m.hidden + (m.heads + 2.0 * m.kv_heads) * std::max(m.head_dim, m.v_head_dim);
}

}  // namespace aidc
