#include "core/calibration/reader.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>

#include "core/common/error.hpp"

namespace aidc {
namespace {

// Bounds that keep every value of a profile physical and its arithmetic finite (far beyond any GPU).
constexpr double kMaxFeatures = 1e7;  // GEMM widths, counts, tokens
constexpr double kMaxPerLayer = 1024;
constexpr double kMaxGpus = 1 << 20;
constexpr double kMaxRate = 1e9;      // GB/s, TFLOP/s, GiB
constexpr double kMaxBytes = 1e18;    // weight bytes, FLOPs per token
constexpr double kMinPowerW = 1e-3, kMaxPowerW = 1e6;
constexpr double kMaxMeasurement = 1e12;  // µs (11 days per operator), W, tokens/s

// `node[key]`, or an undefined node when `node` is not a mapping or lacks the key (yaml-cpp throws on
// any question but IsDefined() asked of the "zombie" node a missing key gives).
YAML::Node at(const YAML::Node& node, const char* key) {
  if (!node.IsDefined() || !node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node child = node[key];
  return child.IsDefined() ? child : YAML::Node(YAML::NodeType::Undefined);
}

bool is_list(const YAML::Node& node) { return node.IsDefined() && node.IsSequence(); }

// Walks the document, gathering every problem with where it is, so one run shows them all.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  void problem(const YAML::Node& node, const std::string& key, const std::string& message) {
    const YAML::Mark mark = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
    problems_.push_back({mark.line >= 0 ? mark.line + 1 : 0, mark.column >= 0 ? mark.column + 1 : 0, key, message});
  }
  void throw_if_any() const {
    if (!problems_.empty()) throw FileErrors(file_, problems_);
  }

  // A child of `parent`; an absent required one is reported at the parent.
  YAML::Node child(const YAML::Node& parent, const std::string& path, const char* key, bool required) {
    YAML::Node node = at(parent, key);
    if (required && (!node.IsDefined() || node.IsNull())) problem(parent, join(path, key), "missing");
    return node;
  }
  static std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

  double number(const YAML::Node& parent, const std::string& path, const char* key, bool required, double fallback = 0) {
    const YAML::Node node = child(parent, path, key, required);
    if (!node.IsDefined() || node.IsNull()) return fallback;
    return scalar_number(node, join(path, key));
  }
  int integer(const YAML::Node& parent, const std::string& path, const char* key, bool required, int fallback = 0) {
    const double v = number(parent, path, key, required, fallback);
    if (v != std::floor(v) || std::abs(v) > 1e9) {
      problem(at(parent, key), join(path, key), "expected a whole number");
      return fallback;
    }
    return static_cast<int>(v);
  }
  std::string text(const YAML::Node& parent, const std::string& path, const char* key, bool required,
                   const std::string& fallback = "") {
    const YAML::Node node = child(parent, path, key, required);
    if (!node.IsDefined() || node.IsNull()) return fallback;
    if (!node.IsScalar()) {
      problem(node, join(path, key), "expected text");
      return fallback;
    }
    return node.Scalar();
  }
  // A list of numbers; null cells (not measured) become NaN.
  std::vector<double> numbers(const YAML::Node& parent, const std::string& path, const char* key, bool required) {
    const YAML::Node node = child(parent, path, key, required);
    std::vector<double> out;
    if (!node.IsDefined() || node.IsNull()) return out;
    if (!node.IsSequence()) {
      problem(node, join(path, key), "expected a list of numbers");
      return out;
    }
    for (const auto& item : node) out.push_back(item.IsNull() ? std::nan("") : scalar_number(item, join(path, key)));
    return out;
  }
  // A list the same length as `grid` (named `grid_key`).
  std::vector<double> numbers_per(const YAML::Node& parent, const std::string& path, const char* key, bool required,
                                  const std::vector<double>& grid, const std::string& grid_key) {
    std::vector<double> out = numbers(parent, path, key, required);
    if (at(parent, key).IsDefined() && out.size() != grid.size())
      problem(at(parent, key), join(path, key),
              "expected one value per entry of " + grid_key + " (" + std::to_string(grid.size()) + "), found " +
                  std::to_string(out.size()));
    return out;
  }
  std::vector<std::vector<double>> grid(const YAML::Node& parent, const std::string& path, const char* key, bool required,
                                        const std::vector<double>& rows, const std::vector<double>& cols,
                                        const std::string& rows_key, const std::string& cols_key) {
    const YAML::Node node = child(parent, path, key, required);
    std::vector<std::vector<double>> out;
    if (!node.IsDefined() || node.IsNull()) return out;
    if (!node.IsSequence() || node.size() != rows.size()) {
      problem(node, join(path, key), "expected one row per entry of " + rows_key + " (" + std::to_string(rows.size()) + ")");
      return out;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string row_path = join(path, key) + "[" + std::to_string(i) + "]";
      std::vector<double> row;
      if (!node[i].IsSequence()) {
        problem(node[i], row_path, "expected a list of numbers");
      } else {
        for (const auto& cell : node[i]) row.push_back(cell.IsNull() ? std::nan("") : scalar_number(cell, row_path));
        if (row.size() != cols.size())
          problem(node[i], row_path, "expected one value per entry of " + cols_key + " (" + std::to_string(cols.size()) + ")");
      }
      out.push_back(row);
    }
    return out;
  }
  // A grid the others are measured over: at least one point, every point measured, at least `min`,
  // strictly increasing (interpolation divides by the distance between neighbours).
  void check_axis(const YAML::Node& parent, const std::string& path, const char* key, const std::vector<double>& axis,
                  double min) {
    const YAML::Node node = at(parent, key);
    if (!node.IsDefined() || !node.IsSequence()) return;  // absent or not a list: reported already
    const std::string here = join(path, key);
    if (axis.empty()) problem(node, here, "expected at least one grid point");
    for (std::size_t i = 0; i < axis.size(); ++i) {
      const YAML::Node cell = node[i];
      if (cell.IsNull()) problem(cell, here, "expected a grid point, got null");
      else if (std::isnan(axis[i])) continue;  // not a number: reported already
      else if (axis[i] < min || axis[i] > kMaxFeatures)
        problem(cell, here, "expected a grid point from " + fmt(min) + " to " + fmt(kMaxFeatures) + ", got " + fmt(axis[i]));
      else if (i > 0 && !(axis[i] > axis[i - 1]))
        problem(cell, here, "expected grid points in increasing order without repeats, got " + fmt(axis[i]) + " after " +
                                fmt(axis[i - 1]));
    }
  }
  // Measured values (times, powers, rates): positive where measured (or zero, with `zero_allowed`: the host
  // overhead is wall time minus GPU time, clamped at 0 where the GPU queue hides it); with `one_needed`, at
  // least one measured.
  void check_measured(const YAML::Node& parent, const std::string& path, const char* key, const std::vector<double>& values,
                      bool one_needed, bool zero_allowed = false) {
    const YAML::Node node = at(parent, key);
    if (!node.IsDefined() || !node.IsSequence()) return;
    const std::string here = join(path, key);
    bool any = false;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (node[i].IsNull() || std::isnan(values[i])) continue;
      any = true;
      if (!((values[i] > 0 || (zero_allowed && values[i] == 0)) && values[i] <= kMaxMeasurement))
        problem(node[i], here, std::string("expected a ") + (zero_allowed ? "non-negative" : "positive") +
                                   " measurement up to " + fmt(kMaxMeasurement) + ", got " + fmt(values[i]));
    }
    if (one_needed && !any) problem(node, here, "expected at least one measured value");
  }
  // The same for a grid of rows.
  void check_measured(const YAML::Node& parent, const std::string& path, const char* key,
                      const std::vector<std::vector<double>>& rows, bool one_needed) {
    const YAML::Node node = at(parent, key);
    if (!node.IsDefined() || !node.IsSequence() || node.size() != rows.size()) return;
    bool any = false;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const YAML::Node row = node[i];
      if (!row.IsSequence()) continue;
      const std::string here = join(path, key) + "[" + std::to_string(i) + "]";
      for (std::size_t j = 0; j < rows[i].size(); ++j) {
        if (row[j].IsNull() || std::isnan(rows[i][j])) continue;
        any = true;
        if (!(rows[i][j] > 0 && rows[i][j] <= kMaxMeasurement))
          problem(row[j], here, "expected a positive measurement up to " + fmt(kMaxMeasurement) + ", got " + fmt(rows[i][j]));
      }
    }
    if (one_needed && !any) problem(node, join(path, key), "expected at least one measured value");
  }
  // A number read with number() that must lie in [lo, hi].
  void check_range(const YAML::Node& parent, const std::string& path, const char* key, double value, double lo, double hi) {
    const YAML::Node node = at(parent, key);
    if (!node.IsDefined() || node.IsNull() || std::isnan(value)) return;
    if (value < lo || value > hi) problem(node, join(path, key), "expected " + fmt(lo) + " to " + fmt(hi) + ", got " + fmt(value));
  }
  static std::string fmt(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return text;
  }

 private:
  // A finite number: `.nan` and `.inf` are text to a profile (an unmeasured cell is null).
  double scalar_number(const YAML::Node& node, const std::string& key) {
    double v = 0;
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, v) || !std::isfinite(v)) {
      problem(node, key, "expected a finite number (null for a cell nothing was measured for), got '" +
                             (node.IsScalar() ? node.Scalar() : std::string("a list or mapping")) + "'");
      return std::nan("");
    }
    return v;
  }

  std::string file_;
  std::vector<FileProblem> problems_;
};

CalibrationProfile::OperatorList read_operators(Reader& r, const YAML::Node& parent, const std::string& path, const char* key,
                                                bool with_shape) {
  const std::string here = Reader::join(path, key);
  const YAML::Node section = r.child(parent, path, key, true);
  CalibrationProfile::OperatorList list;
  list.tokens = r.numbers(section, here, "tokens", true);
  r.check_axis(section, here, "tokens", list.tokens, 1);
  const YAML::Node ops = r.child(section, here, "ops", true);
  if (ops.IsDefined() && !ops.IsSequence()) r.problem(ops, here + ".ops", "expected a list of operators");
  for (std::size_t i = 0; is_list(ops) && i < ops.size(); ++i) {
    const std::string op_path = here + ".ops[" + std::to_string(i) + "]";
    const YAML::Node node = ops[i];
    CalibrationProfile::Operator op;
    op.name = r.text(node, op_path, "name", true);
    if (with_shape) {
      op.in_features = r.integer(node, op_path, "in_features", true);
      op.out_features = r.integer(node, op_path, "out_features", true);
      r.check_range(node, op_path, "in_features", op.in_features, 1, kMaxFeatures);
      r.check_range(node, op_path, "out_features", op.out_features, 1, kMaxFeatures);
    }
    op.per_layer = r.integer(node, op_path, "per_layer", false, 1);
    r.check_range(node, op_path, "per_layer", op.per_layer, 0, kMaxPerLayer);
    op.time_us = r.numbers_per(node, op_path, "time_us", true, list.tokens, here + ".tokens");
    op.power_w = r.numbers_per(node, op_path, "power_w", false, list.tokens, here + ".tokens");
    r.check_measured(node, op_path, "time_us", op.time_us, /*one_needed=*/true);
    r.check_measured(node, op_path, "power_w", op.power_w, /*one_needed=*/false);
    list.ops.push_back(op);
  }
  return list;
}

CalibrationProfile::Grid read_grid(Reader& r, const YAML::Node& parent, const std::string& path, const char* key,
                                   const char* rows_key, const char* cols_key, double cols_min) {
  const std::string here = Reader::join(path, key);
  const YAML::Node section = r.child(parent, path, key, true);
  CalibrationProfile::Grid g;
  g.rows = r.numbers(section, here, rows_key, true);
  g.cols = r.numbers(section, here, cols_key, true);
  r.check_axis(section, here, rows_key, g.rows, 1);
  r.check_axis(section, here, cols_key, g.cols, cols_min);
  const std::string rows_path = Reader::join(here, rows_key), cols_path = Reader::join(here, cols_key);
  g.time_us = r.grid(section, here, "time_us", true, g.rows, g.cols, rows_path, cols_path);
  g.power_w = r.grid(section, here, "power_w", false, g.rows, g.cols, rows_path, cols_path);
  r.check_measured(section, here, "time_us", g.time_us, /*one_needed=*/true);
  r.check_measured(section, here, "power_w", g.power_w, /*one_needed=*/false);
  return g;
}

}  // namespace

// `source: fit`: the black-box step model `aidc calibrate` writes in place of the operator grids.
void read_step_fit(Reader& r, const YAML::Node& root, CalibrationProfile& p) {
  const YAML::Node fit = r.child(root, "", "fit", true);
  const std::string w = "fit";
  CalibrationProfile::StepFit f;
  f.base_s = r.number(fit, w, "base_s", true);
  f.per_decode_sequence_s = r.number(fit, w, "per_decode_sequence_s", true);
  f.per_kv_token_s = r.number(fit, w, "per_kv_token_s", true);
  f.per_prefill_token_s = r.number(fit, w, "per_prefill_token_s", true);
  f.frontend_s = r.number(fit, w, "frontend_s", true);
  f.tpot_error = r.number(fit, w, "tpot_error", true);
  f.ttft_error = r.number(fit, w, "ttft_error", true);
  f.runs = r.integer(fit, w, "runs", true);
  f.requests = r.integer(fit, w, "requests", true);
  f.max_decode_batch = r.integer(fit, w, "max_decode_batch", true);
  f.max_context_tokens = r.number(fit, w, "max_context_tokens", true);
  f.max_prompt_tokens = r.number(fit, w, "max_prompt_tokens", true);
  // Seconds per step or per token: non-negative and below an hour; a step must cost something.
  for (auto [key, value] : {std::pair{"base_s", f.base_s}, {"per_decode_sequence_s", f.per_decode_sequence_s},
                            {"per_kv_token_s", f.per_kv_token_s}, {"per_prefill_token_s", f.per_prefill_token_s},
                            {"frontend_s", f.frontend_s}})
    r.check_range(fit, w, key, value, 0, 3600);
  if (fit.IsMap() && !(f.base_s + f.per_decode_sequence_s + f.per_prefill_token_s > 0))
    r.problem(fit, w, "a step must take time: base_s, per_decode_sequence_s and per_prefill_token_s are all 0");
  for (auto [key, value] : {std::pair{"tpot_error", f.tpot_error}, {"ttft_error", f.ttft_error}}) r.check_range(fit, w, key, value, 0, 1e6);
  for (auto [key, value] : {std::pair{"runs", double(f.runs)}, {"requests", double(f.requests)}, {"max_decode_batch", double(f.max_decode_batch)}})
    r.check_range(fit, w, key, value, 1, kMaxFeatures);
  for (auto [key, value] : {std::pair{"max_context_tokens", f.max_context_tokens}, {"max_prompt_tokens", f.max_prompt_tokens}})
    r.check_range(fit, w, key, value, 1, kMaxFeatures);
  p.fit = f;
}

CalibrationProfile read_calibration_profile(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw FileErrors(path, {{0, 0, "", "cannot open the calibration profile"}});
  } catch (const YAML::ParserException& e) {
    throw FileErrors(path, {{e.mark.line + 1, e.mark.column + 1, "", "malformed YAML: " + e.msg}});
  }
  Reader r(path);
  CalibrationProfile p;
  p.file = path;
  if (!root.IsDefined() || !root.IsMap()) {
    r.problem(root, "", "expected a calibration profile (a mapping with schema: " + std::string(kCalibrationSchema) + ")");
    r.throw_if_any();
  }
  // A newer schema renamed or changed a key: reading it as this one would misread silently.
  const std::string schema = r.text(root, "", "schema", true);
  if (!schema.empty() && schema != kCalibrationSchema)
    r.problem(at(root, "schema"), "schema", "expected " + std::string(kCalibrationSchema) + ", found " + schema);

  const YAML::Node meta = r.child(root, "", "metadata", true);
  auto& m = p.metadata;
  m.model = r.text(meta, "metadata", "model", true);
  m.architecture = r.text(meta, "metadata", "architecture", false);
  m.gpu = r.text(meta, "metadata", "gpu", true);
  m.gpu_count = r.integer(meta, "metadata", "gpu_count", false, 1);
  m.sm_count = r.integer(meta, "metadata", "sm_count", false);
  m.gpu_memory_gib = r.number(meta, "metadata", "gpu_memory_gib", false);
  m.driver = r.text(meta, "metadata", "driver", false, "unknown");
  m.cuda_runtime = r.text(meta, "metadata", "cuda_runtime", false);
  m.date = r.text(meta, "metadata", "date", false);
  m.command = r.text(meta, "metadata", "command", false);
  m.engine_version = r.text(meta, "metadata", "engine_version", false);
  m.precision = r.text(meta, "metadata", "precision", false, "bf16");
  m.kv_precision = r.text(meta, "metadata", "kv_precision", false, "bf16");
  m.tp = r.integer(meta, "metadata", "tp", false, 1);
  if (m.tp < 1 || m.tp > 64) r.problem(at(meta, "tp"), "metadata.tp", "expected 1 to 64");
  m.weights = r.text(meta, "metadata", "weights", false);
  m.kv_block_tokens = r.integer(meta, "metadata", "kv_block_tokens", false, 16);
  r.check_range(meta, "metadata", "gpu_count", m.gpu_count, 1, kMaxGpus);
  r.check_range(meta, "metadata", "sm_count", m.sm_count, 0, kMaxFeatures);
  r.check_range(meta, "metadata", "gpu_memory_gib", m.gpu_memory_gib, 0, kMaxRate);
  r.check_range(meta, "metadata", "kv_block_tokens", m.kv_block_tokens, 1, kMaxFeatures);

  p.source = r.text(root, "", "source", false, "engine_profile");
  if (p.source == "fit") {
    read_step_fit(r, root, p);
    r.throw_if_any();
    return p;
  }
  if (p.source != "engine_profile") r.problem(at(root, "source"), "source", "expected engine_profile or fit, found " + p.source);

  const YAML::Node peaks = r.child(root, "", "device_peaks", true);
  p.device_peaks.copy_gbps = r.number(peaks, "device_peaks", "copy_gbps", true);
  p.device_peaks.gemm_bf16_tflops = r.number(peaks, "device_peaks", "gemm_bf16_tflops", true);
  p.device_peaks.idle_power_w = r.number(peaks, "device_peaks", "idle_power_w", false);
  p.device_peaks.gemm_fp8_tflops = r.number(peaks, "device_peaks", "gemm_fp8_tflops", false);  // absent before fp8
  // The roofline ratios divide by the peaks.
  if (peaks.IsMap() && !(p.device_peaks.copy_gbps > 0)) r.problem(at(peaks, "copy_gbps"), "device_peaks.copy_gbps", "expected a positive number");
  if (peaks.IsMap() && !(p.device_peaks.gemm_bf16_tflops > 0))
    r.problem(at(peaks, "gemm_bf16_tflops"), "device_peaks.gemm_bf16_tflops", "expected a positive number");
  r.check_range(peaks, "device_peaks", "copy_gbps", p.device_peaks.copy_gbps, 0, kMaxRate);
  r.check_range(peaks, "device_peaks", "gemm_bf16_tflops", p.device_peaks.gemm_bf16_tflops, 0, kMaxRate);
  r.check_range(peaks, "device_peaks", "gemm_fp8_tflops", p.device_peaks.gemm_fp8_tflops, 0, kMaxRate);
  // An fp8 profile's linears are scaled against the fp8 GEMM peak (sim/perf/calibrated_model).
  if (peaks.IsMap() && m.precision == "fp8" && !(p.device_peaks.gemm_fp8_tflops > 0))
    r.problem(at(peaks, "gemm_fp8_tflops").IsDefined() ? at(peaks, "gemm_fp8_tflops") : peaks, "device_peaks.gemm_fp8_tflops",
              "expected a positive number (metadata.precision is fp8)");
  r.check_range(peaks, "device_peaks", "idle_power_w", p.device_peaks.idle_power_w, 0, kMaxPowerW);
  p.power_window_ms = r.number(root, "", "power_window_ms", false);
  r.check_range(root, "", "power_window_ms", p.power_window_ms, 0, kMaxRate);

  if (const YAML::Node shape = at(root, "model_shape"); shape.IsDefined()) {
    auto& s = p.model_shape;
    const std::string where = "model_shape";
    s.layers = r.integer(shape, where, "layers", false);
    s.dense_layers = r.integer(shape, where, "dense_layers", false);
    s.moe_layers = r.integer(shape, where, "moe_layers", false);
    s.hidden = r.integer(shape, where, "hidden", false);
    s.heads = r.integer(shape, where, "heads", false);
    s.kv_heads = r.integer(shape, where, "kv_heads", false);
    s.head_dim = r.integer(shape, where, "head_dim", false);
    s.intermediate = r.integer(shape, where, "intermediate", false);
    s.vocab = r.integer(shape, where, "vocab", false);
    s.weight_bytes = r.number(shape, where, "weight_bytes", false);
    s.active_weight_bytes = r.number(shape, where, "active_weight_bytes", false);
    s.kv_bytes_per_token = r.number(shape, where, "kv_bytes_per_token", false);
    s.flops_per_token = r.number(shape, where, "flops_per_token", false);
    for (auto [key, value] : {std::pair{"layers", s.layers}, {"dense_layers", s.dense_layers}, {"moe_layers", s.moe_layers},
                              {"hidden", s.hidden}, {"heads", s.heads}, {"kv_heads", s.kv_heads}, {"head_dim", s.head_dim},
                              {"intermediate", s.intermediate}, {"vocab", s.vocab}})
      r.check_range(shape, where, key, value, 0, kMaxFeatures);
    for (auto [key, value] : {std::pair{"weight_bytes", s.weight_bytes}, {"active_weight_bytes", s.active_weight_bytes},
                              {"kv_bytes_per_token", s.kv_bytes_per_token}, {"flops_per_token", s.flops_per_token}})
      r.check_range(shape, where, key, value, 0, kMaxBytes);
  }

  const YAML::Node ops = r.child(root, "", "operators", true);
  p.linear = read_operators(r, ops, "operators", "linear", /*with_shape=*/true);
  // Prefill attention is measured from an empty context on; decode attention needs a context.
  p.prefill_attention = read_grid(r, ops, "operators", "prefill_attention", "chunk_tokens", "context_tokens", 0);
  p.decode_attention = read_grid(r, ops, "operators", "decode_attention", "batch", "kv_tokens_per_seq", 1);
  if (const YAML::Node moe = at(ops, "moe"); moe.IsDefined()) {
    CalibrationProfile::Moe e;
    const std::string where = "operators.moe";
    e.tokens = r.numbers(moe, where, "tokens", true);
    r.check_axis(moe, where, "tokens", e.tokens, 1);
    e.time_us = r.numbers_per(moe, where, "time_us", true, e.tokens, where + ".tokens");
    e.power_w = r.numbers_per(moe, where, "power_w", false, e.tokens, where + ".tokens");
    r.check_measured(moe, where, "time_us", e.time_us, /*one_needed=*/true);
    r.check_measured(moe, where, "power_w", e.power_w, /*one_needed=*/false);
    e.n_routed_experts = r.integer(moe, where, "n_routed_experts", false);
    e.experts_per_token = r.integer(moe, where, "experts_per_token", false);
    e.n_shared_experts = r.integer(moe, where, "n_shared_experts", false);
    e.expert_intermediate = r.integer(moe, where, "expert_intermediate", false);
    for (auto [key, value] : {std::pair{"n_routed_experts", e.n_routed_experts}, {"experts_per_token", e.experts_per_token},
                              {"n_shared_experts", e.n_shared_experts}, {"expert_intermediate", e.expert_intermediate}})
      r.check_range(moe, where, key, value, 0, kMaxFeatures);
    p.moe = e;
  }
  p.elementwise = read_operators(r, ops, "operators", "elementwise", /*with_shape=*/false);
  const YAML::Node overhead = r.child(ops, "operators", "step_overhead", true);
  p.step_overhead.x = r.numbers(overhead, "operators.step_overhead", "batch", true);
  r.check_axis(overhead, "operators.step_overhead", "batch", p.step_overhead.x, 1);
  p.step_overhead.y = r.numbers_per(overhead, "operators.step_overhead", "cpu_us", true, p.step_overhead.x,
                                    "operators.step_overhead.batch");
  r.check_measured(overhead, "operators.step_overhead", "cpu_us", p.step_overhead.y, /*one_needed=*/true,
                   /*zero_allowed=*/true);

  if (const YAML::Node e2e = at(root, "end_to_end"); e2e.IsDefined()) {
    CalibrationProfile::EndToEnd e;
    const YAML::Node decode = r.child(e2e, "end_to_end", "decode", true), prefill = r.child(e2e, "end_to_end", "prefill", true);
    const std::string d = "end_to_end.decode", f = "end_to_end.prefill";
    e.decode_context_tokens = r.integer(decode, d, "context_tokens", true);
    e.decode_batch = r.numbers(decode, d, "batch", true);
    e.decode_step_ms = r.numbers_per(decode, d, "step_ms", true, e.decode_batch, d + ".batch");
    e.decode_tokens_per_s = r.numbers_per(decode, d, "tokens_per_s", true, e.decode_batch, d + ".batch");
    e.decode_power_w = r.numbers_per(decode, d, "power_w", false, e.decode_batch, d + ".batch");
    r.check_range(decode, d, "context_tokens", e.decode_context_tokens, 1, kMaxFeatures);
    r.check_axis(decode, d, "batch", e.decode_batch, 1);
    for (auto [key, values] : {std::pair{"step_ms", &e.decode_step_ms}, {"tokens_per_s", &e.decode_tokens_per_s},
                               {"power_w", &e.decode_power_w}})
      r.check_measured(decode, d, key, *values, /*one_needed=*/false);
    e.prefill_tokens = r.numbers(prefill, f, "tokens", true);
    e.prefill_time_ms = r.numbers_per(prefill, f, "time_ms", true, e.prefill_tokens, f + ".tokens");
    e.prefill_tokens_per_s = r.numbers_per(prefill, f, "tokens_per_s", true, e.prefill_tokens, f + ".tokens");
    e.prefill_power_w = r.numbers_per(prefill, f, "power_w", false, e.prefill_tokens, f + ".tokens");
    r.check_axis(prefill, f, "tokens", e.prefill_tokens, 1);
    for (auto [key, values] : {std::pair{"time_ms", &e.prefill_time_ms}, {"tokens_per_s", &e.prefill_tokens_per_s},
                               {"power_w", &e.prefill_power_w}})
      r.check_measured(prefill, f, key, *values, /*one_needed=*/false);
    p.end_to_end = e;
  }

  if (const YAML::Node power = at(root, "power"); power.IsDefined()) {
    p.power_idle_w = r.number(power, "power", "idle_w", false);
    r.check_range(power, "power", "idle_w", p.power_idle_w, 0, kMaxPowerW);
    const YAML::Node points = at(power, "points");
    if (points.IsDefined() && !points.IsNull() && !points.IsSequence()) r.problem(points, "power.points", "expected a list of points");
    for (std::size_t i = 0; is_list(points) && i < points.size(); ++i) {
      const std::string where = "power.points[" + std::to_string(i) + "]";
      CalibrationProfile::PowerPoint pt;
      pt.op = r.text(points[i], where, "op", true);
      pt.label = r.text(points[i], where, "label", false);
      pt.gbps = r.number(points[i], where, "gbps", true);
      pt.tflops = r.number(points[i], where, "tflops", true);
      pt.power_w = r.number(points[i], where, "power_w", true);
      r.check_range(points[i], where, "gbps", pt.gbps, 0, kMaxRate);
      r.check_range(points[i], where, "tflops", pt.tflops, 0, kMaxRate);
      r.check_range(points[i], where, "power_w", pt.power_w, kMinPowerW, kMaxPowerW);
      p.power_points.push_back(pt);
    }
  }
  r.throw_if_any();
  return p;
}

}  // namespace aidc
