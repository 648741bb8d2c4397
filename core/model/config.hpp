#pragma once
// Model description read from a Hugging Face config.json (the simulator's catalog files, the
// engine's --model): plain C++, since the GPU machine builds the engine without other libraries.
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

// How a checkpoint stores its linear layers (config.json's quantization_config). Fp8Block: DeepSeek-V3's
// format, each projection weight fp8 e4m3 [out][in] with one fp32 scale per 128 x 128 block in
// `<name>_scale_inv` [ceil(out/128)][ceil(in/128)] (real weight = e4m3 value * scale), activations
// quantised at run time ("dynamic"); embeddings, norms, router and lm_head stay bf16.
enum class WeightFormat { Bf16, Fp8Block };
constexpr int kFp8BlockSize = 128;

struct MLAConfig {
  bool enabled = false;
  int q_lora_rank = 0;  // 0: plain q_proj
  int kv_lora_rank = 0;
  int qk_nope_dim = 0, qk_rope_dim = 0, v_dim = 0;
};

// The one model description (Hugging Face config.json) the engine runs and the simulator sizes.
// Parameter counts are the checkpoint's tensors: every projection, bias, norm, router, both
// embedding tables unless tied; the multi-token-prediction module of DeepSeek-V3 is left out (its
// config's num_hidden_layers excludes it, and nothing here runs it). tests/core/model_test.cpp
// settles the counts against the published figures.
struct ModelConfig {
  std::string name;  // file stem: the catalog id, and the name in messages and profiles
  Arch arch = Arch::Llama;
  int hidden = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, intermediate = 0, vocab = 0;
  int max_position = 4096;  // max_position_embeddings: the longest context
  double rms_eps = 1e-6;
  bool qkv_bias = false;  // Qwen2 always; Llama when attention_bias
  bool tie_embeddings = false;
  RopeConfig rope;
  MoEConfig moe;
  MLAConfig mla;
  WeightFormat weight_format = WeightFormat::Bf16;

  bool is_moe() const { return moe.n_routed_experts > 0; }
  bool is_moe_layer(int layer) const {
    return is_moe() && layer >= moe.first_dense_layers && layer % moe.layer_freq == 0;
  }
  int moe_layer_count() const;
  int dense_layer_count() const { return layers - moe_layer_count(); }
  // Per-token query/key width (MLA: nope + rope) and value width.
  int qk_dim() const { return mla.enabled ? mla.qk_nope_dim + mla.qk_rope_dim : head_dim; }
  int v_dim() const { return mla.enabled ? mla.v_dim : head_dim; }
  int rope_dim() const { return mla.enabled ? mla.qk_rope_dim : head_dim; }
  // Values stored in the KV cache per token per layer (MLA: latent + rope key = 576 for V2/V3).
  int kv_values_per_token() const {
    return mla.enabled ? mla.kv_lora_rank + mla.qk_rope_dim : 2 * kv_heads * head_dim;
  }
  // KV-cache bytes per token over all layers, at `bytes_per_value` per cached value.
  double kv_bytes_per_token(double bytes_per_value) const { return double(kv_values_per_token()) * layers * bytes_per_value; }
  double softmax_scale() const;
  // Rotary inverse frequencies (rope_dim/2) and the cos/sin multiplier YaRN asks for.
  std::vector<float> rope_inv_freq() const;
  float rope_attention_factor() const;

  // Parameters, split the way the performance models shard and time them.
  int64_t embedding_parameters() const { return int64_t(vocab) * hidden; }  // the input table
  int64_t lm_head_parameters() const { return tie_embeddings ? 0 : int64_t(vocab) * hidden; }
  int64_t attention_parameters_per_layer() const;  // projections and their biases
  int64_t norm_parameters_per_layer() const;       // RMSNorm weights (MLA adds its q/kv latent norms)
  int64_t dense_ffn_parameters_per_layer() const { return 3 * int64_t(hidden) * intermediate; }
  int64_t expert_parameters() const { return 3 * int64_t(hidden) * moe.expert_intermediate; }  // one expert
  int64_t router_parameters_per_layer() const;     // gate (and V3's score-correction bias), MoE layers
  int64_t parameter_count() const;
  // Parameters one token multiplies through at batch 1: everything but the embedding table (a token
  // reads one row of it) and the routed experts it is not sent to.
  int64_t active_parameter_count() const;
  // Expected distinct routed experts per MoE layer that `tokens` tokens touch, each picking k of E
  // uniformly: E (1 - (1 - k/E)^tokens).
  double expected_experts_touched(double tokens) const;
  // Weight bytes one decode step of `sequences` sequences reads: the active parameters plus the
  // further routed experts the batch is expected to touch.
  double decode_weight_bytes(double sequences, double bytes_per_value) const;
};

// The model_type names of config.json (and of calibration profiles' metadata.architecture).
const char* architecture_name(Arch arch);

ModelConfig load_model_config(const std::string& path);
ModelConfig parse_model_config(const std::string& json_text, const std::string& name);

}  // namespace aidc
