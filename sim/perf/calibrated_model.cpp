#include "perf/calibrated_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/common/error.hpp"
#include "core/model/operator_loads.hpp"
#include "perf/roofline_model.hpp"

namespace aidc {
namespace {

constexpr double kMicro = 1e-6;

// Position of `value` between grid points: index of the left point and weight of the right, linear in
// the value. An operator's time is affine in its tokens or context once past its fixed cost (weights or
// KV read, FLOPs: all grow linearly), so straight lines between measurements follow it; interpolating in
// log(x) bowed above them (decode attention at 1,150 tokens of context: +21% between the 512 and 2,048
// points, which priced served decode steps 11% high; docs/fidelity.md).
std::pair<std::size_t, double> locate(const std::vector<double>& grid, double value, bool& outside) {
  if (grid.size() == 1 || value <= grid.front()) {
    outside |= value < grid.front();
    return {0, 0.0};
  }
  if (value >= grid.back()) {
    outside |= value > grid.back();
    return {grid.size() - 2, 1.0};
  }
  const auto upper = static_cast<std::size_t>(std::upper_bound(grid.begin(), grid.end(), value) - grid.begin());
  const double lo = grid[upper - 1], hi = grid[upper];
  return {upper - 1, (value - lo) / (hi - lo)};
}

double clamp_to(const std::vector<double>& grid, double value) { return std::clamp(value, grid.front(), grid.back()); }

// The measured points of `y` over `x`, cells nothing was measured for dropped.
Curve measured_curve(const std::vector<double>& x, const std::vector<double>& y) {
  Curve c;
  for (std::size_t i = 0; i < std::min(x.size(), y.size()); ++i)
    if (!std::isnan(y[i])) c.x.push_back(x[i]), c.y.push_back(y[i]);
  return c;
}

Surface measured_surface(const CalibrationProfile::Grid& g) { return {g.rows, g.cols, g.time_us}; }

std::vector<MeasuredProfile::Operator> measured_operators(const CalibrationProfile::OperatorList& list) {
  std::vector<MeasuredProfile::Operator> out;
  for (const auto& op : list.ops)
    out.push_back({op.name, double(op.in_features), double(op.out_features), op.per_layer, measured_curve(list.tokens, op.time_us)});
  return out;
}

// What interpolation needs: increasing grid points and at least one measurement each. The reader
// refuses profiles without them; a profile built in memory is held to the same line here.
bool increasing(const std::vector<double>& grid) {
  for (std::size_t i = 0; i < grid.size(); ++i)
    if (!std::isfinite(grid[i]) || (i > 0 && !(grid[i] > grid[i - 1]))) return false;
  return !grid.empty();
}

void require_usable(const Curve& c, const std::string& file, const std::string& what) {
  require(increasing(c.x) && c.y.size() == c.x.size(),
          file + ": " + what + ": expected at least one measured time over increasing grid points");
}

void require_usable(const Surface& s, const std::string& file, const std::string& what) {
  bool shaped = increasing(s.rows) && increasing(s.cols) && s.z.size() == s.rows.size(), measured = false;
  for (const auto& row : s.z) {
    shaped = shaped && row.size() == s.cols.size();
    for (double v : row) measured = measured || !std::isnan(v);
  }
  require(shaped && measured, file + ": " + what + ": expected a measured grid over increasing row and column points");
}

MeasuredProfile measured(const CalibrationProfile& p) {
  MeasuredProfile m;
  m.file = p.file;
  m.gpu_name = p.metadata.gpu;
  m.driver = p.metadata.driver;
  m.date = p.metadata.date;
  m.precision = p.metadata.precision;
  m.tp = p.metadata.tp;
  m.copy_gb_s = p.device_peaks.copy_gbps;
  // The GEMM peak of the profile's weight format (the reader requires the fp8 one in fp8 profiles): the
  // profiled side of the roofline ratio, whose target side is peak_tflops(gpu, deployment.precision).
  m.gemm_tflops = p.metadata.precision == "fp8" ? p.device_peaks.gemm_fp8_tflops : p.device_peaks.gemm_bf16_tflops;
  m.linears = measured_operators(p.linear);
  m.elementwise = measured_operators(p.elementwise);
  m.prefill_attention = measured_surface(p.prefill_attention);
  m.decode_attention = measured_surface(p.decode_attention);
  if (p.moe) m.moe_time_us = measured_curve(p.moe->tokens, p.moe->time_us);
  m.step_overhead_us = measured_curve(p.step_overhead.x, p.step_overhead.y);
  for (const auto* ops : {&m.linears, &m.elementwise})
    for (const auto& op : *ops) require_usable(op.time_us, m.file, op.name + " time_us");
  require_usable(m.prefill_attention, m.file, "prefill_attention");
  require_usable(m.decode_attention, m.file, "decode_attention");
  if (p.moe) require_usable(m.moe_time_us, m.file, "moe time_us");
  require_usable(m.step_overhead_us, m.file, "step_overhead");
  m.end_to_end = p.end_to_end;
  return m;
}

}  // namespace

double Curve::at(double value, bool& outside) const {
  const auto [i, w] = locate(x, value, outside);
  if (x.size() == 1) return y[0];
  return y[i] + w * (y[i + 1] - y[i]);
}

double Surface::at(double row, double col, bool& outside) const {
  const auto [i, wi] = locate(rows, row, outside);
  const auto [j, wj] = locate(cols, col, outside);
  const std::size_t i1 = std::min(i + 1, rows.size() - 1), j1 = std::min(j + 1, cols.size() - 1);
  // Weighted mean of the measured corners; an unmeasured corner drops out.
  double sum = 0, weight = 0;
  for (const auto& [r, c, k] : {std::tuple{i, j, (1 - wi) * (1 - wj)}, std::tuple{i1, j, wi * (1 - wj)},
                                std::tuple{i, j1, (1 - wi) * wj}, std::tuple{i1, j1, wi * wj}})
    if (!std::isnan(z[r][c]) && k > 0) sum += k * z[r][c], weight += k;
  if (weight > 0) return sum / weight;
  outside = true;  // every corner unmeasured: use the nearest measured cell
  double best = std::nan(""), distance = 1e300;
  for (std::size_t a = 0; a < rows.size(); ++a)
    for (std::size_t b = 0; b < cols.size(); ++b)
      if (!std::isnan(z[a][b])) {
        const double d = std::abs(std::log(rows[a] / std::max(row, 1.0))) + std::abs(std::log((cols[b] + 1) / (col + 1)));
        if (d < distance) distance = d, best = z[a][b];
      }
  return best;
}

CalibratedModel::CalibratedModel(const CalibrationProfile& profile, const ModelConfig& model, const GpuSpec& gpu,
                                 const ServerSpec& server, const DeploymentSpec& d)
    : profile_(measured(profile)),
      model_(model),
      gpu_(gpu),
      tp_(d.tensor_parallel),
      same_gpu_(std::find(gpu.device_names.begin(), gpu.device_names.end(), profile_.gpu_name) != gpu.device_names.end()),
      weight_bytes_(bytes_per_value(d.precision)),
      kv_bytes_(bytes_per_value(d.kv_cache_precision)),
      target_flops_per_s_(peak_tflops(gpu, d.precision) * 1e12 * gpu.compute_efficiency),
      target_bytes_per_s_(gpu.memory_bandwidth_gb_s * 1e9 * gpu.memory_efficiency),
      collectives_(model_, gpu, server, d) {
  step_correction_ = whole_step_correction();
  evaluations_ = extrapolated_ = 0;  // the correction's own evaluations are not the run's
}

Curve CalibratedModel::whole_step_correction() const {
  Curve correction;
  if (!profile_.end_to_end) return correction;
  const CalibrationProfile::EndToEnd& e = *profile_.end_to_end;
  std::vector<std::pair<double, double>> points;  // batch tokens, measured over composed
  const auto add_point = [&](const BatchShape& batch, double measured_ms) {
    // Both sides on the profiled GPU and TP: the ratio is a property of the profile, carried to any target.
    StepCost composed = token_cost_at(batch.tokens(), batch.logits_rows,
                                      batch.decode_sequences + static_cast<int>(batch.prefills.size()), true);
    composed += attention_cost_at(batch, true);
    const double gpu_s = composed.compute_bound_s + composed.memory_bound_s;
    const double measured_gpu_s = measured_ms * 1e-3 - composed.overhead_s - composed.communication_s;
    if (gpu_s > 0 && measured_gpu_s > 0 && std::isfinite(measured_gpu_s)) points.emplace_back(batch.tokens(), measured_gpu_s / gpu_s);
  };
  for (std::size_t i = 0; i < e.decode_batch.size() && i < e.decode_step_ms.size(); ++i) {
    BatchShape batch;
    batch.decode_sequences = static_cast<int>(e.decode_batch[i]);
    batch.decode_context_tokens = e.decode_batch[i] * e.decode_context_tokens;
    batch.logits_rows = batch.decode_sequences;
    add_point(batch, e.decode_step_ms[i]);
  }
  for (std::size_t i = 0; i < e.prefill_tokens.size() && i < e.prefill_time_ms.size(); ++i) {
    BatchShape batch;
    batch.prefills.push_back({static_cast<int>(e.prefill_tokens[i]), 0});
    batch.logits_rows = 1;
    add_point(batch, e.prefill_time_ms[i]);
  }
  std::sort(points.begin(), points.end());
  for (const auto& [tokens, ratio] : points)
    if (correction.x.empty() || tokens > correction.x.back()) correction.x.push_back(tokens), correction.y.push_back(ratio);
  return correction;
}

void CalibratedModel::correct(StepCost& cost, int tokens) const {
  if (step_correction_.x.empty()) return;
  bool outside = false;  // beyond the measured sizes the nearest correction holds
  const double ratio = step_correction_.at(tokens, outside);
  cost.compute_bound_s *= ratio;
  cost.memory_bound_s *= ratio;
}

// Adds one operator: its measured time, scaled by the ratio of roofline times of the load wanted
// here (this GPU, this TP, these sizes) to the load measured (profiled GPU and TP, nearest grid point).
void CalibratedModel::add(StepCost& cost, double measured_us, const OperatorLoad& measured, const OperatorLoad& wanted,
                          double count, bool rescale) const {
  double seconds = measured_us * kMicro;
  if (rescale || measured.flops != wanted.flops || measured.bytes != wanted.bytes) {
    const double measured_roof =
        std::max(measured.flops / (profile_.gemm_tflops * 1e12), measured.bytes / (profile_.copy_gb_s * 1e9));
    const double wanted_roof = std::max(wanted.flops / target_flops_per_s_, wanted.bytes / target_bytes_per_s_);
    if (measured_roof > 0) seconds *= wanted_roof / measured_roof;
  }
  const bool compute = wanted.flops / target_flops_per_s_ > wanted.bytes / target_bytes_per_s_;
  (compute ? cost.compute_bound_s : cost.memory_bound_s) += seconds * count;
}

void CalibratedModel::count(bool extrapolated) const {
  ++evaluations_;
  if (extrapolated) ++extrapolated_;
}

StepCost CalibratedModel::token_cost(int tokens, int logits_rows, int sequences) const {
  return token_cost_at(tokens, logits_rows, sequences, false);
}

StepCost CalibratedModel::token_cost_at(int tokens, int logits_rows, int sequences, bool as_profiled) const {
  const ModelConfig& m = model_;
  StepCost cost;
  const int tp = as_profiled ? profile_.tp : tp_;
  const bool rescale = !as_profiled && (!same_gpu_ || profile_.tp != tp_);
  bool outside_any = false;
  for (const auto& op : profile_.linears) {
    const bool per_step = op.per_layer == 0;
    const double rows = per_step ? logits_rows : tokens;
    if (rows <= 0) continue;
    bool outside = false;
    const double measured = op.time_us.at(rows, outside);
    outside_any |= outside;
    const double params = op.in * op.out * profile_.tp;  // the whole matrix; the profile measured one TP shard
    const bool ffn = op.name == "gate_up_proj" || op.name == "down_proj";
    const double layers = per_step ? 1.0 : op.per_layer * (ffn ? m.dense_layer_count() : m.layers);
    add(cost, measured, linear_load(clamp_to(op.time_us.x, rows), params, op.in + op.out, weight_bytes_, profile_.tp),
        linear_load(rows, params, op.in + op.out, weight_bytes_, tp), layers, rescale);
  }
  if (m.is_moe() && !profile_.moe_time_us.x.empty()) {
    bool outside = false;
    const double measured = profile_.moe_time_us.at(tokens, outside);
    outside_any |= outside;
    add(cost, measured, moe_layer_load(m, clamp_to(profile_.moe_time_us.x, tokens), weight_bytes_, profile_.tp),
        moe_layer_load(m, tokens, weight_bytes_, tp), m.moe_layer_count(), rescale);
  }
  for (const auto& op : profile_.elementwise) {
    const double rows = op.name == "sampling" ? logits_rows : tokens;
    if (rows <= 0) continue;
    bool outside = false;
    const double measured = op.time_us.at(rows, outside);
    outside_any |= outside;
    add(cost, measured, elementwise_load(m, clamp_to(op.time_us.x, rows)), elementwise_load(m, rows),
        op.per_layer == 0 ? 1.0 : op.per_layer * m.layers, rescale);
  }
  bool overhead_outside = false;  // CPU time: beyond the grid it stays at the nearest measurement
  cost.overhead_s = profile_.step_overhead_us.at(sequences, overhead_outside) * kMicro;
  cost.communication_s = as_profiled ? 0 : collectives_.seconds(tokens);
  if (!as_profiled) correct(cost, tokens);
  count(outside_any || rescale);
  return cost;
}

StepCost CalibratedModel::attention_cost(const BatchShape& batch) const {
  note(batch);
  return attention_cost_at(batch, false);
}

StepCost CalibratedModel::attention_cost_at(const BatchShape& batch, bool as_profiled) const {
  const ModelConfig& m = model_;
  StepCost cost;
  const int tp = as_profiled ? profile_.tp : tp_;
  const bool rescale = !as_profiled && (!same_gpu_ || profile_.tp != tp_);
  bool extrapolated = rescale;
  for (const auto& chunk : batch.prefills) {
    bool outside = false;
    const Surface& s = profile_.prefill_attention;
    const double measured = s.at(chunk.tokens, chunk.context_before, outside);
    extrapolated |= outside;
    add(cost, measured,
        prefill_attention_load(m, clamp_to(s.rows, chunk.tokens), clamp_to(s.cols, chunk.context_before), kv_bytes_, profile_.tp),
        prefill_attention_load(m, chunk.tokens, chunk.context_before, kv_bytes_, tp), m.layers, rescale);
  }
  if (batch.decode_sequences > 0) {
    bool outside = false;
    const Surface& s = profile_.decode_attention;
    const double per_seq = batch.decode_context_tokens / batch.decode_sequences;
    const double measured = s.at(batch.decode_sequences, per_seq, outside);
    extrapolated |= outside;
    const double at_batch = clamp_to(s.rows, batch.decode_sequences), at_context = clamp_to(s.cols, per_seq);
    add(cost, measured, decode_attention_load(m, at_batch * at_context, kv_bytes_, profile_.tp),
        decode_attention_load(m, batch.decode_context_tokens, kv_bytes_, tp), m.layers, rescale);
  }
  if (!as_profiled) correct(cost, batch.tokens());
  count(extrapolated);
  return cost;
}

std::string CalibratedModel::description() const {
  char text[1024];
  const long long steps = evaluations_, extrapolated = extrapolated_;
  std::snprintf(text, sizeof text,
                "calibrated: %s (%s, driver %s, %s, TP %d, measured %s)%s; %.1f%% of %lld cost evaluations extrapolated "
                "beyond the measured grid or scaled by roofline ratios",
                std::filesystem::path(profile_.file).filename().c_str(), profile_.gpu_name.c_str(), profile_.driver.c_str(),
                profile_.precision.c_str(), profile_.tp, profile_.date.c_str(),
                same_gpu_ ? "" : (" scaled to " + gpu_.id + " by roofline ratios").c_str(),
                steps > 0 ? 100.0 * static_cast<double>(extrapolated) / static_cast<double>(steps) : 0.0, steps);
  return text;
}

// The band measured by the served-load experiment (docs/fidelity.md, scripts/fidelity/run.sh): the
// engine's H200 profile replaying what `aidc-engine serve` served on that H200. At loads up to 80% of
// capacity the means of TPOT were within 6.5% and of TTFT within 4.4%, throughput within 0.5%; at the
// capacity of a long-prompt mix, +4.6%. Checked range: the batches whose decode attention the profile
// measured up to 2,048 tokens of context (beyond, at 95% load, TPOT came out 17% low).
ModelFidelity CalibratedModel::fidelity() const {
  ModelFidelity f;
  f.kind = "profile";
  f.band_basis = "engine profile vs the same engine serving on the same GPU (docs/fidelity.md): TPOT within 6.5%, "
                 "throughput within 5% at loads up to 80% of capacity";
  f.throughput_band = 0.05;
  f.tpot_band = 0.07;
  const Surface& attention = profile_.decode_attention;
  int checked_batch = 0;
  for (std::size_t i = 0; i < attention.rows.size(); ++i) {
    bool measured = true;  // every context up to 2,048 tokens
    for (std::size_t j = 0; j < attention.cols.size(); ++j)
      if (attention.cols[j] <= 2048 && std::isnan(attention.z[i][j])) measured = false;
    if (!measured) break;
    checked_batch = static_cast<int>(attention.rows[i]);
  }
  f.checked = {.max_decode_batch = checked_batch,
               .max_context_tokens = attention.cols.empty() ? 0 : attention.cols.back()};
  if (!same_gpu_) f.out_of_range.push_back("profile measured on " + profile_.gpu_name + ", run on " + gpu_.id + " (scaled by roofline ratios)");
  if (profile_.tp != tp_) f.out_of_range.push_back("profile measured at TP " + std::to_string(profile_.tp) + ", run at TP " + std::to_string(tp_));
  return with_range_checks(f);
}

}  // namespace aidc
