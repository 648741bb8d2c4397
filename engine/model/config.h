#pragma once
// Model description read from a Hugging Face config.json (the simulator's catalog files).
#include <cstdint>
#include <string>
#include <vector>

namespace aidc {

enum class Arch { Llama, Qwen2, DeepseekMoE, DeepseekV2, DeepseekV3 };
enum class RopeKind { Default, Linear, Llama3, Yarn };
enum class Routing { SoftmaxTopK, SoftmaxGroupTopK, SigmoidGroupTopK };

struct RopeConfig {
  RopeKind kind = RopeKind::Default;
  double theta = 10000.0;
  double factor = 1.0;
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  double original_max_position = 4096;                    // llama3, yarn
  double beta_fast = 32.0, beta_slow = 1.0;               // yarn
  double mscale = 1.0, mscale_all_dim = 0.0;              // yarn (DeepSeek names)
};

struct MoEConfig {
  int n_routed_experts = 0;  // 0: every FFN is dense
  int n_shared_experts = 0;
  int experts_per_token = 0;
  int expert_intermediate = 0;
  int first_dense_layers = 0;  // first_k_dense_replace
  int layer_freq = 1;          // moe_layer_freq
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  Routing routing = Routing::SoftmaxTopK;
  int n_group = 1, topk_group = 1;
};

struct MLAConfig {
  bool enabled = false;
  int q_lora_rank = 0;  // 0: plain q_proj
  int kv_lora_rank = 0;
  int qk_nope_dim = 0, qk_rope_dim = 0, v_dim = 0;
};

struct ModelConfig {
  std::string name;  // file stem, for messages and profiles
  Arch arch = Arch::Llama;
  int hidden = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, intermediate = 0, vocab = 0;
  int max_position = 4096;
  double rms_eps = 1e-6;
  bool qkv_bias = false;  // Qwen2 always; Llama when attention_bias
  bool tie_embeddings = false;
  RopeConfig rope;
  MoEConfig moe;
  MLAConfig mla;

  bool is_moe_layer(int layer) const {
    return moe.n_routed_experts > 0 && layer >= moe.first_dense_layers && layer % moe.layer_freq == 0;
  }
  int moe_layer_count() const;
  // Per-token query/key width (MLA: nope + rope) and value width.
  int qk_dim() const { return mla.enabled ? mla.qk_nope_dim + mla.qk_rope_dim : head_dim; }
  int v_dim() const { return mla.enabled ? mla.v_dim : head_dim; }
  int rope_dim() const { return mla.enabled ? mla.qk_rope_dim : head_dim; }
  // Values stored in the KV cache per token per layer (MLA: latent + rope key = 576 for V2/V3).
  int kv_values_per_token() const {
    return mla.enabled ? mla.kv_lora_rank + mla.qk_rope_dim : 2 * kv_heads * head_dim;
  }
  double softmax_scale() const;
  // Rotary inverse frequencies (rope_dim/2) and the cos/sin multiplier YaRN asks for.
  std::vector<float> rope_inv_freq() const;
  float rope_attention_factor() const;

  int64_t parameter_count() const;
  int64_t active_parameter_count() const;  // read per token at batch 1
};

ModelConfig load_model_config(const std::string& path);
ModelConfig parse_model_config(const std::string& json_text, const std::string& name);

}  // namespace aidc
