#include "model/weights.h"

#include <cmath>

#include "common/error.h"
#include "common/fp8.h"
#include "cpu/fp8_reference.h"
#include "common/numeric.h"

namespace aidc {

int64_t TensorSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<int64_t> TensorSpec::scale_shape() const {
  std::vector<int64_t> grid;
  for (int64_t d : shape) grid.push_back((d + kFp8BlockSize - 1) / kFp8BlockSize);
  return grid;
}

std::string layer_prefix(int layer) { return "model.layers." + std::to_string(layer) + "."; }

std::vector<TensorSpec> expected_tensors(const ModelConfig& c) {
  std::vector<TensorSpec> t;
  // Uniform(-a, a) has variance a^2/3: a = sqrt(3/fan_in) keeps activations near unit scale.
  // DeepSeek-V3's fp8 checkpoints quantise the projections; the router and lm_head stay bf16.
  const bool fp8 = c.weight_format == WeightFormat::Fp8Block;
  auto linear = [&](const std::string& name, int64_t out, int64_t in, bool quantised = true) {
    t.push_back({name, {out, in}, static_cast<float>(std::sqrt(3.0 / in)), 0, fp8 && quantised});
  };
  auto vector = [&](const std::string& name, int64_t n, float scale, float offset) {
    t.push_back({name, {n}, scale, offset});
  };
  auto ffn = [&](const std::string& p, int64_t inter) {
    linear(p + "gate_proj.weight", inter, c.hidden);
    linear(p + "up_proj.weight", inter, c.hidden);
    linear(p + "down_proj.weight", c.hidden, inter);
  };
  t.push_back({"model.embed_tokens.weight", {c.vocab, c.hidden}, 1.0f, 0});
  for (int l = 0; l < c.layers; ++l) {
    const std::string p = layer_prefix(l);
    vector(p + "input_layernorm.weight", c.hidden, 0.1f, 1.0f);
    vector(p + "post_attention_layernorm.weight", c.hidden, 0.1f, 1.0f);
    const std::string a = p + "self_attn.";
    if (c.mla.enabled) {
      const MLAConfig& m = c.mla;
      if (m.q_lora_rank) {
        linear(a + "q_a_proj.weight", m.q_lora_rank, c.hidden);
        vector(a + "q_a_layernorm.weight", m.q_lora_rank, 0.1f, 1.0f);
        linear(a + "q_b_proj.weight", int64_t(c.heads) * c.qk_dim(), m.q_lora_rank);
      } else {
        linear(a + "q_proj.weight", int64_t(c.heads) * c.qk_dim(), c.hidden);
      }
      linear(a + "kv_a_proj_with_mqa.weight", m.kv_lora_rank + m.qk_rope_dim, c.hidden);
      vector(a + "kv_a_layernorm.weight", m.kv_lora_rank, 0.1f, 1.0f);
      linear(a + "kv_b_proj.weight", int64_t(c.heads) * (m.qk_nope_dim + m.v_dim), m.kv_lora_rank);
      linear(a + "o_proj.weight", c.hidden, int64_t(c.heads) * m.v_dim);
    } else {
      linear(a + "q_proj.weight", int64_t(c.heads) * c.head_dim, c.hidden);
      linear(a + "k_proj.weight", int64_t(c.kv_heads) * c.head_dim, c.hidden);
      linear(a + "v_proj.weight", int64_t(c.kv_heads) * c.head_dim, c.hidden);
      if (c.qkv_bias) {
        vector(a + "q_proj.bias", int64_t(c.heads) * c.head_dim, 0.1f, 0);
        vector(a + "k_proj.bias", int64_t(c.kv_heads) * c.head_dim, 0.1f, 0);
        vector(a + "v_proj.bias", int64_t(c.kv_heads) * c.head_dim, 0.1f, 0);
      }
      linear(a + "o_proj.weight", c.hidden, int64_t(c.heads) * c.head_dim);
    }
    if (c.is_moe_layer(l)) {
      const MoEConfig& m = c.moe;
      linear(p + "mlp.gate.weight", m.n_routed_experts, c.hidden, false);
      if (m.routing == Routing::SigmoidGroupTopK)
        vector(p + "mlp.gate.e_score_correction_bias", m.n_routed_experts, 0.1f, 0);
      for (int e = 0; e < m.n_routed_experts; ++e) ffn(p + "mlp.experts." + std::to_string(e) + ".", m.expert_intermediate);
      if (m.n_shared_experts) ffn(p + "mlp.shared_experts.", int64_t(m.expert_intermediate) * m.n_shared_experts);
    } else {
      ffn(p + "mlp.", c.intermediate);
    }
  }
  vector("model.norm.weight", c.hidden, 0.1f, 1.0f);
  if (!c.tie_embeddings) linear("lm_head.weight", c.vocab, c.hidden, false);
  return t;
}

WeightSource WeightSource::random(uint64_t seed) {
  WeightSource w;
  w.seed_ = seed;
  return w;
}

WeightSource WeightSource::from_safetensors(const std::string& path) {
  WeightSource w;
  w.index_ = std::make_shared<SafetensorsIndex>(SafetensorsIndex::open(path));
  return w;
}

uint64_t WeightSource::stream(const TensorSpec& spec) const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the name
  for (char ch : spec.name) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
  return mix64(h ^ mix64(seed_));
}

static std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

void WeightSource::scan(const std::vector<TensorSpec>& specs) const {
  if (!index_) return;
  std::string problems;
  for (const TensorSpec& spec : specs) {
    try {
      read(spec);
    } catch (const EngineError& e) {
      problems += std::string(problems.empty() ? "" : "\n") + e.what();
    }
  }
  if (!problems.empty()) fail(problems);
}

void WeightSource::validate(const std::vector<TensorSpec>& specs) const {
  if (!index_) return;
  auto check = [&](const std::string& name, const std::vector<int64_t>& shape, const std::string& what) {
    const TensorEntry* e = index_->find(name);
    if (!e) fail("weights: missing tensor '" + name + "'" + what + " (expected shape " + shape_text(shape) + ")");
    if (e->shape != shape)
      fail("weights: tensor '" + name + "' has shape " + shape_text(e->shape) + ", expected " + shape_text(shape) + what);
    return e;
  };
  for (const TensorSpec& spec : specs) {
    const TensorEntry* e = check(spec.name, spec.shape, "");
    if (!spec.fp8) {
      if (e->dtype == DType::F8_E4M3)
        fail("weights: tensor '" + spec.name + "' is F8_E4M3, but config.json's quantization_config does not make it "
             "an fp8 block-scaled linear (only projections are; embeddings, norms, router and lm_head stay bf16)");
      continue;
    }
    if (e->dtype != DType::F8_E4M3)
      fail("weights: tensor '" + spec.name + "' has dtype " + dtype_name(e->dtype) +
           ", expected F8_E4M3 (config.json's quantization_config says fp8)");
    const TensorEntry* s = check(spec.scale_name(), spec.scale_shape(), " (the 128x128 block scales of '" + spec.name + "')");
    if (s->dtype != DType::F32)
      fail("weights: tensor '" + spec.scale_name() + "' has dtype " + dtype_name(s->dtype) + ", expected F32");
  }
}

// The first element of `values` that is NaN or infinite, and how many are; a model with one runs on
// and answers garbage, so a checkpoint holding any is refused by name.
static void require_finite(const std::string& name, const std::vector<float>& values) {
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]) && bad++ == 0) first = i;
  if (bad)
    fail("weights: tensor '" + name + "' holds " + std::to_string(bad) + " NaN or infinite value" + (bad > 1 ? "s" : "") +
         " (the first at element " + std::to_string(first) + ")");
}

Fp8Tensor WeightSource::read_fp8(const TensorSpec& spec) const {
  require(spec.fp8, "internal: '" + spec.name + "' is not an fp8 tensor");
  Fp8Tensor t;
  if (!index_) {
    const uint64_t s = stream(spec);
    t.codes.resize(spec.numel());
    for (size_t i = 0; i < t.codes.size(); ++i) t.codes[i] = float_to_e4m3(kE4m3Max * hash_uniform(s, i));
    const std::vector<int64_t> grid = spec.scale_shape();
    t.scales.assign(size_t(grid[0]) * grid[1], spec.init_scale / kE4m3Max);
    return t;
  }
  validate({spec});
  t.codes = index_->read_bytes(spec.name);
  t.scales = index_->read_float(spec.scale_name());
  size_t nan_codes = 0;
  for (uint8_t code : t.codes) nan_codes += (code & 0x7F) == 0x7F;
  if (nan_codes)
    fail("weights: tensor '" + spec.name + "' holds " + std::to_string(nan_codes) + " NaN code" + (nan_codes > 1 ? "s" : "") +
         " (0x7F/0xFF)");
  require_finite(spec.scale_name(), t.scales);
  return t;
}

std::vector<float> WeightSource::read(const TensorSpec& spec) const {
  if (spec.fp8) {
    const Fp8Tensor t = read_fp8(spec);
    return ref::dequantize_fp8(t.codes.data(), t.scales.data(), spec.shape[0], spec.shape[1]);
  }
  if (index_) {
    validate({spec});
    std::vector<float> v = index_->read_float(spec.name);
    require_finite(spec.name, v);
    for (float& x : v) x = round_to_bf16(x);
    return v;
  }
  std::vector<float> v(spec.numel());
  const uint64_t s = stream(spec);
  for (size_t i = 0; i < v.size(); ++i) v[i] = round_to_bf16(spec.init_offset + spec.init_scale * hash_uniform(s, i));
  return v;
}

}  // namespace aidc
