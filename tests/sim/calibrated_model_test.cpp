// The calibrated performance model against the profile it reads, summed by hand here from the raw
// YAML (read with yaml-cpp, not through the model's own reader): deepseek-llm-7b measured on an H100 by
// `aidc-engine profile` (scenarios/calibration/). At a measured grid point the model must return
// exactly the measured times, layer counts applied; on another GPU, memory-bound decode must scale
// with the bandwidth ratio.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "catalog/catalog.hpp"
#include "core/calibration/reader.hpp"
#include "perf/calibrated_model.hpp"

namespace aidc {
namespace {

const std::string kProfile =
    std::string(AIDC_TEST_SCENARIOS_DIR) + "/calibration/deepseek-llm-7b__h100-80gb-hbm3__bf16-tp1.yaml";

// Index of `value` in a YAML list of numbers; -1 when absent.
int index_of(const YAML::Node& list, double value) {
  for (std::size_t i = 0; i < list.size(); ++i)
    if (list[i].as<double>() == value) return static_cast<int>(i);
  return -1;
}

class Calibrated7b : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = std::make_unique<Catalog>(Catalog::load(AIDC_TEST_SCENARIOS_DIR));
    yaml_ = YAML::LoadFile(kProfile);
    deployment_.model = "deepseek-llm-7b";
  }
  std::unique_ptr<CalibratedModel> model_on(const std::string& gpu) const {
    return std::make_unique<CalibratedModel>(read_calibration_profile(kProfile), *catalog_->model("deepseek-llm-7b"),
                                             *catalog_->gpu(gpu), *catalog_->server("hgx-8"), deployment_);
  }
  // Sum over the profile's operators at `tokens` batch tokens (a grid point) of time x occurrences, s.
  double token_time_by_hand(int tokens, int sequences) const {
    const double layers = yaml_["model_shape"]["layers"].as<double>();
    double us = 0;
    const YAML::Node linear = yaml_["operators"]["linear"];
    const int column = index_of(linear["tokens"], tokens);
    EXPECT_GE(column, 0) << tokens << " tokens is not a grid point of the profile";
    for (const auto& op : linear["ops"]) {
      const int per_layer = op["per_layer"].as<int>();
      us += op["time_us"][column].as<double>() * (per_layer == 0 ? 1.0 : per_layer * layers);
    }
    const YAML::Node elementwise = yaml_["operators"]["elementwise"];
    const int e = index_of(elementwise["tokens"], tokens);
    EXPECT_GE(e, 0);
    for (const auto& op : elementwise["ops"]) {
      const int per_layer = op["per_layer"].as<int>();
      us += op["time_us"][e].as<double>() * (per_layer == 0 ? 1.0 : per_layer * layers);
    }
    const YAML::Node overhead = yaml_["operators"]["step_overhead"];
    us += overhead["cpu_us"][index_of(overhead["batch"], sequences)].as<double>();
    return us * 1e-6;
  }
  double decode_attention_by_hand(int batch, int kv_per_seq) const {
    const YAML::Node grid = yaml_["operators"]["decode_attention"];
    const int row = index_of(grid["batch"], batch), col = index_of(grid["kv_tokens_per_seq"], kv_per_seq);
    EXPECT_GE(row, 0);
    EXPECT_GE(col, 0);
    return grid["time_us"][row][col].as<double>() * yaml_["model_shape"]["layers"].as<double>() * 1e-6;
  }

  std::unique_ptr<Catalog> catalog_;
  YAML::Node yaml_;
  DeploymentSpec deployment_;
};

TEST_F(Calibrated7b, DecodeStepAtAGridPointIsTheSumOfMeasuredOperators) {
  const auto model = model_on("H100-SXM");
  BatchShape decode;
  decode.decode_sequences = decode.logits_rows = 8;
  decode.decode_context_tokens = 8 * 512.0;
  const double expected = token_time_by_hand(8, 8) + decode_attention_by_hand(8, 512);
  EXPECT_NEAR(model->step(decode).seconds(), expected, 1e-9 * expected);
  EXPECT_NE(model->description().find("deepseek-llm-7b__h100-80gb-hbm3__bf16-tp1.yaml"), std::string::npos);
}

TEST_F(Calibrated7b, BetweenGridPointsTimeLiesBetweenTheNeighbours) {
  const auto model = model_on("H100-SXM");
  const double t8 = model->token_cost(8, 8, 8).seconds(), t16 = model->token_cost(16, 16, 16).seconds();
  const double t12 = model->token_cost(12, 12, 12).seconds();
  EXPECT_GE(t12, std::min(t8, t16));
  EXPECT_LE(t12, std::max(t8, t16));
}

// H200 has the same compute and 4.8 / 3.35 the bandwidth (catalog); a batch-1 decode step is memory
// bound, so its GPU time scales by the ratio of achievable bandwidths. The CPU overhead does not.
TEST_F(Calibrated7b, AnotherGpuScalesMemoryBoundWorkByItsBandwidth) {
  const auto h100 = model_on("H100-SXM");
  const auto h200 = model_on("H200-SXM");
  BatchShape decode;
  decode.decode_sequences = decode.logits_rows = 1;
  decode.decode_context_tokens = 512;
  const StepCost on_h100 = h100->step(decode), on_h200 = h200->step(decode);
  const GpuSpec& b = *catalog_->gpu("H200-SXM");
  const double profiled_bw = yaml_["device_peaks"]["copy_gbps"].as<double>();
  const double target_bw = b.memory_bandwidth_gb_s * b.memory_efficiency;
  EXPECT_NEAR(on_h200.memory_bound_s, on_h100.memory_bound_s * profiled_bw / target_bw, 0.02 * on_h200.memory_bound_s);
  EXPECT_DOUBLE_EQ(on_h200.overhead_s, on_h100.overhead_s);
  EXPECT_NE(h200->description().find("scaled to H200-SXM"), std::string::npos) << h200->description();
}

}  // namespace
}  // namespace aidc
