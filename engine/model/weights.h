#pragma once
// The tensors a model needs (Hugging Face names and shapes) and where their values come from:
// a safetensors checkpoint, or deterministic random values from a seed (identical on CPU and GPU).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/model/config.hpp"
#include "model/safetensors.h"

namespace aidc {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  float init_scale = 0;     // random weights: uniform(-scale, scale)
  float init_offset = 0;    // random weights: added (norm gains are 1 + noise)
  // Stored as fp8 e4m3 with 128x128 block scales (WeightFormat::Fp8Block): the codes under `name`,
  // the fp32 scales under scale_name() with scale_shape().
  bool fp8 = false;
  int64_t numel() const;
  std::string scale_name() const { return name + "_scale_inv"; }  // X.weight -> X.weight_scale_inv
  std::vector<int64_t> scale_shape() const;                        // [ceil(out/128), ceil(in/128)]
};

// An fp8 tensor as stored: e4m3 codes [out][in] and block scales [ceil(out/128)][ceil(in/128)].
struct Fp8Tensor {
  std::vector<uint8_t> codes;
  std::vector<float> scales;
};

std::vector<TensorSpec> expected_tensors(const ModelConfig& config);
std::string layer_prefix(int layer);  // "model.layers.<layer>."

class WeightSource {
 public:
  static WeightSource random(uint64_t seed);
  static WeightSource from_safetensors(const std::string& path);

  bool is_random() const { return !index_; }
  uint64_t seed() const { return seed_; }
  // Values as float, rounded to bf16 (the engine's weight precision). Checks presence, shape, and that
  // every value is finite. fp8 specs: e4m3 value * block scale in fp32, unrounded (DeepSeek-V3's dequantisation).
  std::vector<float> read(const TensorSpec& spec) const;
  // An fp8 spec's codes and scales as stored, checked (no NaN code, every scale finite, each named);
  // random: codes e4m3(448 u) and every scale init_scale / 448, so values spread over (-scale, scale).
  Fp8Tensor read_fp8(const TensorSpec& spec) const;
  // The random stream of one tensor (a hash of its name and the seed).
  uint64_t stream(const TensorSpec& spec) const;
  // Checks that every expected tensor is present with its shape; names the first that is not.
  void validate(const std::vector<TensorSpec>& specs) const;
  // Reads every tensor once and names each one that is missing, misshapen or holds NaN or infinity
  // (all of them, not only the first): the opt-in check of a whole checkpoint before serving it.
  void scan(const std::vector<TensorSpec>& specs) const;

 private:
  uint64_t seed_ = 0;
  std::shared_ptr<SafetensorsIndex> index_;
};

}  // namespace aidc
