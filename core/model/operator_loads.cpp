#include "core/model/operator_loads.hpp"

#include <algorithm>

namespace aidc {

double kv_bytes_per_token_per_rank(const ModelConfig& m, double kv_bytes, int tp) {
  const double shards = m.mla.enabled ? 1.0 : std::min<double>(tp, m.kv_heads);
  return m.kv_values_per_token() * kv_bytes / shards;
}

OperatorLoad linear_load(double tokens, double weight_params, double activation_values, double weight_bytes, int tp) {
  return {2.0 * tokens * weight_params / tp,
          weight_params * weight_bytes / tp + tokens * activation_values * kActivationBytes / tp};
}

OperatorLoad prefill_attention_load(const ModelConfig& m, double chunk, double context, double kv_bytes, int tp) {
  // FLOPs per (query, key) pair per head: QK^T plus PV.
  const double pair_flops = 2.0 * m.qk_dim() + 2.0 * m.v_dim();
  const double pairs = chunk * (context + (chunk + 1.0) / 2.0);  // causal: token i sees context + i keys
  return {static_cast<double>(m.heads) / tp * pairs * pair_flops, (context + chunk) * kv_bytes_per_token_per_rank(m, kv_bytes, tp)};
}

OperatorLoad decode_attention_load(const ModelConfig& m, double context_total, double kv_bytes, int tp) {
  // MLA decodes in the absorbed form, attending in the 512-d latent plus the rope key.
  const double pair_flops = m.mla.enabled ? 2.0 * (2.0 * m.mla.kv_lora_rank + m.mla.qk_rope_dim) : 4.0 * m.head_dim;
  return {static_cast<double>(m.heads) / tp * context_total * pair_flops,
          context_total * kv_bytes_per_token_per_rank(m, kv_bytes, tp)};
}

OperatorLoad moe_layer_load(const ModelConfig& m, double tokens, double weight_bytes, int tp) {
  const double k = m.moe.experts_per_token, expert = static_cast<double>(m.expert_parameters());
  const double expert_activations = 2.0 * m.hidden + 3.0 * m.moe.expert_intermediate;
  OperatorLoad routed{2.0 * tokens * k * expert / tp,
                      m.expected_experts_touched(tokens) * expert * weight_bytes / tp +
                          tokens * k * expert_activations * kActivationBytes / tp};
  const OperatorLoad shared = linear_load(tokens, m.moe.n_shared_experts * expert + double(m.router_parameters_per_layer()),
                                          2.0 * m.hidden + 3.0 * m.moe.expert_intermediate * m.moe.n_shared_experts,
                                          weight_bytes, tp);
  return {routed.flops + shared.flops, routed.bytes + shared.bytes};
}

OperatorLoad elementwise_load(const ModelConfig& m, double tokens) { return {0, tokens * m.hidden * kActivationBytes * 8.0}; }

double qkv_activation_values(const ModelConfig& m) {
  return 2.0 * m.hidden + (m.heads + 2.0 * m.kv_heads) * std::max(m.head_dim, m.v_dim());
}

}  // namespace aidc
