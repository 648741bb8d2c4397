#include "core/calibration/writer.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/common/text_format.hpp"

namespace aidc {
namespace {

// Byte counts are whole numbers too large for %.6g to keep.
std::string whole(double v) {
  if (!std::isfinite(v) || v != std::floor(v) || std::abs(v) >= 1e18) return fmt_number(v);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

void write_operators(std::ostringstream& y, const CalibrationProfile::OperatorList& list, bool with_shape) {
  y << "    tokens: " << fmt_list(list.tokens) << "\n    ops:\n";
  for (const auto& op : list.ops) {
    if (with_shape) {
      y << "      - name: " << op.name << "\n        in_features: " << op.in_features << "\n        out_features: "
        << op.out_features << "\n        per_layer: " << op.per_layer << "\n        time_us: " << fmt_list(op.time_us);
      if (!op.power_w.empty()) y << "\n        power_w: " << fmt_list(op.power_w);
      y << "\n";
    } else {
      y << "      - {name: " << op.name << ", per_layer: " << op.per_layer << ", time_us: " << fmt_list(op.time_us);
      if (!op.power_w.empty()) y << ", power_w: " << fmt_list(op.power_w);
      y << "}\n";
    }
  }
}

void write_grid(std::ostringstream& y, const char* name, const char* rows, const char* cols,
                const CalibrationProfile::Grid& g) {
  y << "  " << name << ":\n    " << rows << ": " << fmt_list(g.rows) << "\n    " << cols << ": " << fmt_list(g.cols)
    << "\n    time_us:" << fmt_grid(g.time_us, "      ") << "\n";
  if (!g.power_w.empty()) y << "    power_w:" << fmt_grid(g.power_w, "      ") << "\n";
}

}  // namespace

namespace {

// `source: fit` (aidc calibrate): the metadata that names what was measured, and the fitted step model.
std::string format_step_fit(const CalibrationProfile& p) {
  const auto& m = p.metadata;
  const auto& f = *p.fit;
  std::ostringstream y;
  y << "schema: " << kCalibrationSchema << "\nsource: fit\nmetadata:\n  model: " << m.model << "\n  gpu: " << quoted(m.gpu)
    << "\n  gpu_count: " << m.gpu_count << "\n  date: " << m.date << "\n  command: " << quoted(m.command)
    << "\n  engine_version: " << quoted(m.engine_version) << "\n  precision: " << m.precision << "\n  kv_precision: " << m.kv_precision
    << "\n  tp: " << m.tp
    << "\n# step_s = base_s + per_decode_sequence_s x decoding sequences + per_kv_token_s x their KV tokens"
       "\n#          + per_prefill_token_s x prompt tokens in the step; frontend_s once per request before its first step"
    << "\nfit:\n  base_s: " << fmt_number(f.base_s) << "\n  per_decode_sequence_s: " << fmt_number(f.per_decode_sequence_s)
    << "\n  per_kv_token_s: " << fmt_number(f.per_kv_token_s) << "\n  per_prefill_token_s: " << fmt_number(f.per_prefill_token_s)
    << "\n  frontend_s: " << fmt_number(f.frontend_s) << "\n  tpot_error: " << fmt_number(f.tpot_error)
    << "\n  ttft_error: " << fmt_number(f.ttft_error) << "\n  runs: " << f.runs << "\n  requests: " << f.requests
    << "\n  max_decode_batch: " << f.max_decode_batch << "\n  max_context_tokens: " << fmt_number(f.max_context_tokens)
    << "\n  max_prompt_tokens: " << fmt_number(f.max_prompt_tokens) << "\n";
  return y.str();
}

}  // namespace

std::string format_calibration_profile(const CalibrationProfile& p) {
  if (p.fit) return format_step_fit(p);
  const auto& m = p.metadata;
  const auto& s = p.model_shape;
  std::ostringstream y;
  y << "schema: " << kCalibrationSchema << "\nmetadata:\n  model: " << m.model << "\n  architecture: " << m.architecture
    << "\n  gpu: " << quoted(m.gpu) << "\n  gpu_count: " << m.gpu_count << "\n  sm_count: " << m.sm_count
    << "\n  gpu_memory_gib: " << fmt_number(m.gpu_memory_gib) << "\n  driver: " << quoted(m.driver)
    << "\n  cuda_runtime: " << quoted(m.cuda_runtime) << "\n  date: " << m.date << "\n  command: " << quoted(m.command)
    << "\n  engine_version: " << quoted(m.engine_version) << "\n  precision: " << m.precision
    << "\n  kv_precision: " << m.kv_precision << "\n  tp: " << m.tp
    << "\n  weights: " << (m.weights == "random" ? m.weights : quoted(m.weights)) << "\n  kv_block_tokens: " << m.kv_block_tokens
    << "\ndevice_peaks:\n  copy_gbps: " << fmt_number(p.device_peaks.copy_gbps)
    << "\n  gemm_bf16_tflops: " << fmt_number(p.device_peaks.gemm_bf16_tflops)
    << (p.device_peaks.gemm_fp8_tflops > 0 ? "\n  gemm_fp8_tflops: " + fmt_number(p.device_peaks.gemm_fp8_tflops) : "")
    << "\n  idle_power_w: " << fmt_number(p.device_peaks.idle_power_w) << "\npower_window_ms: " << fmt_number(p.power_window_ms)
    << "\nmodel_shape:\n  layers: " << s.layers << "\n  dense_layers: " << s.dense_layers << "\n  moe_layers: " << s.moe_layers
    << "\n  hidden: " << s.hidden << "\n  heads: " << s.heads << "\n  kv_heads: " << s.kv_heads << "\n  head_dim: " << s.head_dim
    << "\n  intermediate: " << s.intermediate << "\n  vocab: " << s.vocab << "\n  weight_bytes: " << whole(s.weight_bytes)
    << "\n  active_weight_bytes: " << whole(s.active_weight_bytes) << "\n  kv_bytes_per_token: " << whole(s.kv_bytes_per_token)
    << "\n  flops_per_token: " << fmt_number(s.flops_per_token) << "\noperators:\n  linear:\n";
  write_operators(y, p.linear, /*with_shape=*/true);
  write_grid(y, "prefill_attention", "chunk_tokens", "context_tokens", p.prefill_attention);
  write_grid(y, "decode_attention", "batch", "kv_tokens_per_seq", p.decode_attention);
  if (p.moe) {
    const auto& e = *p.moe;
    y << "  moe:\n    tokens: " << fmt_list(e.tokens) << "\n    time_us: " << fmt_list(e.time_us);
    if (!e.power_w.empty()) y << "\n    power_w: " << fmt_list(e.power_w);
    y << "\n    n_routed_experts: " << e.n_routed_experts << "\n    experts_per_token: " << e.experts_per_token
      << "\n    n_shared_experts: " << e.n_shared_experts << "\n    expert_intermediate: " << e.expert_intermediate << "\n";
  }
  y << "  elementwise:\n";
  write_operators(y, p.elementwise, /*with_shape=*/false);
  y << "  step_overhead:\n    batch: " << fmt_list(p.step_overhead.x) << "\n    cpu_us: " << fmt_list(p.step_overhead.y) << "\n";
  if (p.end_to_end) {
    const auto& e = *p.end_to_end;
    y << "end_to_end:\n  decode:\n    context_tokens: " << e.decode_context_tokens << "\n    batch: " << fmt_list(e.decode_batch)
      << "\n    step_ms: " << fmt_list(e.decode_step_ms) << "\n    tokens_per_s: " << fmt_list(e.decode_tokens_per_s)
      << "\n    power_w: " << fmt_list(e.decode_power_w) << "\n  prefill:\n    tokens: " << fmt_list(e.prefill_tokens)
      << "\n    time_ms: " << fmt_list(e.prefill_time_ms) << "\n    tokens_per_s: " << fmt_list(e.prefill_tokens_per_s)
      << "\n    power_w: " << fmt_list(e.prefill_power_w) << "\n";
  }
  y << "power:\n  idle_w: " << fmt_number(p.power_idle_w) << "\n  points:";
  if (p.power_points.empty()) y << " []";
  y << "\n";
  for (const auto& pt : p.power_points)
    y << "    - {op: " << pt.op << ", label: " << quoted(pt.label) << ", gbps: " << fmt_number(pt.gbps)
      << ", tflops: " << fmt_number(pt.tflops) << ", power_w: " << fmt_number(pt.power_w) << "}\n";
  return y.str();
}

}  // namespace aidc
