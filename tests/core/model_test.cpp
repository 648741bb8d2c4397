// core/model's parameter counts against the figures the model makers publish, computed from the
// catalog's config.json files (scenarios/catalog/models/, copied from each model's Hugging Face
// repository). Counts are the checkpoint's tensors; active parameters leave out the embedding table
// (a token reads one row of it) and the routed experts a token is not sent to.
#include <gtest/gtest.h>

#include "core/model/config.hpp"
#include "core/model/operator_loads.hpp"

namespace aidc {
namespace {

ModelConfig catalog_model(const std::string& id) {
  return load_model_config(std::string(AIDC_TEST_SCENARIOS_DIR) + "/catalog/models/" + id + ".json");
}
double billions(int64_t n) { return static_cast<double>(n) / 1e9; }

// DeepSeek-V3 technical report (arXiv:2412.19437), abstract: "671B total parameters with 37B
// activated for each token". Its model card (huggingface.co/deepseek-ai/DeepSeek-V3, README): "685B,
// which includes 671B of the Main Model weights and 14B of the Multi-Token Prediction (MTP) Module
// weights": the MTP layer is not in num_hidden_layers and not counted here. 37B activated matches
// the count without the embedding table (36.6 B); with it, 37.6 B would round to 38.
TEST(ModelParameters, DeepSeekV3MatchesItsPaper) {
  const ModelConfig v3 = catalog_model("DeepSeek-V3");
  EXPECT_NEAR(billions(v3.parameter_count()), 671.0, 0.5);
  EXPECT_NEAR(billions(v3.active_parameter_count()), 37.0, 0.5);
  EXPECT_EQ(v3.moe_layer_count(), 58);  // first_k_dense_replace 3 of 61 layers
}

// DeepSeek-V2 paper (arXiv:2405.04434), appendix B: DeepSeek-V2-Lite "has 15.7B parameters in total,
// where 2.4B are activated for each token": again the count without the embedding table (2.45 B;
// 2.66 B with it).
TEST(ModelParameters, DeepSeekV2LiteMatchesItsPaper) {
  const ModelConfig lite = catalog_model("DeepSeek-V2-Lite");
  EXPECT_NEAR(billions(lite.parameter_count()), 15.7, 0.05);
  EXPECT_NEAR(billions(lite.active_parameter_count()), 2.4, 0.06);
}

// DeepSeekMoE paper (arXiv:2401.06066), section 5: DeepSeekMoE 16B has "16.4B parameters" with
// "2.8B activated": that paper counts the embedding table among the activated ones (2.62 B + 0.21 B).
TEST(ModelParameters, DeepSeekMoe16bMatchesItsPaperWithTheEmbeddingTable) {
  const ModelConfig moe = catalog_model("deepseek-moe-16b");
  EXPECT_NEAR(billions(moe.parameter_count()), 16.4, 0.05);
  EXPECT_NEAR(billions(moe.active_parameter_count() + moe.embedding_parameters()), 2.8, 0.05);
}

// deepseek-llm-7b: the Hugging Face model page of deepseek-ai/deepseek-llm-7b-base gives "6.91B
// params" (the safetensors header's count): embedding and lm_head (untied), 30 layers, norms. A
// dense model is active whole but for the embedding table: 6.91 - 0.42 = 6.49 B.
TEST(ModelParameters, DeepseekLlm7bMatchesItsCheckpoint) {
  const ModelConfig c = catalog_model("deepseek-llm-7b");
  EXPECT_NEAR(billions(c.parameter_count()), 6.91, 0.005);
  EXPECT_NEAR(billions(c.active_parameter_count()), 6.91 - 102400.0 * 4096 / 1e9, 0.005);
  EXPECT_EQ(c.kv_bytes_per_token(2), 2.0 * 32 * 128 * 30 * 2);  // K and V, 32 heads of 128, 30 layers, bf16
}

// Qwen2.5 technical report (arXiv:2412.15115), table 1: the 7B model (the base of
// DeepSeek-R1-Distill-Qwen-7B) has 7.61B parameters, 6.53B without the embedding and lm_head
// tables; the q/k/v biases are among them.
TEST(ModelParameters, QwenDistillMatchesQwen25Report) {
  const ModelConfig q = catalog_model("DeepSeek-R1-Distill-Qwen-7B");
  EXPECT_NEAR(billions(q.parameter_count()), 7.61, 0.01);
  EXPECT_NEAR(billions(q.parameter_count() - q.embedding_parameters() - q.lm_head_parameters()), 6.53, 0.005);
}

// The MLA cache holds the 512-d latent and the 64-d rope key (V3 paper, section 2.1.1), replicated
// on every tensor-parallel rank; GQA's K/V heads shard across ranks.
TEST(ModelOperators, KvBytesPerRank) {
  const ModelConfig v3 = catalog_model("DeepSeek-V3");
  EXPECT_EQ(kv_bytes_per_token_per_rank(v3, 2, 8), (512 + 64) * 2);
  const ModelConfig q = catalog_model("DeepSeek-R1-Distill-Qwen-7B");  // 4 KV heads of 128
  EXPECT_EQ(kv_bytes_per_token_per_rank(q, 2, 2), 2 * 4 * 128 * 2 / 2);
  EXPECT_EQ(kv_bytes_per_token_per_rank(q, 2, 8), 2 * 4 * 128 * 2 / 4);  // 4 heads cannot split 8 ways
}

// Uniform routing: one token touches its k experts; many tokens touch nearly all E.
TEST(ModelOperators, ExpectedExpertsTouched) {
  const ModelConfig moe = catalog_model("deepseek-moe-16b");  // 64 experts, 6 per token
  EXPECT_DOUBLE_EQ(moe.expected_experts_touched(1), 6.0);
  EXPECT_NEAR(moe.expected_experts_touched(2), 64 * (1 - (58.0 / 64) * (58.0 / 64)), 1e-9);
  EXPECT_NEAR(moe.expected_experts_touched(4096), 64.0, 1e-9);
  EXPECT_DOUBLE_EQ(moe.decode_weight_bytes(1, 2), 2.0 * moe.active_parameter_count());
}

}  // namespace
}  // namespace aidc
