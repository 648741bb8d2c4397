#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "engine_test_support.h"
#include "core/model/config.hpp"

namespace aidc {
namespace {

TEST(EngineConfig, ReadsDenseMoeAndMla) {
  const ModelConfig llama = test::tiny("tiny-llama");
  EXPECT_EQ(llama.arch, Arch::Llama);
  EXPECT_EQ(llama.kv_heads, 2);
  EXPECT_EQ(llama.head_dim, 64);
  EXPECT_FALSE(llama.qkv_bias);
  const ModelConfig qwen = test::tiny("tiny-qwen2");
  EXPECT_TRUE(qwen.qkv_bias);
  EXPECT_EQ(qwen.rope.kind, RopeKind::Yarn);
  const ModelConfig v3 = test::tiny("tiny-deepseek-v3");
  EXPECT_TRUE(v3.mla.enabled);
  EXPECT_EQ(v3.kv_values_per_token(), 64 + 16);
  EXPECT_EQ(v3.moe.routing, Routing::SigmoidGroupTopK);
  EXPECT_EQ(v3.moe_layer_count(), 2);
  EXPECT_FALSE(v3.is_moe_layer(0));
}

TEST(EngineConfig, DeepseekLlm7bShape) {
  const std::string json = R"({"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":4096,
    "num_hidden_layers":30,"num_attention_heads":32,"num_key_value_heads":32,"intermediate_size":11008,
    "vocab_size":102400,"rms_norm_eps":1e-6,"rope_theta":10000.0})";
  const ModelConfig c = parse_model_config(json, "deepseek-llm-7b");
  EXPECT_NEAR(c.parameter_count() / 1e9, 6.91, 0.01);  // the published 6.9 B
  EXPECT_EQ(c.kv_values_per_token() * 2 * c.layers, 491520);
}

TEST(EngineConfig, MalformedInputNamesTheProblem) {
  auto message = [](const std::string& json) {
    try {
      parse_model_config(json, "bad");
    } catch (const EngineError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(R"({"model_type": "llama", "hidden_size": 12)").find("malformed JSON"), std::string::npos);
  EXPECT_NE(message(R"({"model_type": "llama", "hidden_size": 64})").find("'num_hidden_layers'"), std::string::npos);
  EXPECT_NE(message(R"({"model_type": "llama", "hidden_size": "big", "num_hidden_layers": 1})").find("'hidden_size'"),
            std::string::npos);
  EXPECT_NE(message(R"({"model_type": "gpt2"})").find("'model_type'"), std::string::npos);
  EXPECT_NE(message(R"({"model_type":"llama","hidden_size":64,"num_hidden_layers":1,"num_attention_heads":4,
      "num_key_value_heads":3,"intermediate_size":8,"vocab_size":8})").find("'num_key_value_heads'"), std::string::npos);
  EXPECT_THROW(load_model_config("/nonexistent/config.json"), EngineError);
}

TEST(EngineConfig, RopeScalings) {
  const ModelConfig l3 = test::tiny("tiny-llama3");
  const std::vector<float> inv = l3.rope_inv_freq();
  const double base0 = 1.0, last = 1.0 / std::pow(500000.0, (l3.head_dim - 2.0) / l3.head_dim);
  EXPECT_FLOAT_EQ(inv[0], base0);                     // short wavelength: kept
  EXPECT_NEAR(inv.back(), last / 8.0, last * 1e-5);   // long wavelength: divided by the factor
  const ModelConfig v3 = test::tiny("tiny-deepseek-v3");
  EXPECT_FLOAT_EQ(v3.rope_attention_factor(), 1.0f);  // mscale == mscale_all_dim
  const double m = 0.1 * std::log(4.0) + 1.0;
  EXPECT_NEAR(v3.softmax_scale(), m * m / std::sqrt(48.0), 1e-9);
  const ModelConfig qwen = test::tiny("tiny-qwen2");
  EXPECT_NEAR(qwen.rope_attention_factor(), 0.1 * std::log(4.0) + 1.0, 1e-6);
}

}  // namespace
}  // namespace aidc
