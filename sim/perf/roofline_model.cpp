#include "perf/roofline_model.hpp"

#include <cstdio>

#include "core/model/operator_loads.hpp"

namespace aidc {

double peak_tflops(const GpuSpec& gpu, Precision p) {
  switch (p) {
    case Precision::FP8: return gpu.fp8_tflops.value_or(gpu.bf16_tflops);
    case Precision::INT8: return gpu.int8_tops.value_or(gpu.bf16_tflops);
    default: return gpu.bf16_tflops;  // int4 is weight-only: dequantized to bf16 for the math
  }
}

RooflineModel::RooflineModel(const ModelConfig& model, const GpuSpec& gpu, const ServerSpec& server,
                             const DeploymentSpec& d, double step_overhead_s)
    : model_(model),
      gpu_(gpu),
      tp_(d.tensor_parallel),
      weight_bytes_(bytes_per_value(d.precision)),
      kv_bytes_(bytes_per_value(d.kv_cache_precision)),
      flops_per_s_(peak_tflops(gpu, d.precision) * 1e12 * gpu.compute_efficiency),
      bytes_per_s_(gpu.memory_bandwidth_gb_s * 1e9 * gpu.memory_efficiency),
      collectives_(model_, gpu, server, d),
      step_overhead_s_(step_overhead_s),
      precision_(to_string(d.precision)) {}

void RooflineModel::add(StepCost& cost, const OperatorLoad& load) const {
  const double compute_s = load.flops / flops_per_s_;
  const double memory_s = load.bytes / bytes_per_s_;
  if (compute_s > memory_s)
    cost.compute_bound_s += compute_s;
  else
    cost.memory_bound_s += memory_s;
}

StepCost RooflineModel::token_cost(int tokens, int logits_rows, int) const {
  StepCost cost;
  const ModelConfig& m = model_;
  add(cost, elementwise_load(m, tokens) * m.layers);
  add(cost, linear_load(tokens, double(m.attention_parameters_per_layer()), qkv_activation_values(m), weight_bytes_, tp_) * m.layers);
  if (m.dense_layer_count() > 0)
    add(cost, linear_load(tokens, double(m.dense_ffn_parameters_per_layer()), 2.0 * m.hidden + 3.0 * m.intermediate,
                          weight_bytes_, tp_) *
                  m.dense_layer_count());
  if (m.is_moe()) add(cost, moe_layer_load(m, tokens, weight_bytes_, tp_) * m.moe_layer_count());
  cost.communication_s = collectives_.seconds(tokens);
  // Embedding lookup, then the LM head only for rows that sample.
  add(cost, {0, 1.0 * tokens * m.hidden * weight_bytes_});
  if (logits_rows > 0) add(cost, linear_load(logits_rows, 1.0 * m.vocab * m.hidden, m.hidden + m.vocab, weight_bytes_, tp_));
  cost.overhead_s = step_overhead_s_;
  return cost;
}

StepCost RooflineModel::attention_cost(const BatchShape& batch) const {
  StepCost cost;
  for (const auto& chunk : batch.prefills)
    add(cost, prefill_attention_load(model_, chunk.tokens, chunk.context_before, kv_bytes_, tp_) * model_.layers);
  if (batch.decode_sequences > 0)
    add(cost, decode_attention_load(model_, batch.decode_context_tokens, kv_bytes_, tp_) * model_.layers);
  return cost;
}

std::string RooflineModel::description() const {
  char text[256];
  std::snprintf(text, sizeof text, "roofline: %s on %s, %s, TP %d, %.0f TFLOP/s and %.0f GB/s achievable", model_.name.c_str(),
                gpu_.id.c_str(), precision_.c_str(), tp_, flops_per_s_ / 1e12, bytes_per_s_ / 1e9);
  return text;
}

}  // namespace aidc
