#include "core/model/config.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <sstream>

#include "core/common/error.hpp"
#include "core/model/json.hpp"

namespace aidc {
namespace {

// Bounds on a config's sizes: far above any published model (DeepSeek-V3: hidden 7168, 61 layers, 256
// experts; Llama 3.1 405B: hidden 16384, intermediate 53248; vocabularies up to 256 K), and low enough
// that every product of them the engine and the simulator form stays within its integer type.
constexpr int kMaxWidth = 1 << 17;  // hidden, intermediate, head and latent dimensions
constexpr int kMaxLayers = 1024, kMaxHeads = 1024, kMaxExperts = 4096;
constexpr int kMaxVocab = 1 << 22, kMaxPosition = 1 << 24;

std::string bounds(int lo, int hi) { return std::to_string(lo) + " to " + std::to_string(hi); }

struct Fields {
  const Json& root;
  const std::string& source;

  const Json* get(const std::string& key) const {
    const Json* v = root.find(key);
    return v && !v->is_null() ? v : nullptr;
  }
  double number(const std::string& key, const Json* v) const {
    if (!v->is_number() || !std::isfinite(v->as_number())) fail(source + ": field '" + key + "' must be a finite number");
    return v->as_number();
  }
  int integer(const std::string& key, int lo, int hi) const {
    const Json* v = get(key);
    if (!v) fail(source + ": missing required field '" + key + "'");
    double d = number(key, v);
    if (d != std::floor(d) || d < lo || d > hi) fail(source + ": field '" + key + "' must be a whole number from " + bounds(lo, hi));
    return static_cast<int>(d);
  }
  int integer_or(const std::string& key, int fallback, int lo, int hi) const { return get(key) ? integer(key, lo, hi) : fallback; }
  // A real number in [lo, hi]; with `open_low`, above lo (a factor something is divided by).
  double real_or(const std::string& key, double fallback, double lo, double hi, bool open_low = false) const {
    const Json* v = get(key);
    if (!v) return fallback;
    const double d = number(key, v);
    if (d < lo || d > hi || (open_low && d == lo)) {
      std::ostringstream range;
      range << (open_low ? "above " : "from ") << lo << (open_low ? " and at most " : " to ") << hi;
      fail(source + ": field '" + key + "' must be " + range.str());
    }
    return d;
  }
  bool flag_or(const std::string& key, bool fallback) const {
    const Json* v = get(key);
    if (!v) return fallback;
    if (v->kind() != Json::Kind::Bool) fail(source + ": field '" + key + "' must be true or false");
    return v->as_bool();
  }
  std::string text_or(const std::string& key, const std::string& fallback) const {
    const Json* v = get(key);
    if (!v) return fallback;
    if (!v->is_string()) fail(source + ": field '" + key + "' must be a string");
    return v->as_string();
  }
};

double yarn_mscale(double factor, double mscale) {
  return factor <= 1.0 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0;
}

RopeConfig parse_rope(const Json& root, const std::string& source) {
  Fields f{root, source};
  RopeConfig rope;
  rope.theta = f.real_or("rope_theta", 10000.0, 1, 1e12, /*open_low=*/true);  // log(theta) divides
  const Json* s = f.get("rope_scaling");
  if (!s) return rope;
  if (!s->is_object()) fail(source + ": field 'rope_scaling' must be an object or null");
  Fields rs{*s, source};
  std::string type = rs.text_or("rope_type", rs.text_or("type", "default"));
  rope.factor = rs.real_or("factor", 1.0, 0, 1e6, /*open_low=*/true);
  if (type == "default") return rope;
  if (type == "linear") {
    rope.kind = RopeKind::Linear;
  } else if (type == "llama3") {
    rope.kind = RopeKind::Llama3;
    rope.low_freq_factor = rs.real_or("low_freq_factor", 1.0, 0, 1e6, /*open_low=*/true);
    rope.high_freq_factor = rs.real_or("high_freq_factor", 4.0, 0, 1e6, /*open_low=*/true);
    rope.original_max_position = rs.real_or("original_max_position_embeddings", 8192, 1, kMaxPosition);
    if (rope.high_freq_factor <= rope.low_freq_factor)  // the smoothing divides by their difference
      fail(source + ": field 'rope_scaling.high_freq_factor' must be above 'low_freq_factor'");
  } else if (type == "yarn") {
    rope.kind = RopeKind::Yarn;
    rope.original_max_position = rs.real_or("original_max_position_embeddings", 4096, 1, kMaxPosition);
    rope.beta_fast = rs.real_or("beta_fast", 32.0, 0, 1e6, /*open_low=*/true);
    rope.beta_slow = rs.real_or("beta_slow", 1.0, 0, 1e6, /*open_low=*/true);
    rope.mscale = rs.real_or("mscale", 1.0, 0, 1e6);
    rope.mscale_all_dim = rs.real_or("mscale_all_dim", 0.0, 0, 1e6);
  } else {
    fail(source + ": field 'rope_scaling.type' = '" + type + "' is not supported (default, linear, llama3, yarn)");
  }
  return rope;
}

// quantization_config: only DeepSeek-V3's own fp8 format is read; anything else would load wrong numbers.
WeightFormat parse_quantization(const Json& root, const std::string& source) {
  Fields f{root, source};
  const Json* q = f.get("quantization_config");
  if (!q) return WeightFormat::Bf16;
  if (!q->is_object()) fail(source + ": field 'quantization_config' must be an object or null");
  Fields qf{*q, source};
  // fmt and activation_scheme may be left out (transformers' FineGrainedFP8Config writes neither): e4m3, dynamic.
  auto expect = [&](const std::string& key, const std::string& wanted, bool required) {
    const std::string got = qf.text_or(key, required ? "" : wanted);
    if (got != wanted)
      fail(source + ": field 'quantization_config." + key + "' = '" + got + "' is not supported (expected '" + wanted +
           "': fp8 e4m3 weights with 128x128 block scales, DeepSeek-V3's format)");
  };
  expect("quant_method", "fp8", true);
  expect("fmt", "e4m3", false);
  expect("activation_scheme", "dynamic", false);
  const Json* block = qf.get("weight_block_size");
  const bool block_ok = block && block->is_array() && block->items().size() == 2 &&
                        std::all_of(block->items().begin(), block->items().end(), [](const Json& v) {
                          return v.is_number() && v.as_number() == kFp8BlockSize;
                        });
  if (!block_ok)
    fail(source + ": field 'quantization_config.weight_block_size' must be [128, 128] (the only block size supported)");
  return WeightFormat::Fp8Block;
}

}  // namespace

namespace {

// `source` names the file in every message: its path when read from one.
ModelConfig parse(const std::string& text, const std::string& name, const std::string& source) {
  Json root = Json::parse(text, source);
  if (!root.is_object()) fail(source + ": the top level must be a JSON object");
  Fields f{root, source};
  ModelConfig c;
  c.name = name;

  std::string model_type = f.text_or("model_type", "");
  std::string arch_name;
  if (const Json* a = f.get("architectures"); a && a->is_array() && !a->items().empty() && a->items()[0].is_string())
    arch_name = a->items()[0].as_string();
  if (model_type == "llama" || arch_name == "LlamaForCausalLM") c.arch = Arch::Llama;
  else if (model_type == "qwen2" || arch_name == "Qwen2ForCausalLM") c.arch = Arch::Qwen2;
  else if (model_type == "deepseek" || arch_name == "DeepseekForCausalLM") c.arch = Arch::DeepseekMoE;
  else if (model_type == "deepseek_v2" || arch_name == "DeepseekV2ForCausalLM") c.arch = Arch::DeepseekV2;
  else if (model_type == "deepseek_v3" || arch_name == "DeepseekV3ForCausalLM") c.arch = Arch::DeepseekV3;
  else fail(source + ": field 'model_type' = '" + model_type + "' is not supported (llama, qwen2, deepseek, deepseek_v2, deepseek_v3)");

  c.hidden = f.integer("hidden_size", 1, kMaxWidth);
  c.layers = f.integer("num_hidden_layers", 1, kMaxLayers);
  c.heads = f.integer("num_attention_heads", 1, kMaxHeads);
  c.kv_heads = f.integer_or("num_key_value_heads", c.heads, 1, kMaxHeads);
  c.intermediate = f.integer("intermediate_size", 1, kMaxWidth);
  c.vocab = f.integer("vocab_size", 1, kMaxVocab);
  c.max_position = f.integer_or("max_position_embeddings", 4096, 1, kMaxPosition);
  c.rms_eps = f.real_or("rms_norm_eps", 1e-6, 0, 1, /*open_low=*/true);
  c.tie_embeddings = f.flag_or("tie_word_embeddings", false);
  c.qkv_bias = c.arch == Arch::Qwen2 || f.flag_or("attention_bias", false);
  if (c.heads % c.kv_heads != 0)
    fail(source + ": field 'num_key_value_heads' (" + std::to_string(c.kv_heads) + ") must divide 'num_attention_heads' (" +
         std::to_string(c.heads) + ")");
  if (!f.get("head_dim") && c.heads > c.hidden)
    fail(source + ": field 'num_attention_heads' (" + std::to_string(c.heads) + ") exceeds 'hidden_size' (" +
         std::to_string(c.hidden) + "): the head size would be 0 (give 'head_dim')");
  c.head_dim = f.integer_or("head_dim", c.hidden / c.heads, 1, kMaxWidth);
  c.rope = parse_rope(root, source);
  c.weight_format = parse_quantization(root, source);

  if (c.arch == Arch::DeepseekMoE || c.arch == Arch::DeepseekV2 || c.arch == Arch::DeepseekV3) {
    MoEConfig& m = c.moe;
    m.n_routed_experts = f.integer_or("n_routed_experts", 0, 0, kMaxExperts);
    if (m.n_routed_experts > 0) {
      m.n_shared_experts = f.integer_or("n_shared_experts", 0, 0, kMaxExperts);
      m.experts_per_token = f.integer("num_experts_per_tok", 1, kMaxExperts);
      m.expert_intermediate = f.integer("moe_intermediate_size", 1, kMaxWidth);
      m.first_dense_layers = f.integer_or("first_k_dense_replace", 0, 0, kMaxLayers);
      m.layer_freq = f.integer_or("moe_layer_freq", 1, 1, kMaxLayers);
      m.norm_topk_prob = f.flag_or("norm_topk_prob", false);
      m.routed_scaling_factor = f.real_or("routed_scaling_factor", 1.0, 0, 1e6, /*open_low=*/true);
      m.n_group = f.integer_or("n_group", 1, 1, kMaxExperts);
      m.topk_group = f.integer_or("topk_group", 1, 1, kMaxExperts);
      std::string scoring = f.text_or("scoring_func", "softmax");
      std::string method = f.text_or("topk_method", "greedy");
      if (scoring == "sigmoid") m.routing = Routing::SigmoidGroupTopK;
      else if (scoring != "softmax") fail(source + ": field 'scoring_func' = '" + scoring + "' is not supported");
      else if (method == "group_limited_greedy") m.routing = Routing::SoftmaxGroupTopK;
      else if (method != "greedy") fail(source + ": field 'topk_method' = '" + method + "' is not supported with softmax");
      if (m.experts_per_token > m.n_routed_experts)
        fail(source + ": field 'num_experts_per_tok' exceeds 'n_routed_experts'");
      if (m.n_routed_experts % m.n_group != 0 || m.topk_group > m.n_group)
        fail(source + ": fields 'n_group'/'topk_group' do not divide the experts");
    }
  }
  if (c.arch == Arch::DeepseekV2 || c.arch == Arch::DeepseekV3) {
    MLAConfig& a = c.mla;
    a.enabled = true;
    a.q_lora_rank = f.integer_or("q_lora_rank", 0, 1, kMaxWidth);
    a.kv_lora_rank = f.integer("kv_lora_rank", 1, kMaxWidth);
    a.qk_nope_dim = f.integer("qk_nope_head_dim", 1, kMaxWidth);
    a.qk_rope_dim = f.integer("qk_rope_head_dim", 1, kMaxWidth);
    a.v_dim = f.integer("v_head_dim", 1, kMaxWidth);
    c.kv_heads = c.heads;  // MLA: every head reads the shared latent
  }
  if (c.rope_dim() % 2 != 0) fail(source + ": the rotary dimension must be even");
  return c;
}

}  // namespace

ModelConfig parse_model_config(const std::string& text, const std::string& name) {
  return parse(text, name, name + " config.json");
}

ModelConfig load_model_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("cannot open model config '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), std::filesystem::path(path).stem().string(), path);
}

int ModelConfig::moe_layer_count() const {
  int n = 0;
  for (int l = 0; l < layers; ++l) n += is_moe_layer(l);
  return n;
}

double ModelConfig::softmax_scale() const {
  double scale = 1.0 / std::sqrt(static_cast<double>(qk_dim()));
  if (mla.enabled && rope.kind == RopeKind::Yarn && rope.mscale_all_dim > 0) {
    double m = yarn_mscale(rope.factor, rope.mscale_all_dim);
    scale *= m * m;
  }
  return scale;
}

std::vector<float> ModelConfig::rope_inv_freq() const {
  const int dim = rope_dim();
  std::vector<float> inv(dim / 2);
  const double pi = std::numbers::pi;
  // Correction range of YaRN: dimensions that rotate fewer than beta times over the original context.
  auto correction_dim = [&](double rotations) {
    return dim * std::log(rope.original_max_position / (rotations * 2 * pi)) / (2 * std::log(rope.theta));
  };
  double low = std::max(0.0, std::floor(correction_dim(rope.beta_fast)));
  double high = std::min(dim - 1.0, std::ceil(correction_dim(rope.beta_slow)));
  if (low == high) high += 0.001;
  for (int i = 0; i < dim / 2; ++i) {
    double base = 1.0 / std::pow(rope.theta, 2.0 * i / dim);
    double f = base;
    switch (rope.kind) {
      case RopeKind::Default: break;
      case RopeKind::Linear: f = base / rope.factor; break;
      case RopeKind::Llama3: {
        double wavelen = 2 * pi / base;
        double low_wavelen = rope.original_max_position / rope.low_freq_factor;
        double high_wavelen = rope.original_max_position / rope.high_freq_factor;
        if (wavelen > low_wavelen) {
          f = base / rope.factor;
        } else if (wavelen >= high_wavelen) {
          double smooth = (rope.original_max_position / wavelen - rope.low_freq_factor) /
                          (rope.high_freq_factor - rope.low_freq_factor);
          f = (1 - smooth) * base / rope.factor + smooth * base;
        }
        break;
      }
      case RopeKind::Yarn: {
        double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
        double extrapolate = 1.0 - ramp;  // 1: keep the original frequency
        f = base / rope.factor * (1 - extrapolate) + base * extrapolate;
        break;
      }
    }
    inv[i] = static_cast<float>(f);
  }
  return inv;
}

float ModelConfig::rope_attention_factor() const {
  if (rope.kind != RopeKind::Yarn) return 1.0f;
  return static_cast<float>(yarn_mscale(rope.factor, rope.mscale) / yarn_mscale(rope.factor, rope.mscale_all_dim));
}

int64_t ModelConfig::attention_parameters_per_layer() const {
  if (mla.enabled) {
    const int64_t q = mla.q_lora_rank ? int64_t(hidden) * mla.q_lora_rank + int64_t(mla.q_lora_rank) * heads * qk_dim()
                                      : int64_t(hidden) * heads * qk_dim();
    const int64_t kv_down = int64_t(hidden) * (mla.kv_lora_rank + mla.qk_rope_dim);
    const int64_t kv_up = int64_t(mla.kv_lora_rank) * heads * (mla.qk_nope_dim + mla.v_dim);
    return q + kv_down + kv_up + int64_t(heads) * mla.v_dim * hidden;
  }
  const int64_t qkv_width = int64_t(heads + 2 * kv_heads) * head_dim;
  return hidden * qkv_width + int64_t(heads) * head_dim * hidden + (qkv_bias ? qkv_width : 0);
}

int64_t ModelConfig::norm_parameters_per_layer() const {
  return 2 * int64_t(hidden) + (mla.enabled ? mla.q_lora_rank + mla.kv_lora_rank : 0);
}

int64_t ModelConfig::router_parameters_per_layer() const {
  const int64_t correction_bias = moe.routing == Routing::SigmoidGroupTopK ? moe.n_routed_experts : 0;
  return int64_t(moe.n_routed_experts) * hidden + correction_bias;
}

int64_t ModelConfig::parameter_count() const {
  const int64_t moe_ffn = int64_t(moe.n_routed_experts + moe.n_shared_experts) * expert_parameters() +
                          router_parameters_per_layer();
  return embedding_parameters() + lm_head_parameters() + hidden /* final norm */ +
         int64_t(layers) * (attention_parameters_per_layer() + norm_parameters_per_layer()) +
         int64_t(dense_layer_count()) * dense_ffn_parameters_per_layer() + int64_t(moe_layer_count()) * moe_ffn;
}

int64_t ModelConfig::active_parameter_count() const {
  const int64_t idle_experts = int64_t(moe.n_routed_experts - moe.experts_per_token) * expert_parameters();
  const int64_t table = tie_embeddings ? 0 : embedding_parameters();  // tied: the table is also the lm_head
  return parameter_count() - table - moe_layer_count() * idle_experts;
}

double ModelConfig::expected_experts_touched(double tokens) const {
  if (!is_moe()) return 0;
  const double experts = moe.n_routed_experts, k = moe.experts_per_token;
  return experts * (1.0 - std::pow(1.0 - k / experts, tokens));
}

double ModelConfig::decode_weight_bytes(double sequences, double bytes_per_value) const {
  const double extra_experts = is_moe() ? expected_experts_touched(sequences) - moe.experts_per_token : 0.0;
  return (double(active_parameter_count()) + moe_layer_count() * extra_experts * double(expert_parameters())) *
         bytes_per_value;
}

const char* architecture_name(Arch arch) {
  switch (arch) {
    case Arch::Llama: return "llama";
    case Arch::Qwen2: return "qwen2";
    case Arch::DeepseekMoE: return "deepseek";
    case Arch::DeepseekV2: return "deepseek_v2";
    case Arch::DeepseekV3: return "deepseek_v3";
  }
  return "llama";
}

}  // namespace aidc
