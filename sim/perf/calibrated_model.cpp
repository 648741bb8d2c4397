#include "perf/calibrated_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/field_reader.hpp"
#include "perf/operator_loads.hpp"
#include "perf/roofline_model.hpp"

namespace aidc {
namespace {

constexpr double kMicro = 1e-6;

// Position of `value` between grid points in log space: index of the left point and weight of the right.
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
  const double lo = std::log(std::max(grid[upper - 1], 1e-9)), hi = std::log(grid[upper]);
  return {upper - 1, (std::log(std::max(value, 1e-9)) - lo) / (hi - lo)};
}

double clamp_to(const std::vector<double>& grid, double value) { return std::clamp(value, grid.front(), grid.back()); }

// Reads a list that may hold nulls (cells the profiler could not measure) as NaN.
std::vector<double> numbers_with_gaps(FieldReader& r, std::string_view key) {
  std::vector<double> out;
  const ConfigNode* node = r.node() ? r.node()->find(key) : nullptr;
  r.mark_known(key);
  if (!node || !node->is_sequence()) {
    r.error(key, "expected a list of numbers");
    return out;
  }
  for (const auto& item : node->items()) {
    const bool is_null = item.is_null() || (item.is_scalar() && (item.text() == "null" || item.text() == "~"));
    out.push_back(is_null ? std::nan("") : std::atof(item.text().c_str()));
  }
  return out;
}

Curve read_curve(FieldReader& r, std::string_view x_key, std::string_view y_key) {
  const std::vector<double> x = r.numbers(x_key), y = numbers_with_gaps(r, y_key);
  Curve c;
  if (x.size() != y.size()) {
    r.error(y_key, "expected one value per entry of " + std::string(x_key) + " (" + std::to_string(x.size()) + ")");
    return c;
  }
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isnan(y[i])) c.x.push_back(x[i]), c.y.push_back(y[i]);
  if (c.x.empty()) r.error(y_key, "expected at least one measured value");
  return c;
}

Surface read_surface(FieldReader parent, std::string_view section, std::string_view row_key, std::string_view col_key) {
  FieldReader r = parent.section(section);
  Surface s;
  s.rows = r.numbers(row_key);
  s.cols = r.numbers(col_key);
  const ConfigNode* grid = r.node() ? r.node()->find("time_us") : nullptr;
  r.mark_known("time_us");
  if (!grid || !grid->is_sequence() || grid->items().size() != s.rows.size()) {
    r.error("time_us", "expected one row per entry of " + std::string(row_key));
    return s;
  }
  for (const auto& row : grid->items()) {
    std::vector<double> values;
    for (const auto& cell : row.items())
      values.push_back(cell.is_null() || cell.text() == "null" ? std::nan("") : std::atof(cell.text().c_str()));
    if (values.size() != s.cols.size())
      r.errors().add(row.where(), r.path_of("time_us"), "expected one value per entry of " + std::string(col_key));
    s.z.push_back(values);
  }
  return s;
}

// A section holding `tokens` and a list of `ops`, each with `time_us` per token count (linear layers
// also give their in/out features).
std::vector<CalibrationProfile::Operator> read_operators(FieldReader section, bool with_shape, ErrorList& errors) {
  const std::vector<double> tokens = section.numbers("tokens");
  const ConfigNode* list = section.node() ? section.node()->find("ops") : nullptr;
  section.mark_known("ops");
  std::vector<CalibrationProfile::Operator> out;
  for (std::size_t i = 0; list && i < list->items().size(); ++i) {
    FieldReader op(&list->items()[i], section.path_of("ops") + "[" + std::to_string(i) + "]", errors);
    CalibrationProfile::Operator o;
    o.name = op.text("name", "");
    if (with_shape) {
      o.in = op.number("in_features", 1, 1);
      o.out = op.number("out_features", 1, 1);
    }
    o.per_layer = static_cast<int>(op.integer("per_layer", 1, 0));
    const std::vector<double> times = numbers_with_gaps(op, "time_us");
    if (times.size() != tokens.size()) op.error("time_us", "expected one value per entry of " + section.path_of("tokens"));
    for (std::size_t k = 0; k < std::min(times.size(), tokens.size()); ++k)
      if (!std::isnan(times[k])) o.time_us.x.push_back(tokens[k]), o.time_us.y.push_back(times[k]);
    out.push_back(o);
  }
  return out;
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

CalibrationProfile load_calibration_profile(const std::string& path) {
  const ConfigNode root = load_yaml_file(path);
  ErrorList errors;
  FieldReader top(&root, "", errors);
  CalibrationProfile p;
  p.file = path;
  if (top.text("schema", "") != "aidc-calibration/1") top.error("schema", "expected aidc-calibration/1");
  FieldReader meta = top.section("metadata");
  p.model = meta.text("model", "");
  p.gpu_name = meta.text("gpu", "");
  p.driver = meta.text("driver", "unknown");
  p.date = meta.text("date", "");
  p.command = meta.text("command", "");
  p.precision = meta.text("precision", "bf16");
  p.tp = static_cast<int>(meta.integer("tp", 1, 1, 64));
  FieldReader peaks = top.section("device_peaks");
  p.copy_gb_s = peaks.number("copy_gbps", 0, 1);
  p.gemm_tflops = peaks.number("gemm_bf16_tflops", 0, 0.1);
  p.idle_power_w = peaks.number("idle_power_w", 0, 0);
  FieldReader ops = top.section("operators");
  p.linears = read_operators(ops.section("linear"), /*with_shape=*/true, errors);
  p.prefill_attention = read_surface(ops, "prefill_attention", "chunk_tokens", "context_tokens");
  p.decode_attention = read_surface(ops, "decode_attention", "batch", "kv_tokens_per_seq");
  if (ops.has("moe")) {
    FieldReader moe = ops.section("moe");
    p.moe_time_us = read_curve(moe, "tokens", "time_us");
  }
  p.elementwise = read_operators(ops.section("elementwise"), /*with_shape=*/false, errors);
  FieldReader overhead = ops.section("step_overhead");
  p.step_overhead_us = read_curve(overhead, "batch", "cpu_us");
  errors.throw_if_any();  // unknown keys are allowed: the schema grows by adding keys
  return p;
}

CalibratedModel::CalibratedModel(CalibrationProfile profile, const ModelSpec& model, const GpuSpec& gpu,
                                 const ServerSpec& server, const DeploymentSpec& d)
    : profile_(std::move(profile)),
      model_(model),
      gpu_(gpu),
      tp_(d.tensor_parallel),
      same_gpu_(std::find(gpu.device_names.begin(), gpu.device_names.end(), profile_.gpu_name) != gpu.device_names.end()),
      weight_bytes_(bytes_per_value(d.precision)),
      kv_bytes_(bytes_per_value(d.kv_cache_precision)),
      target_flops_per_s_(peak_tflops(gpu, d.precision) * 1e12 * gpu.compute_efficiency),
      target_bytes_per_s_(gpu.memory_bandwidth_gb_s * 1e9 * gpu.memory_efficiency),
      collectives_(model_, gpu, server, d) {}

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
  const ModelSpec& m = model_;
  StepCost cost;
  const bool rescale = !same_gpu_ || profile_.tp != tp_;
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
    const double layers = per_step ? 1.0 : op.per_layer * (ffn ? m.dense_layers() : m.layers);
    add(cost, measured, linear_load(clamp_to(op.time_us.x, rows), params, op.in + op.out, weight_bytes_, profile_.tp),
        linear_load(rows, params, op.in + op.out, weight_bytes_, tp_), layers, rescale);
  }
  if (m.is_moe() && !profile_.moe_time_us.x.empty()) {
    bool outside = false;
    const double measured = profile_.moe_time_us.at(tokens, outside);
    outside_any |= outside;
    add(cost, measured, moe_layer_load(m, clamp_to(profile_.moe_time_us.x, tokens), weight_bytes_, profile_.tp),
        moe_layer_load(m, tokens, weight_bytes_, tp_), m.moe_layers(), rescale);
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
  cost.communication_s = collectives_.seconds(tokens);
  count(outside_any || rescale);
  return cost;
}

StepCost CalibratedModel::attention_cost(const BatchShape& batch) const {
  const ModelSpec& m = model_;
  StepCost cost;
  const bool rescale = !same_gpu_ || profile_.tp != tp_;
  bool extrapolated = rescale;
  for (const auto& chunk : batch.prefills) {
    bool outside = false;
    const Surface& s = profile_.prefill_attention;
    const double measured = s.at(chunk.tokens, chunk.context_before, outside);
    extrapolated |= outside;
    add(cost, measured,
        prefill_attention_load(m, clamp_to(s.rows, chunk.tokens), clamp_to(s.cols, chunk.context_before), kv_bytes_, profile_.tp),
        prefill_attention_load(m, chunk.tokens, chunk.context_before, kv_bytes_, tp_), m.layers, rescale);
  }
  if (batch.decode_sequences > 0) {
    bool outside = false;
    const Surface& s = profile_.decode_attention;
    const double per_seq = batch.decode_context_tokens / batch.decode_sequences;
    const double measured = s.at(batch.decode_sequences, per_seq, outside);
    extrapolated |= outside;
    const double at_batch = clamp_to(s.rows, batch.decode_sequences), at_context = clamp_to(s.cols, per_seq);
    add(cost, measured, decode_attention_load(m, at_batch * at_context, kv_bytes_, profile_.tp),
        decode_attention_load(m, batch.decode_context_tokens, kv_bytes_, tp_), m.layers, rescale);
  }
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

}  // namespace aidc
