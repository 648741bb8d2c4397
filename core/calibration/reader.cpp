#include "core/calibration/reader.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>

#include "core/common/error.hpp"

namespace aidc {
namespace {

// `node[key]`, or an undefined node when `node` is not a mapping (yaml-cpp throws on those).
YAML::Node at(const YAML::Node& node, const char* key) {
  return node.IsDefined() && node.IsMap() ? node[key] : YAML::Node(YAML::NodeType::Undefined);
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

 private:
  double scalar_number(const YAML::Node& node, const std::string& key) {
    double v = 0;
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, v)) {
      problem(node, key, "expected a number");
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
    }
    op.per_layer = r.integer(node, op_path, "per_layer", false, 1);
    op.time_us = r.numbers_per(node, op_path, "time_us", true, list.tokens, here + ".tokens");
    op.power_w = r.numbers_per(node, op_path, "power_w", false, list.tokens, here + ".tokens");
    list.ops.push_back(op);
  }
  return list;
}

CalibrationProfile::Grid read_grid(Reader& r, const YAML::Node& parent, const std::string& path, const char* key,
                                   const char* rows_key, const char* cols_key) {
  const std::string here = Reader::join(path, key);
  const YAML::Node section = r.child(parent, path, key, true);
  CalibrationProfile::Grid g;
  g.rows = r.numbers(section, here, rows_key, true);
  g.cols = r.numbers(section, here, cols_key, true);
  const std::string rows_path = Reader::join(here, rows_key), cols_path = Reader::join(here, cols_key);
  g.time_us = r.grid(section, here, "time_us", true, g.rows, g.cols, rows_path, cols_path);
  g.power_w = r.grid(section, here, "power_w", false, g.rows, g.cols, rows_path, cols_path);
  return g;
}

bool any_measured(const std::vector<double>& v) {
  for (double x : v)
    if (!std::isnan(x)) return true;
  return false;
}

}  // namespace

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

  const YAML::Node peaks = r.child(root, "", "device_peaks", true);
  p.device_peaks.copy_gbps = r.number(peaks, "device_peaks", "copy_gbps", true);
  p.device_peaks.gemm_bf16_tflops = r.number(peaks, "device_peaks", "gemm_bf16_tflops", true);
  p.device_peaks.idle_power_w = r.number(peaks, "device_peaks", "idle_power_w", false);
  if (peaks.IsMap() && !(p.device_peaks.copy_gbps > 0)) r.problem(at(peaks, "copy_gbps"), "device_peaks.copy_gbps", "expected a positive number");
  if (peaks.IsMap() && !(p.device_peaks.gemm_bf16_tflops > 0))
    r.problem(at(peaks, "gemm_bf16_tflops"), "device_peaks.gemm_bf16_tflops", "expected a positive number");
  p.power_window_ms = r.number(root, "", "power_window_ms", false);

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
  }

  const YAML::Node ops = r.child(root, "", "operators", true);
  p.linear = read_operators(r, ops, "operators", "linear", /*with_shape=*/true);
  p.prefill_attention = read_grid(r, ops, "operators", "prefill_attention", "chunk_tokens", "context_tokens");
  p.decode_attention = read_grid(r, ops, "operators", "decode_attention", "batch", "kv_tokens_per_seq");
  if (const YAML::Node moe = at(ops, "moe"); moe.IsDefined()) {
    CalibrationProfile::Moe e;
    const std::string where = "operators.moe";
    e.tokens = r.numbers(moe, where, "tokens", true);
    e.time_us = r.numbers_per(moe, where, "time_us", true, e.tokens, where + ".tokens");
    e.power_w = r.numbers_per(moe, where, "power_w", false, e.tokens, where + ".tokens");
    if (at(moe, "time_us").IsDefined() && !any_measured(e.time_us)) r.problem(at(moe, "time_us"), where + ".time_us", "expected at least one measured value");
    e.n_routed_experts = r.integer(moe, where, "n_routed_experts", false);
    e.experts_per_token = r.integer(moe, where, "experts_per_token", false);
    e.n_shared_experts = r.integer(moe, where, "n_shared_experts", false);
    e.expert_intermediate = r.integer(moe, where, "expert_intermediate", false);
    p.moe = e;
  }
  p.elementwise = read_operators(r, ops, "operators", "elementwise", /*with_shape=*/false);
  const YAML::Node overhead = r.child(ops, "operators", "step_overhead", true);
  p.step_overhead.x = r.numbers(overhead, "operators.step_overhead", "batch", true);
  p.step_overhead.y = r.numbers_per(overhead, "operators.step_overhead", "cpu_us", true, p.step_overhead.x,
                                    "operators.step_overhead.batch");
  if (at(overhead, "cpu_us").IsDefined() && !any_measured(p.step_overhead.y))
    r.problem(at(overhead, "cpu_us"), "operators.step_overhead.cpu_us", "expected at least one measured value");

  if (const YAML::Node e2e = at(root, "end_to_end"); e2e.IsDefined()) {
    CalibrationProfile::EndToEnd e;
    const YAML::Node decode = r.child(e2e, "end_to_end", "decode", true), prefill = r.child(e2e, "end_to_end", "prefill", true);
    const std::string d = "end_to_end.decode", f = "end_to_end.prefill";
    e.decode_context_tokens = r.integer(decode, d, "context_tokens", true);
    e.decode_batch = r.numbers(decode, d, "batch", true);
    e.decode_step_ms = r.numbers_per(decode, d, "step_ms", true, e.decode_batch, d + ".batch");
    e.decode_tokens_per_s = r.numbers_per(decode, d, "tokens_per_s", true, e.decode_batch, d + ".batch");
    e.decode_power_w = r.numbers_per(decode, d, "power_w", false, e.decode_batch, d + ".batch");
    e.prefill_tokens = r.numbers(prefill, f, "tokens", true);
    e.prefill_time_ms = r.numbers_per(prefill, f, "time_ms", true, e.prefill_tokens, f + ".tokens");
    e.prefill_tokens_per_s = r.numbers_per(prefill, f, "tokens_per_s", true, e.prefill_tokens, f + ".tokens");
    e.prefill_power_w = r.numbers_per(prefill, f, "power_w", false, e.prefill_tokens, f + ".tokens");
    p.end_to_end = e;
  }

  if (const YAML::Node power = at(root, "power"); power.IsDefined()) {
    p.power_idle_w = r.number(power, "power", "idle_w", false);
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
      p.power_points.push_back(pt);
    }
  }
  r.throw_if_any();
  return p;
}

}  // namespace aidc
