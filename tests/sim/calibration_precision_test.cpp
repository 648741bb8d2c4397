// An fp8 calibration profile (what `aidc-engine profile --precision fp8` writes: metadata.precision fp8
// and the cuBLASLt fp8 GEMM peak among device_peaks) written by the real writer: a scenario deploying
// the model in fp8 runs on it, one deploying it in bf16 is refused (a profile serves the precision it
// measured, the loader's one rule), and the calibrated model scales its linears by the fp8 GEMM peak,
// not the bf16 one. Profiles from before the fp8 peak was recorded still read.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "catalog/catalog.hpp"
#include "core/calibration/reader.hpp"
#include "core/calibration/writer.hpp"
#include "core/common/error.hpp"
#include "perf/calibrated_model.hpp"
#include "scenario/loader.hpp"

namespace aidc {
namespace {

namespace fs = std::filesystem;

const std::string kScenarios = AIDC_TEST_SCENARIOS_DIR;

// deepseek-llm-7b (hidden 4096, intermediate 11008, 30 layers, vocab 102400) as a profile run on an
// H200 would time it; synthetic times, and peaks near the H200's (fp8 twice bf16).
CalibrationProfile fp8_profile(double gemm_bf16_tflops, double gemm_fp8_tflops) {
  CalibrationProfile p;
  p.metadata.model = "deepseek-llm-7b";
  p.metadata.architecture = "llama";
  p.metadata.gpu = "NVIDIA H200";
  p.metadata.date = "2026-12-04T00:00:00Z";
  p.metadata.precision = "fp8";
  p.device_peaks = {4275, gemm_bf16_tflops, 80, gemm_fp8_tflops};
  const std::vector<double> tokens{1, 8, 4096};
  p.linear.tokens = tokens;
  p.linear.ops = {{"qkv_proj", 4096, 3 * 4096, 1, {12, 14, 420}, {}},
                  {"o_proj", 4096, 4096, 1, {6, 7, 150}, {}},
                  {"gate_up_proj", 4096, 2 * 11008, 1, {25, 28, 760}, {}},
                  {"down_proj", 11008, 4096, 1, {13, 15, 380}, {}},
                  {"lm_head", 4096, 102400, 0, {110, 120, 3000}, {}}};
  p.prefill_attention = {{128, 4096}, {0, 1024}, {{30, 90}, {900, 1500}}, {}};
  p.decode_attention = {{1, 8}, {128, 512}, {{17, 19}, {23, 37}}, {}};
  p.elementwise = {tokens, {{"rmsnorm", 0, 0, 0, {3, 3, 40}, {}}, {"embedding", 0, 0, 0, {2, 2, 30}, {}},
                            {"sampling", 0, 0, 0, {9, 10, 14}, {}}}};
  p.step_overhead = {{1, 8}, {40, 60}};
  return p;
}

class Fp8Profile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("aidc-fp8-profile-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    file_ = write(fp8_profile(796.8, 1590.0), "deepseek-llm-7b__h200-140gb__fp8-tp1.yaml");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const CalibrationProfile& p, const std::string& name) const {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << format_calibration_profile(p);
    return path;
  }
  // The default scenario with deepseek-llm-7b on H200s, timed by the profile at `file`.
  Scenario load(const std::string& precision, const std::string& file) const {
    return load_scenario(kScenarios + "/default.yaml",
                         {"datacenter.gpu=H200-SXM", "deployment.model=deepseek-llm-7b", "deployment.precision=" + precision,
                          "performance.model=calibrated", "performance.calibration=" + file},
                         catalog_);
  }
  std::string loader_errors(const std::string& precision, const std::string& file) const {
    try {
      load(precision, file);
    } catch (const InputErrors& e) {
      std::string text;
      for (const auto& error : e.errors()) text += error.to_string() + "\n";
      return text;
    }
    return "";
  }
  // Prefill of 4096 tokens (a grid point, compute-bound linears) priced from `p` on an H100, where
  // every operator is scaled from the profiled H200 by roofline ratios.
  double h100_prefill_s(const CalibrationProfile& p) const {
    DeploymentSpec d;
    d.model = "deepseek-llm-7b";
    d.precision = Precision::FP8;
    const CalibratedModel m(read_calibration_profile(write(p, "scaled.yaml")), *catalog_.model(d.model),
                            *catalog_.gpu("H100-SXM"), *catalog_.server("hgx-8"), d);
    const StepCost cost = m.token_cost(4096, 1, 1);
    return cost.compute_bound_s + cost.memory_bound_s;
  }
  Catalog catalog_ = Catalog::load(kScenarios);
  fs::path dir_;
  std::string file_;
};

TEST_F(Fp8Profile, TheWriterRecordsPrecisionAndTheFp8GemmPeak) {
  const CalibrationProfile p = read_calibration_profile(file_);
  EXPECT_EQ(p.metadata.precision, "fp8");
  EXPECT_DOUBLE_EQ(p.device_peaks.gemm_fp8_tflops, 1590.0);
  EXPECT_DOUBLE_EQ(p.device_peaks.gemm_bf16_tflops, 796.8);
}

TEST_F(Fp8Profile, ProfilesFromBeforeTheFp8PeakStillRead) {
  const CalibrationProfile p = read_calibration_profile(kScenarios + "/calibration/deepseek-llm-7b__h200-140gb__bf16-tp1.yaml");
  EXPECT_EQ(p.metadata.precision, "bf16");
  EXPECT_EQ(p.device_peaks.gemm_fp8_tflops, 0.0);
  EXPECT_GT(p.device_peaks.gemm_bf16_tflops, 0.0);
}

TEST_F(Fp8Profile, AnFp8ProfileWithoutTheFp8PeakIsRefusedNamingTheKey) {
  const std::string file = write(fp8_profile(796.8, 0), "no-peak.yaml");
  try {
    read_calibration_profile(file);
    FAIL() << "an fp8 profile without device_peaks.gemm_fp8_tflops was accepted";
  } catch (const FileErrors& e) {
    ASSERT_FALSE(e.problems().empty());
    EXPECT_EQ(e.problems()[0].key, "device_peaks.gemm_fp8_tflops");
  }
}

TEST_F(Fp8Profile, AnFp8DeploymentRunsOnTheFp8Profile) {
  const Scenario s = load("fp8", file_);
  ASSERT_TRUE(s.performance.profile);
  EXPECT_EQ(s.performance.profile->metadata.precision, "fp8");
}

TEST_F(Fp8Profile, ABf16DeploymentRefusesTheFp8ProfileAndTakesTheBf16One) {
  const std::string errors = loader_errors("bf16", file_);
  EXPECT_NE(errors.find("profile measured fp8 but deployment.precision is bf16"), std::string::npos) << errors;
  EXPECT_EQ(loader_errors("bf16", "calibration/deepseek-llm-7b__h200-140gb__bf16-tp1.yaml"), "");
  const std::string bf16_on_fp8 = loader_errors("fp8", "calibration/deepseek-llm-7b__h200-140gb__bf16-tp1.yaml");
  EXPECT_NE(bf16_on_fp8.find("profile measured bf16 but deployment.precision is fp8"), std::string::npos) << bf16_on_fp8;
}

// Scaled to another GPU, an fp8 profile's compute-bound work is measured against its fp8 GEMM peak:
// the bf16 peak changes nothing, and half the fp8 peak on the profiled GPU (the same times twice as
// close to its roofline) halves the linears' predicted time on the target. At 4096 tokens the
// linears are compute-bound on the profiled side (qkv_proj: 4.1e11 FLOPs over 1590 TFLOP/s is 259 us,
// 184 MB over 4275 GB/s 43 us) and make up most of the step (elementwise ops: 70 of 1800 us).
TEST_F(Fp8Profile, ScalingToAnotherGpuUsesTheFp8GemmPeak) {
  const double at_profile = h100_prefill_s(fp8_profile(796.8, 1590.0));
  EXPECT_DOUBLE_EQ(h100_prefill_s(fp8_profile(400.0, 1590.0)), at_profile);
  EXPECT_LT(h100_prefill_s(fp8_profile(796.8, 795.0)), 0.6 * at_profile);
}

}  // namespace
}  // namespace aidc
