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

double linear_efficiency(const GpuSpec& gpu, Precision p) {
  switch (p) {
    case Precision::FP8: return gpu.fp8_tflops ? gpu.linear_fp8_efficiency : gpu.linear_bf16_efficiency;
    case Precision::INT8: return gpu.int8_tops ? gpu.linear_int8_efficiency : gpu.linear_bf16_efficiency;
    default: return gpu.linear_bf16_efficiency;
  }
}

RooflineModel::RooflineModel(const ModelConfig& model, const GpuSpec& gpu, const ServerSpec& server,
                             const DeploymentSpec& d, double step_overhead_s)
    : model_(model),
      gpu_(gpu),
      tp_(d.tensor_parallel),
      weight_bytes_(bytes_per_value(d.precision)),
      kv_bytes_(bytes_per_value(d.kv_cache_precision)),
      flops_per_s_(peak_tflops(gpu, d.precision) * 1e12 * gpu.attention_efficiency),
      bytes_per_s_(gpu.memory_bandwidth_gb_s * 1e9 * gpu.memory_efficiency),
      linear_flops_per_s_(peak_tflops(gpu, d.precision) * 1e12 * linear_efficiency(gpu, d.precision)),
      weight_bytes_per_s_(gpu.memory_bandwidth_gb_s * 1e9 * gpu.weight_read_efficiency),
      collectives_(model_, gpu, server, d),
      step_overhead_s_(step_overhead_s),
      precision_(to_string(d.precision)) {}

void RooflineModel::add(StepCost& cost, const OperatorLoad& load, double flops_per_s, double bytes_per_s) {
  const double compute_s = load.flops / flops_per_s;
  const double memory_s = load.bytes / bytes_per_s;
  if (compute_s > memory_s)
    cost.compute_bound_s += compute_s;
  else
    cost.memory_bound_s += memory_s;
}

StepCost RooflineModel::token_cost(int tokens, int logits_rows, int) const {
  StepCost cost;
  const ModelConfig& m = model_;
  add(cost, elementwise_load(m, tokens) * m.layers);
  add_linear(cost, linear_load(tokens, double(m.attention_parameters_per_layer()), qkv_activation_values(m), weight_bytes_, tp_) * m.layers);
  if (m.dense_layer_count() > 0)
    add_linear(cost, linear_load(tokens, double(m.dense_ffn_parameters_per_layer()), 2.0 * m.hidden + 3.0 * m.intermediate,
                          weight_bytes_, tp_) *
                  m.dense_layer_count());
  if (m.is_moe()) add_linear(cost, moe_layer_load(m, tokens, weight_bytes_, tp_) * m.moe_layer_count());
  cost.communication_s = collectives_.seconds(tokens);
  // Embedding lookup, then the LM head only for rows that sample.
  add(cost, {0, 1.0 * tokens * m.hidden * weight_bytes_});
  if (logits_rows > 0) add_linear(cost, linear_load(logits_rows, 1.0 * m.vocab * m.hidden, m.hidden + m.vocab, weight_bytes_, tp_));
  cost.overhead_s = step_overhead_s_;
  return cost;
}

StepCost RooflineModel::attention_cost(const BatchShape& batch) const {
  note(batch);
  StepCost cost;
  for (const auto& chunk : batch.prefills)
    add(cost, prefill_attention_load(model_, chunk.tokens, chunk.context_before, kv_bytes_, tp_) * model_.layers);
  if (batch.decode_sequences > 0)
    add(cost, decode_attention_load(model_, batch.decode_context_tokens, kv_bytes_, tp_) * model_.layers);
  return cost;
}

// The validation set (scenarios/validation/benchmarks.yaml, tests/sim/validation_test.cpp): its mean
// absolute errors are the band, its GPUs, precisions, batches and contexts the checked range. The test
// fails when the measured error of a group exceeds the band stated here.
ModelFidelity RooflineModel::fidelity() const {
  ModelFidelity f;
  f.kind = "roofline";
  f.band_basis = "mean absolute error over 14 published measurements of TensorRT-LLM, NIM and vLLM (dense 8B/70B, H100/H200, "
                 "fp8/bf16, TP1-4; scenarios/validation)";
  f.throughput_band = 0.07;  // measured 6.8% (docs/fidelity.md)
  f.tpot_band = 0.05;        // measured 4.3%
  f.checked = {.max_decode_batch = 2048, .max_context_tokens = 5500};
  if (gpu_.id != "H100-SXM" && gpu_.id != "H200-SXM") f.out_of_range.push_back("GPU " + gpu_.id + " is not in the validation set (H100-SXM, H200-SXM)");
  if (precision_ != "bf16" && precision_ != "fp8") f.out_of_range.push_back(precision_ + " is not in the validation set (bf16, fp8)");
  if (model_.is_moe()) f.out_of_range.push_back("MoE models are not in the validation set (dense only)");
  if (tp_ > 4) f.out_of_range.push_back("TP " + std::to_string(tp_) + " > 4 checked");
  return with_range_checks(f);
}

std::string RooflineModel::description() const {
  char text[384];
  std::snprintf(text, sizeof text,
                "roofline: %s on %s, %s, TP %d; linear layers %.0f TFLOP/s and %.0f GB/s of weights, other kernels %.0f TFLOP/s and "
                "%.0f GB/s achievable",
                model_.name.c_str(), gpu_.id.c_str(), precision_.c_str(), tp_, linear_flops_per_s_ / 1e12, weight_bytes_per_s_ / 1e9,
                flops_per_s_ / 1e12, bytes_per_s_ / 1e9);
  return text;
}

}  // namespace aidc
