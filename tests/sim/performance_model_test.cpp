// The roofline performance model and the memory plan against hand calculations from the catalog
// numbers: deepseek-llm-7b (HF config: hidden 4096, 30 layers, 32 heads, 32 KV heads, head dim 128,
// FFN 11008, vocab 102400, untied embeddings) on H100-SXM (3350 GB/s, 989 TFLOP/s bf16, efficiencies
// 0.90 memory / 0.78 compute for attention and element-wise kernels, 0.73 weight read / 0.56 bf16 GEMM
// for the linear layers (docs/fidelity.md: measured in the H100 profiles), 80 GB).
#include <gtest/gtest.h>

#include "catalog/catalog.hpp"
#include "perf/memory_plan.hpp"
#include "perf/roofline_model.hpp"

namespace aidc {
namespace {

constexpr double kHidden = 4096, kLayers = 30, kHeads = 32, kHeadDim = 128, kFfn = 11008, kVocab = 102400;
constexpr double kBandwidth = 3350e9, kMemoryEfficiency = 0.90, kBf16Flops = 989e12, kComputeEfficiency = 0.78;
constexpr double kWeightReadEfficiency = 0.73, kLinearEfficiency = 0.56;

// Weights of one transformer layer: Q, K, V, O (32 heads x 128 = 4096 each way) and the SwiGLU MLP.
constexpr double kLayerParams = 4 * kHidden * kHidden + 3 * kHidden * kFfn;

class Roofline7bOnH100 : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = std::make_unique<Catalog>(Catalog::load(AIDC_TEST_SCENARIOS_DIR));
    const GpuSpec* gpu = catalog_->gpu("H100-SXM");
    const ModelConfig* model = catalog_->model("deepseek-llm-7b");
    const ServerSpec* server = catalog_->server("hgx-8");
    ASSERT_TRUE(gpu && model && server);
    // The hand calculation below uses these catalog numbers; a catalog change must revisit it.
    ASSERT_EQ(gpu->memory_bandwidth_gb_s, 3350);
    ASSERT_EQ(gpu->memory_efficiency, 0.90);
    ASSERT_EQ(gpu->bf16_tflops, 989);
    ASSERT_EQ(gpu->compute_efficiency, 0.78);
    ASSERT_EQ(gpu->weight_read_efficiency, 0.73);
    ASSERT_EQ(gpu->linear_bf16_efficiency, 0.56);
    ASSERT_EQ(gpu->memory_gb, 80);
    ASSERT_EQ(model->hidden, 4096);
    ASSERT_EQ(model->layers, 30);
    ASSERT_EQ(model->kv_heads, 32);
    ASSERT_EQ(model->intermediate, 11008);
    ASSERT_EQ(model->vocab, 102400);
    deployment_.model = "deepseek-llm-7b";
    deployment_.precision = Precision::BF16;
    deployment_.tensor_parallel = 1;
    roofline_ = std::make_unique<RooflineModel>(*model, *gpu, *server, deployment_, overhead_s_);
    model_ = model;
    gpu_ = gpu;
  }

  std::unique_ptr<Catalog> catalog_;
  DeploymentSpec deployment_;
  std::unique_ptr<RooflineModel> roofline_;
  const ModelConfig* model_ = nullptr;
  const GpuSpec* gpu_ = nullptr;
  const double overhead_s_ = 1.5e-3;
};

// Decoding one token streams every layer's weights plus the LM head once (the embedding lookup reads a
// single row): (30 x 202,375,168 + 102,400 x 4096) params x 2 bytes = 12.98 GB, read by the linear
// layers at 3350 x 0.73 GB/s (their measured weight-read rate; the copy rate 0.90 gave 4.31 ms, which
// published decode steps of real engines never reach, docs/fidelity.md) = 5.31 ms, plus the 1.5 ms
// per-iteration overhead. Activations and a 1-token KV cache add < 0.1%.
TEST_F(Roofline7bOnH100, DecodeStepAtBatchOneIsWeightBytesOverBandwidth) {
  BatchShape shape;
  shape.decode_sequences = 1;
  shape.decode_context_tokens = 1;
  shape.logits_rows = 1;
  const StepCost cost = roofline_->step(shape);
  const double weight_bytes = (kLayers * kLayerParams + kVocab * kHidden) * 2.0;
  const double expected = weight_bytes / (kBandwidth * kWeightReadEfficiency);
  EXPECT_NEAR(expected, 5.308e-3, 0.005e-3);  // the arithmetic itself
  EXPECT_NEAR(cost.memory_bound_s, expected, 0.005 * expected);
  EXPECT_LT(cost.compute_bound_s, 0.01 * expected) << "batch-1 decode is memory bound";
  EXPECT_EQ(cost.communication_s, 0) << "TP 1 has no collectives";
  EXPECT_NEAR(cost.seconds(), expected + overhead_s_, 0.005 * expected);
}

// A long KV cache adds its bytes: 4096 cached tokens x 2 (K,V) x 32 heads x 128 x 2 bytes x 30 layers
// = 2.01 GB more to read, i.e. +0.667 ms.
TEST_F(Roofline7bOnH100, DecodeStepGrowsWithKvBytes) {
  BatchShape shape;
  shape.decode_sequences = 1;
  shape.logits_rows = 1;
  shape.decode_context_tokens = 1;
  const double short_context = roofline_->step(shape).seconds();
  shape.decode_context_tokens = 4097;
  const double long_context = roofline_->step(shape).seconds();
  const double kv_bytes = 4096 * 2 * kHeads * kHeadDim * 2 * kLayers;
  EXPECT_NEAR(long_context - short_context, kv_bytes / (kBandwidth * kMemoryEfficiency), 0.01 * kv_bytes / kBandwidth);
}

// Prefilling 2048 tokens is compute bound: 2 x params x tokens for the linears at their measured
// large-batch rate, 989 x 0.56 TFLOP/s (the 4096^3 GEMM's 0.78 gave 33.6 ms in all, docs/fidelity.md),
// plus causal attention (QK^T and PV: 4 x 128 FLOPs per query-key pair per head, 2048 x 2049 / 2 pairs)
// over 30 layers at 989 x 0.78: ~46.2 ms. The LM head runs for the one row that samples.
TEST_F(Roofline7bOnH100, PrefillIsComputeBound) {
  BatchShape shape;
  shape.prefills.push_back({2048, 0});
  shape.logits_rows = 1;
  const StepCost cost = roofline_->step(shape);
  const double t = 2048;
  const double linear_flops = 2 * kLayers * kLayerParams * t + 2 * kVocab * kHidden;
  const double attention_flops = kLayers * kHeads * (t * (t + 1) / 2) * 4 * kHeadDim;
  const double expected = linear_flops / (kBf16Flops * kLinearEfficiency) + attention_flops / (kBf16Flops * kComputeEfficiency);
  EXPECT_NEAR(expected, 46.2e-3, 0.1e-3);
  EXPECT_NEAR(cost.compute_bound_s, expected, 0.02 * expected);
  EXPECT_LT(cost.memory_bound_s, 0.05 * expected);
}

// Weights 6.91e9 params x 2 bytes = 13.82 GB; usable 80 GiB (HBM is binary) x 0.9 = 77.3 GB; reserve 2 GB; KV per token
// 2 x 32 x 128 x 30 layers x 2 bytes = 491,520 bytes; blocks of 16 tokens.
TEST_F(Roofline7bOnH100, MemoryPlanLeavesTheRestForKvBlocks) {
  const MemoryPlan plan = plan_memory(*model_, *gpu_, deployment_);
  const double params = kLayers * kLayerParams + 2 * kVocab * kHidden;
  EXPECT_NEAR(plan.weight_bytes_per_gpu, params * 2, 1e6);
  const double per_token = 2 * kHeads * kHeadDim * kLayers * 2;
  EXPECT_DOUBLE_EQ(plan.kv_bytes_per_token_per_gpu, per_token);
  const double kv_bytes = 80.0 * (1 << 30) * 0.9 - params * 2 - 2e9;
  EXPECT_EQ(plan.kv_blocks, static_cast<long long>(kv_bytes / (per_token * 16)));
  EXPECT_EQ(plan.kv_capacity_tokens, plan.kv_blocks * 16);
}

}  // namespace
}  // namespace aidc
