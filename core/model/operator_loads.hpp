#pragma once
// FLOPs and bytes each operator of an iteration moves on one tensor-parallel rank. The simulator's
// roofline model (time = max of the two over the GPU's peaks) and calibrated model (which scales
// measured times by the ratio of those roofline times) both size operators here.
#include "core/model/config.hpp"

namespace aidc {

struct OperatorLoad {
  double flops = 0, bytes = 0;
  OperatorLoad operator*(double k) const { return {flops * k, bytes * k}; }
};

constexpr double kActivationBytes = 2.0;  // activations stay bf16 whatever the weight precision

// KV-cache bytes per token per layer on one rank: K/V heads shard across TP ranks; an MLA latent (or
// fewer KV heads than ranks) is replicated.
double kv_bytes_per_token_per_rank(const ModelConfig& m, double kv_bytes, int tp);
// A GEMM of `tokens` rows through `weight_params` weights, reading/writing `activation_values` per row.
OperatorLoad linear_load(double tokens, double weight_params, double activation_values, double weight_bytes, int tp);
// One layer of causal attention for a prompt chunk of `chunk` tokens after `context` cached ones.
OperatorLoad prefill_attention_load(const ModelConfig& m, double chunk, double context, double kv_bytes, int tp);
// One layer of decode attention: one new token for each sequence over `context_total` cached tokens.
OperatorLoad decode_attention_load(const ModelConfig& m, double context_total, double kv_bytes, int tp);
// One MoE layer's routed experts (uniform routing), shared experts and router.
OperatorLoad moe_layer_load(const ModelConfig& m, double tokens, double weight_bytes, int tp);
// Norms, residual adds, rotary embedding: a few passes over the hidden state.
OperatorLoad elementwise_load(const ModelConfig& m, double tokens);
// Width of the fused QKV output (MLA: its projections' outputs).
double qkv_activation_values(const ModelConfig& m);

}  // namespace aidc
