// Calibration profiles: what the engine's writer writes, the simulator's reader reads back; a
// committed profile (measured on an H100 by `aidc-engine profile`) reads as its text says; a profile
// of another schema version, or with a ragged grid, is refused with file:line:col and the key.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/calibration/reader.hpp"
#include "core/calibration/writer.hpp"
#include "core/common/error.hpp"

namespace aidc {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const std::string kScenarios = AIDC_TEST_SCENARIOS_DIR;
const std::string kMoeProfile = kScenarios + "/calibration/deepseek-moe-16b__h100-80gb-hbm3__bf16-tp1.yaml";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string temp_file(const std::string& name, const std::string& text) {
  const std::string path = (std::filesystem::path(::testing::TempDir()) / name).string();
  std::ofstream(path) << text;
  return path;
}

// The number after the first line of `text` that begins with `prefix` (indentation included), and the
// 1-based number of that line.
double number_after(const std::string& text, const std::string& prefix, int* line_number = nullptr) {
  std::istringstream lines(text);
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n)
    if (line.rfind(prefix, 0) == 0) {
      if (line_number) *line_number = n;
      return std::stod(line.substr(prefix.size()));
    }
  ADD_FAILURE() << "no line starts with '" << prefix << "'";
  return kNaN;
}

int count_lines_starting(const std::string& text, const std::string& prefix) {
  std::istringstream lines(text);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) count += line.rfind(prefix, 0) == 0;
  return count;
}

// Equal, NaN included (an unmeasured cell stays unmeasured).
void expect_same(const std::vector<double>& a, const std::vector<double>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i])) EXPECT_TRUE(std::isnan(b[i])) << what << "[" << i << "]";
    else EXPECT_DOUBLE_EQ(a[i], b[i]) << what << "[" << i << "]";
  }
}

CalibrationProfile sample_profile() {
  CalibrationProfile p;
  auto& m = p.metadata;
  m.model = "deepseek-moe-16b";
  m.architecture = "deepseek";
  m.gpu = "NVIDIA H200";
  m.sm_count = 132;
  m.gpu_memory_gib = 139.8;
  m.driver = "580.95.05";
  m.cuda_runtime = "13.0";
  m.date = "2026-12-01T09:30:00Z";
  m.command = "aidc-engine profile --model \"models/a b.json\" --random-weights";
  m.engine_version = "0.1.0";
  m.tp = 2;
  m.weights = "random";
  p.device_peaks = {4200.5, 801.25, 118.75};
  p.power_window_ms = 100;
  p.model_shape = {28, 1, 27, 2048, 16, 16, 128, 10944, 102400, 32751456256.0, 5237870592.0, 229376, 5.23787e9};
  p.linear.tokens = {1, 8, 64};
  p.linear.ops = {{"qkv_proj", 2048, 6144, 1, {11.25, 14.5, kNaN}, {549.5, 215.25, kNaN}},
                  {"lm_head", 2048, 102400, 0, {138.5, 159.375, 165.0}, {}}};
  p.prefill_attention = {{128, 512}, {0, 1024, 4096}, {{12.0, 63.5, 214.25}, {31.5, kNaN, 228.75}}, {}};
  p.decode_attention = {{1, 8}, {128, 512}, {{6.5, 6.875}, {7.625, 17.5}}, {{661.25, 175.0}, {445.5, kNaN}}};
  p.moe = CalibrationProfile::Moe{{1, 2}, {59.25, 101.75}, {576.5, 514.75}, 64, 6, 2, 1408};
  p.elementwise = {{1, 8}, {{"rmsnorm", 0, 0, 0, {4.0, 3.5}, {}}, {"sampling", 0, 0, 0, {7.875, kNaN}, {}}}};
  p.step_overhead = {{1, 8}, {27.0, 32.5}};
  p.end_to_end = CalibrationProfile::EndToEnd{512, {1, 8}, {2.5, 9.5}, {400, 842.125}, {463.75, 563.5},
                                              {512}, {26.0}, {19692.3}, {664.875}};
  p.power_idle_w = 118.75;
  p.power_points = {{"linear", "qkv_proj tokens=1", 2234.37, 2.23291, 549.5}, {"moe", "tokens=2", 1959.33, 3.91357, 514.75}};
  return p;
}

TEST(CalibrationProfile, WhatTheWriterWritesTheReaderReadsBack) {
  const CalibrationProfile w = sample_profile();
  const std::string path = temp_file("round_trip.yaml", format_calibration_profile(w));
  const CalibrationProfile r = read_calibration_profile(path);
  EXPECT_EQ(r.file, path);
  EXPECT_EQ(r.metadata.model, w.metadata.model);
  EXPECT_EQ(r.metadata.architecture, w.metadata.architecture);
  EXPECT_EQ(r.metadata.gpu, w.metadata.gpu);
  EXPECT_EQ(r.metadata.driver, w.metadata.driver);
  EXPECT_EQ(r.metadata.cuda_runtime, w.metadata.cuda_runtime);
  EXPECT_EQ(r.metadata.date, w.metadata.date);
  EXPECT_EQ(r.metadata.command, w.metadata.command);
  EXPECT_EQ(r.metadata.weights, "random");
  EXPECT_EQ(r.metadata.tp, 2);
  EXPECT_EQ(r.metadata.sm_count, 132);
  EXPECT_DOUBLE_EQ(r.metadata.gpu_memory_gib, 139.8);
  EXPECT_DOUBLE_EQ(r.device_peaks.copy_gbps, 4200.5);
  EXPECT_DOUBLE_EQ(r.device_peaks.gemm_bf16_tflops, 801.25);
  EXPECT_DOUBLE_EQ(r.device_peaks.idle_power_w, 118.75);
  EXPECT_DOUBLE_EQ(r.model_shape.weight_bytes, 32751456256.0);  // byte counts keep every digit
  EXPECT_EQ(r.model_shape.moe_layers, 27);
  expect_same(r.linear.tokens, w.linear.tokens, "linear.tokens");
  ASSERT_EQ(r.linear.ops.size(), 2u);
  EXPECT_EQ(r.linear.ops[1].name, "lm_head");
  EXPECT_EQ(r.linear.ops[1].per_layer, 0);
  EXPECT_EQ(r.linear.ops[0].out_features, 6144);
  expect_same(r.linear.ops[0].time_us, w.linear.ops[0].time_us, "qkv time_us");
  expect_same(r.linear.ops[0].power_w, w.linear.ops[0].power_w, "qkv power_w");
  EXPECT_TRUE(r.linear.ops[1].power_w.empty());
  for (std::size_t i = 0; i < 2; ++i) {
    expect_same(r.prefill_attention.time_us[i], w.prefill_attention.time_us[i], "prefill row");
    expect_same(r.decode_attention.power_w[i], w.decode_attention.power_w[i], "decode power row");
  }
  EXPECT_TRUE(r.prefill_attention.power_w.empty());
  ASSERT_TRUE(r.moe.has_value());
  expect_same(r.moe->time_us, w.moe->time_us, "moe time_us");
  EXPECT_EQ(r.moe->expert_intermediate, 1408);
  expect_same(r.elementwise.ops[1].time_us, w.elementwise.ops[1].time_us, "sampling");
  expect_same(r.step_overhead.y, w.step_overhead.y, "step_overhead");
  ASSERT_TRUE(r.end_to_end.has_value());
  EXPECT_EQ(r.end_to_end->decode_context_tokens, 512);
  expect_same(r.end_to_end->prefill_tokens_per_s, w.end_to_end->prefill_tokens_per_s, "prefill tokens_per_s");
  ASSERT_EQ(r.power_points.size(), 2u);
  EXPECT_EQ(r.power_points[0].label, "qkv_proj tokens=1");
  EXPECT_DOUBLE_EQ(r.power_points[1].tflops, 3.91357);
}

// deepseek-moe-16b on an H100 (scenarios/calibration/): every value checked here is taken from the
// file's own lines, not through the reader.
TEST(CalibrationProfile, ACommittedProfileReadsAsItsText) {
  const std::string text = read_text(kMoeProfile);
  const CalibrationProfile p = read_calibration_profile(kMoeProfile);
  EXPECT_EQ(p.metadata.model, "deepseek-moe-16b");
  EXPECT_EQ(p.metadata.gpu, "NVIDIA H100 80GB HBM3");
  EXPECT_DOUBLE_EQ(p.device_peaks.copy_gbps, number_after(text, "  copy_gbps: "));
  EXPECT_DOUBLE_EQ(p.device_peaks.gemm_bf16_tflops, number_after(text, "  gemm_bf16_tflops: "));
  EXPECT_DOUBLE_EQ(p.model_shape.weight_bytes, number_after(text, "  weight_bytes: "));
  EXPECT_EQ(p.model_shape.moe_layers, number_after(text, "  moe_layers: "));
  EXPECT_EQ(p.linear.ops.size(), static_cast<std::size_t>(count_lines_starting(text, "      - name: ")));
  EXPECT_EQ(p.linear.ops.back().name, "lm_head");
  EXPECT_EQ(p.linear.ops.back().per_layer, 0);
  EXPECT_DOUBLE_EQ(p.linear.ops.front().time_us.front(), number_after(text, "        time_us: ["));
  EXPECT_TRUE(std::isnan(p.linear.ops.front().time_us.back()));  // the file's trailing null
  ASSERT_TRUE(p.moe.has_value());
  EXPECT_DOUBLE_EQ(p.moe->time_us.front(), number_after(text, "    time_us: ["));
  EXPECT_EQ(p.moe->n_routed_experts, number_after(text, "    n_routed_experts: "));
  EXPECT_DOUBLE_EQ(p.prefill_attention.time_us[0][0], number_after(text, "      - ["));  // the first grid row
  EXPECT_TRUE(std::isnan(p.decode_attention.time_us.back().back()));
  EXPECT_EQ(p.power_points.size(), static_cast<std::size_t>(count_lines_starting(text, "    - {op: ")));
  EXPECT_DOUBLE_EQ(p.power_idle_w, number_after(text, "  idle_w: "));
}

TEST(CalibrationProfile, AnotherSchemaVersionIsRefusedWithItsPlace) {
  std::string text = read_text(kMoeProfile);
  const std::string old_schema = "schema: aidc-calibration/1";
  ASSERT_EQ(text.rfind(old_schema, 0), 0u);
  text.replace(0, old_schema.size(), "schema: aidc-calibration/2");
  const std::string path = temp_file("schema_2.yaml", text);
  try {
    read_calibration_profile(path);
    FAIL() << "a profile of schema aidc-calibration/2 must be refused";
  } catch (const FileErrors& e) {
    ASSERT_EQ(e.problems().size(), 1u) << e.what();
    EXPECT_EQ(e.problems()[0].key, "schema");
    EXPECT_EQ(e.problems()[0].line, 1);
    EXPECT_EQ(e.problems()[0].column, 9);  // the value after "schema: "
    EXPECT_NE(std::string(e.what()).find(path + ":1:9: error: schema: expected aidc-calibration/1"), std::string::npos)
        << e.what();
  }
}

TEST(CalibrationProfile, ARaggedGridNamesTheFileLineAndKey) {
  const std::string path = kScenarios + "/tests/bad/calibration_ragged.yaml";  // first op: one time_us short
  int line = 0;
  number_after(read_text(path), "        time_us: [", &line);
  try {
    read_calibration_profile(path);
    FAIL() << "a ragged profile must be refused";
  } catch (const FileErrors& e) {
    ASSERT_FALSE(e.problems().empty());
    EXPECT_EQ(e.problems()[0].key, "operators.linear.ops[0].time_us");
    EXPECT_EQ(e.problems()[0].line, line);
    EXPECT_NE(std::string(e.what()).find(path + ":" + std::to_string(line) + ":"), std::string::npos) << e.what();
  }
}

// The problems the reader finds in `text` (none when it accepts it).
std::vector<FileProblem> problems_in(const std::string& name, const std::string& text) {
  try {
    read_calibration_profile(temp_file(name, text));
  } catch (const FileErrors& e) {
    return e.problems();
  }
  return {};
}

// `text` with its only occurrence of `from` replaced by `to`; the 1-based line of it in `*line`.
std::string replaced(std::string text, const std::string& from, const std::string& to, int* line = nullptr) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << from << " occurs twice";
  if (line) *line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
  return text.replace(at, from.size(), to);
}

bool has_problem(const std::vector<FileProblem>& problems, const std::string& key, int line, const std::string& words) {
  for (const FileProblem& p : problems)
    if (p.key == key && (line == 0 || p.line == line) && p.message.find(words) != std::string::npos) return true;
  return false;
}

std::string all_of(const std::vector<FileProblem>& problems) {
  std::string text;
  for (const FileProblem& p : problems) text += std::to_string(p.line) + ":" + p.key + ": " + p.message + "\n";
  return text;
}

// Grids an interpolation walks (the simulator crashed on an empty one): each needs a point.
TEST(CalibrationProfile, EmptyGridsAreRefused) {
  CalibrationProfile p = sample_profile();
  p.linear.tokens.clear();
  for (auto& op : p.linear.ops) op.time_us.clear(), op.power_w.clear();
  p.prefill_attention.rows.clear();
  p.prefill_attention.time_us.clear();
  const auto problems = problems_in("empty_grids.yaml", format_calibration_profile(p));
  EXPECT_TRUE(has_problem(problems, "operators.linear.tokens", 0, "at least one grid point")) << all_of(problems);
  EXPECT_TRUE(has_problem(problems, "operators.linear.ops[0].time_us", 0, "at least one measured value")) << all_of(problems);
  EXPECT_TRUE(has_problem(problems, "operators.prefill_attention.chunk_tokens", 0, "at least one grid point")) << all_of(problems);
}

// A time of NaN, infinity, text, zero or below makes every token cost nothing (or NaN): refused where it is.
TEST(CalibrationProfile, TimesThatAreNotPositiveFiniteNumbersAreRefusedWithTheirPlace) {
  const std::string text = format_calibration_profile(sample_profile());
  for (const std::string bad : {".nan", ".inf", "-.inf", "fast", "-14.5", "0"}) {
    int line = 0;
    const auto problems = problems_in("bad_time.yaml", replaced(text, "14.5", bad, &line));
    EXPECT_TRUE(has_problem(problems, "operators.linear.ops[0].time_us", line, "")) << bad << "\n" << all_of(problems);
  }
  int line = 0;
  const auto peaks = problems_in("bad_peak.yaml", replaced(text, "copy_gbps: 4200.5", "copy_gbps: .inf", &line));
  EXPECT_TRUE(has_problem(peaks, "device_peaks.copy_gbps", line, "finite")) << all_of(peaks);
}

// Interpolation divides by the distance between neighbouring grid points: they must increase.
TEST(CalibrationProfile, RepeatedOrUnsortedGridPointsAreRefused) {
  const std::string text = format_calibration_profile(sample_profile());
  int line = 0;
  auto problems = problems_in("repeated.yaml", replaced(text, "tokens: [1, 8, 64]", "tokens: [1, 8, 8]", &line));
  EXPECT_TRUE(has_problem(problems, "operators.linear.tokens", line, "increasing order without repeats")) << all_of(problems);
  problems = problems_in("unsorted.yaml", replaced(text, "batch: [1, 8]\n    kv_tokens", "batch: [8, 1]\n    kv_tokens", &line));
  EXPECT_TRUE(has_problem(problems, "operators.decode_attention.batch", line, "increasing order")) << all_of(problems);
  problems = problems_in("null_point.yaml", replaced(text, "tokens: [1, 8, 64]", "tokens: [1, null, 64]", &line));
  EXPECT_TRUE(has_problem(problems, "operators.linear.tokens", line, "got null")) << all_of(problems);
}

TEST(CalibrationProfile, AProfileOfUnmeasuredCellsOnlyIsRefused) {
  CalibrationProfile p = sample_profile();
  for (auto& row : p.decode_attention.time_us) row.assign(row.size(), kNaN);
  const auto problems = problems_in("unmeasured.yaml", format_calibration_profile(p));
  EXPECT_TRUE(has_problem(problems, "operators.decode_attention.time_us", 0, "at least one measured value")) << all_of(problems);
}

// Found by fuzz/calibration_fuzzer.cpp: a mapping without the required sections made yaml-cpp throw
// InvalidNode (an internal error) instead of naming what is missing.
TEST(CalibrationProfile, AProfileMissingItsSectionsNamesEach) {
  const auto problems = problems_in("sections.yaml", "schema: aidc-calibration/1\nnote: only this\n");
  for (const char* key : {"metadata", "device_peaks", "operators"})
    EXPECT_TRUE(has_problem(problems, key, 1, "missing")) << key << "\n" << all_of(problems);
}

TEST(CalibrationProfile, AMissingFileIsAUserError) {
  EXPECT_THROW(read_calibration_profile(kScenarios + "/calibration/no-such-profile.yaml"), FileErrors);
}

}  // namespace
}  // namespace aidc
