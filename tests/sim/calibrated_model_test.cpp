// The calibrated performance model against the profile it reads, summed by hand here from the raw
// YAML (read with yaml-cpp, not through the model's own reader): deepseek-llm-7b measured on an H100 by
// `aidc-engine profile` (scenarios/calibration/). At a measured grid point the model must return
// exactly the measured times, layer counts applied; on another GPU, memory-bound decode must scale
// with the bandwidth ratio.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "catalog/catalog.hpp"
#include "core/calibration/reader.hpp"
#include "core/calibration/writer.hpp"
#include "core/model/operator_loads.hpp"
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

// Operators timed one by one add up to more than the whole step the same profile run timed
// (end_to_end); at those points the model must give the measured whole step, and elsewhere it keeps
// the operators' shape: their sum times the measured-over-summed ratio.
TEST_F(Calibrated7b, DecodeStepAtAnEndToEndPointIsTheMeasuredWholeStep) {
  const auto model = model_on("H100-SXM");
  const YAML::Node decode_e2e = yaml_["end_to_end"]["decode"];
  ASSERT_EQ(decode_e2e["context_tokens"].as<int>(), 512);
  const int column = index_of(decode_e2e["batch"], 8);
  ASSERT_GE(column, 0);
  BatchShape decode;
  decode.decode_sequences = decode.logits_rows = 8;
  decode.decode_context_tokens = 8 * 512.0;
  const double measured = decode_e2e["step_ms"][column].as<double>() * 1e-3;
  EXPECT_NEAR(model->step(decode).seconds(), measured, 1e-6 * measured);
  // The sum of the measured operators (by hand from the YAML) is larger: that is what is corrected.
  const double operators = token_time_by_hand(8, 8) + decode_attention_by_hand(8, 512);
  EXPECT_GT(operators, measured);
  EXPECT_NE(model->description().find("deepseek-llm-7b__h100-80gb-hbm3__bf16-tp1.yaml"), std::string::npos);
}

TEST_F(Calibrated7b, PrefillAtAnEndToEndPointIsTheMeasuredWholeStep) {
  const auto model = model_on("H100-SXM");
  const YAML::Node prefill_e2e = yaml_["end_to_end"]["prefill"];
  const int column = index_of(prefill_e2e["tokens"], 2048);
  ASSERT_GE(column, 0);
  BatchShape prefill;
  prefill.prefills.push_back({2048, 0});
  prefill.logits_rows = 1;
  const double measured = prefill_e2e["time_ms"][column].as<double>() * 1e-3;
  EXPECT_NEAR(model->step(prefill).seconds(), measured, 1e-6 * measured);
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

// The H200 profile against the real thing: iterations `aidc-engine serve` ran while serving the
// fidelity experiment's loads on the same H200 (every 10th logged by --step-log; tests/sim/data). Each
// iteration's batch (prefill tokens, decode sequences and their KV) is priced by the model and held
// against its measured duration. Bounds as docs/fidelity.md states them: the mean step within 12% up to
// 64 decoding sequences; beyond that the model is known to be optimistic (the profile's grid stops at
// batch 64 with context 512; the served batches of 65-256 ran at 1,100 tokens of context).
TEST(CalibratedH200, PricesTheServedIterationsOfTheRealEngine) {
  const Catalog catalog = Catalog::load(AIDC_TEST_SCENARIOS_DIR);
  DeploymentSpec deployment;
  deployment.model = "deepseek-llm-7b";
  const CalibratedModel model(
      read_calibration_profile(std::string(AIDC_TEST_SCENARIOS_DIR) + "/calibration/deepseek-llm-7b__h200-140gb__bf16-tp1.yaml"),
      *catalog.model("deepseek-llm-7b"), *catalog.gpu("H200-SXM"), *catalog.server("hgx-8"), deployment);
  std::ifstream in(std::string(AIDC_SOURCE_DIR) + "/tests/sim/data/h200-deepseek-7b-served-steps.csv");
  ASSERT_TRUE(in) << "served step log missing";
  struct Sum {
    double measured = 0, predicted = 0;
    int steps = 0;
  };
  Sum decode_small, decode_mid, mixed;  // decode 1-16 sequences, decode 17-64, prefill with <= 64 decodes
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("start_s", 0) == 0) continue;
    std::istringstream row(line);
    std::vector<double> v;
    for (std::string cell; std::getline(row, cell, ',');) v.push_back(std::stod(cell));
    ASSERT_EQ(v.size(), 7u) << line;
    const int prefill_sequences = static_cast<int>(v[3]), prefill_tokens = static_cast<int>(v[4]);
    const int decodes = static_cast<int>(v[5]);
    if (decodes > 64) continue;
    BatchShape batch;
    for (int i = 0; i < prefill_sequences; ++i) batch.prefills.push_back({prefill_tokens / prefill_sequences, 0});
    batch.decode_sequences = decodes;
    batch.decode_context_tokens = v[6];
    batch.logits_rows = prefill_sequences + decodes;
    Sum& sum = prefill_tokens > 0 ? mixed : decodes <= 16 ? decode_small : decode_mid;
    sum.measured += v[1] - v[0];
    sum.predicted += model.step(batch).seconds();
    ++sum.steps;
  }
  for (const auto& [name, sum] : {std::pair{"decode 1-16", decode_small}, {"decode 17-64", decode_mid}, {"with prefill", mixed}}) {
    ASSERT_GT(sum.steps, 50) << name;
    const double error = sum.predicted / sum.measured - 1;
    std::printf("served iterations, %s: %d steps, mean measured %.2f ms, predicted %.2f ms (%+.1f%%)\n", name, sum.steps,
                1e3 * sum.measured / sum.steps, 1e3 * sum.predicted / sum.steps, 100 * error);
    EXPECT_LT(std::abs(error), 0.12) << name;
  }
}

// An MLA profile as `aidc-engine profile` writes one for DeepSeek-V2-Lite (synthetic times, written
// and read back through the profile format): its linears are q_kv_a_proj (q_proj fused with
// kv_a_proj_with_mqa, no q LoRA), o_proj, the one dense layer's FFN and lm_head; kv_b_proj's products
// and mla_prepare live in the attention grids. The composed steps must be the operators' times
// summed by hand with V2-Lite's layer counts from its config.json (num_hidden_layers 27,
// first_k_dense_replace 1: one dense FFN layer, 26 MoE layers), and its attention loads must move
// the latent cache: kv_lora_rank + qk_rope_head_dim = 512 + 64 values per token and layer.
class CalibratedMla : public ::testing::Test {
 protected:
  static constexpr int kLayers = 27, kDenseLayers = 1, kMoeLayers = 26;
  void SetUp() override {
    catalog_ = std::make_unique<Catalog>(Catalog::load(AIDC_TEST_SCENARIOS_DIR));
    deployment_.model = "DeepSeek-V2-Lite";
    CalibrationProfile p;
    p.metadata.model = "DeepSeek-V2-Lite";
    p.metadata.architecture = "deepseek_v2";
    p.metadata.gpu = "NVIDIA H200";  // the catalog's H200-SXM: times are used as measured
    p.metadata.date = "2026-12-04T00:00:00Z";
    p.device_peaks = {4275, 796.8, 80};
    const std::vector<double> tokens{1, 8, 128};
    p.linear.tokens = tokens;
    p.linear.ops = {{"q_kv_a_proj", 2048, 16 * 192 + 576, 1, {11, 13, 29}, {}},
                    {"o_proj", 2048, 2048, 1, {7, 8, 15}, {}},
                    {"gate_up_proj", 2048, 2 * 10944, 1, {40, 44, 80}, {}},
                    {"down_proj", 10944, 2048, 1, {21, 23, 41}, {}},
                    {"lm_head", 2048, 102400, 0, {150, 160, 300}, {}}};
    p.prefill_attention = {{128, 512}, {0, 1024}, {{30, 90}, {200, 450}}, {}};
    p.decode_attention = {{1, 8}, {128, 512}, {{17, 19}, {23, 37}}, {}};
    p.moe = CalibrationProfile::Moe{tokens, {95, 300, 700}, {}, 64, 6, 2, 1408};
    p.elementwise = {tokens, {{"rmsnorm", 0, 0, 0, {3, 3, 4}, {}}, {"embedding", 0, 0, 0, {2, 2, 3}, {}},
                              {"sampling", 0, 0, 0, {9, 10, 14}, {}}}};
    p.step_overhead = {{1, 8}, {40, 60}};
    const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("aidc-mla-profile-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string file = (dir / "DeepSeek-V2-Lite__h200__bf16-tp1.yaml").string();
    std::ofstream(file) << format_calibration_profile(p);
    profile_ = read_calibration_profile(file);
    std::filesystem::remove_all(dir);
  }
  CalibratedModel model_on(const std::string& gpu) const {
    return CalibratedModel(profile_, *catalog_->model("DeepSeek-V2-Lite"), *catalog_->gpu(gpu), *catalog_->server("hgx-8"),
                           deployment_);
  }
  std::unique_ptr<Catalog> catalog_;
  DeploymentSpec deployment_;
  CalibrationProfile profile_;
};

TEST_F(CalibratedMla, ProfileFormatCarriesTheMlaOperators) {
  ASSERT_EQ(profile_.linear.ops.size(), 5u);
  EXPECT_EQ(profile_.linear.ops[0].name, "q_kv_a_proj");
  EXPECT_EQ(profile_.linear.ops[0].out_features, 16 * 192 + 576);
  EXPECT_EQ(profile_.metadata.architecture, "deepseek_v2");
  const ModelConfig& v2 = *catalog_->model("DeepSeek-V2-Lite");
  ASSERT_EQ(v2.layers, kLayers);
  ASSERT_EQ(v2.dense_layer_count(), kDenseLayers);
  ASSERT_EQ(v2.moe_layer_count(), kMoeLayers);
}

TEST_F(CalibratedMla, DecodeStepIsTheOperatorsSummedByHand) {
  const CalibratedModel model = model_on("H200-SXM");
  BatchShape decode;
  decode.decode_sequences = decode.logits_rows = 8;
  decode.decode_context_tokens = 8 * 512.0;
  // Grid column of 8 tokens: per-layer linears x 27, the dense FFN x 1, lm_head and the elementwise
  // ops once, the MoE block x 26, decode attention (batch 8, 512 tokens each) x 27, host overhead.
  const double us = (13 + 8) * kLayers + (44 + 23) * kDenseLayers + 160 + 300 * kMoeLayers + (3 + 2 + 10) +
                    37 * kLayers + 60;
  const StepCost cost = model.step(decode);
  EXPECT_NEAR(cost.seconds(), us * 1e-6, 1e-9);
  EXPECT_EQ(cost.communication_s, 0);
}

TEST_F(CalibratedMla, PrefillStepIsTheOperatorsSummedByHand) {
  const CalibratedModel model = model_on("H200-SXM");
  BatchShape prefill;
  prefill.prefills.push_back({128, 0});
  prefill.logits_rows = 1;
  // 128 tokens through the linears, the MoE block and the elementwise ops, lm_head and sampling for
  // the one row that samples, prefill attention of a 128-token chunk on an empty cache x 27, one
  // sequence's overhead.
  const double us = (29 + 15) * kLayers + (80 + 41) * kDenseLayers + 150 + 700 * kMoeLayers + (4 + 3 + 9) +
                    30 * kLayers + 40;
  EXPECT_NEAR(model.step(prefill).seconds(), us * 1e-6, 1e-9);
}

TEST_F(CalibratedMla, AttentionLoadsMoveTheLatentCache) {
  const ModelConfig& v2 = *catalog_->model("DeepSeek-V2-Lite");
  EXPECT_DOUBLE_EQ(v2.kv_bytes_per_token(2.0), (512 + 64) * kLayers * 2.0);
  EXPECT_DOUBLE_EQ(decode_attention_load(v2, 1000, 2.0, 1).bytes, 1000 * (512 + 64) * 2.0);
  // The latent is replicated, not sharded, across tensor-parallel ranks.
  EXPECT_DOUBLE_EQ(decode_attention_load(v2, 1000, 2.0, 4).bytes, 1000 * (512 + 64) * 2.0);
  EXPECT_DOUBLE_EQ(prefill_attention_load(v2, 128, 1024, 2.0, 1).bytes, (1024 + 128) * (512 + 64) * 2.0);
}


// The committed H200 profile of DeepSeek-V2-Lite (MLA + DeepSeekMoE, issue 10): its operators, timed
// one by one (MLA's projections, the latent attention grids, the MoE block), must account for the
// whole steps the same run timed through the engine (end_to_end), two independent measurements.
// Summed here from the raw YAML with the model's layer counts: measured 2026-12-04, decode +1..+7%,
// prefill -12..+3% (the 512-token prefill loses more between its kernels than it spends in them).
TEST(CalibratedH200Mla, OperatorsAccountForTheMeasuredWholeSteps) {
  const YAML::Node y =
      YAML::LoadFile(std::string(AIDC_TEST_SCENARIOS_DIR) + "/calibration/DeepSeek-V2-Lite__h200-140gb__bf16-tp1.yaml");
  ASSERT_EQ(y["metadata"]["architecture"].as<std::string>(), "deepseek_v2");
  const YAML::Node shape = y["model_shape"], ops = y["operators"];
  const double layers = shape["layers"].as<double>(), dense = shape["dense_layers"].as<double>(),
               moe_layers = shape["moe_layers"].as<double>();
  auto at = [](const YAML::Node& list, const YAML::Node& axis, double value) {
    const int i = index_of(axis, value);
    EXPECT_GE(i, 0) << value << " is not a grid point";
    return list[i].as<double>();
  };
  // Linear and element-wise operators of a step of `tokens` rows and `logit_rows` rows of logits, us.
  auto per_token_ops = [&](double tokens, double logit_rows) {
    double us = 0;
    for (const auto& op : ops["linear"]["ops"]) {
      const bool ffn = op["name"].as<std::string>() == "gate_up_proj" || op["name"].as<std::string>() == "down_proj";
      const int per_layer = op["per_layer"].as<int>();
      us += at(op["time_us"], ops["linear"]["tokens"], per_layer == 0 ? logit_rows : tokens) *
            (per_layer == 0 ? 1.0 : per_layer * (ffn ? dense : layers));
    }
    for (const auto& op : ops["elementwise"]["ops"]) {
      const int per_layer = op["per_layer"].as<int>();
      us += at(op["time_us"], ops["elementwise"]["tokens"], op["name"].as<std::string>() == "sampling" ? logit_rows : tokens) *
            (per_layer == 0 ? 1.0 : per_layer * layers);
    }
    return us + at(ops["moe"]["time_us"], ops["moe"]["tokens"], tokens) * moe_layers;
  };
  const YAML::Node decode = y["end_to_end"]["decode"], attention = ops["decode_attention"];
  const double context = decode["context_tokens"].as<double>();
  for (std::size_t i = 0; i < decode["batch"].size(); ++i) {
    const double batch = decode["batch"][i].as<double>(), measured_ms = decode["step_ms"][i].as<double>();
    const int row = index_of(attention["batch"], batch), col = index_of(attention["kv_tokens_per_seq"], context);
    ASSERT_GE(row, 0);
    ASSERT_GE(col, 0);
    const double us = per_token_ops(batch, batch) + attention["time_us"][row][col].as<double>() * layers +
                      at(ops["step_overhead"]["cpu_us"], ops["step_overhead"]["batch"], batch);
    EXPECT_NEAR(us * 1e-3 / measured_ms, 1.0, 0.10) << "decode batch " << batch;
  }
  const YAML::Node prefill = y["end_to_end"]["prefill"], grid = ops["prefill_attention"];
  for (std::size_t i = 0; i < prefill["tokens"].size(); ++i) {
    const double tokens = prefill["tokens"][i].as<double>(), measured_ms = prefill["time_ms"][i].as<double>();
    const int row = index_of(grid["chunk_tokens"], tokens), col = index_of(grid["context_tokens"], 0);
    ASSERT_GE(row, 0);
    ASSERT_GE(col, 0);
    const double us = per_token_ops(tokens, 1) + grid["time_us"][row][col].as<double>() * layers +
                      at(ops["step_overhead"]["cpu_us"], ops["step_overhead"]["batch"], 1);
    EXPECT_NEAR(us * 1e-3 / measured_ms, 1.0, 0.15) << "prefill " << tokens << " tokens";
  }
}


// The catalog's H100 and H200 entries against the cards the committed profiles measured in the same
// calls (issue 10): memory capacity, and copy bandwidth and bf16 GEMM below the datasheet peaks by the
// margins every H100/H200 shows (copy ~89-90% of spec; cuBLAS 8192^3 ~78-80% of the dense peak).
// The vendors' "80 GB" / "141 GB" are binary: CUDA reports 79.6 and 140.4 GiB.
TEST(CalibratedCards, CatalogEntriesAgreeWithTheMeasuredCards) {
  const Catalog catalog = Catalog::load(AIDC_TEST_SCENARIOS_DIR);
  const std::map<std::string, std::string> gpu_of_card = {{"NVIDIA H100 80GB HBM3", "H100-SXM"}, {"NVIDIA H200", "H200-SXM"}};
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(AIDC_TEST_SCENARIOS_DIR) + "/calibration")) {
    const YAML::Node y = YAML::LoadFile(entry.path().string());
    if (!y["device_peaks"]) continue;  // a black-box fit: no card measured
    const auto card = gpu_of_card.find(y["metadata"]["gpu"].as<std::string>());
    ASSERT_NE(card, gpu_of_card.end()) << entry.path() << ": a card this test does not know";
    const GpuSpec& spec = *catalog.gpu(card->second);
    SCOPED_TRACE(entry.path().filename().string());
    EXPECT_NEAR(y["metadata"]["gpu_memory_gib"].as<double>() / spec.memory_gb, 1.0, 0.015);
    const double copy = y["device_peaks"]["copy_gbps"].as<double>() / spec.memory_bandwidth_gb_s;
    EXPECT_GT(copy, 0.85);
    EXPECT_LT(copy, 0.95);
    const double gemm = y["device_peaks"]["gemm_bf16_tflops"].as<double>() / spec.bf16_tflops;
    EXPECT_GT(gemm, 0.70);
    EXPECT_LT(gemm, 0.90);
    ++checked;
  }
  EXPECT_GE(checked, 11);
}

}  // namespace
}  // namespace aidc
