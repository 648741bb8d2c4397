#pragma once
// CPU reference backend: Eigen, fp32 arithmetic on bf16-rounded weights. Plain and direct: it is the
// oracle the GPU path is tested against, and what CI runs on tiny configs.
#include <Eigen/Dense>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cpu/kernel_reference.h"
#include "model/weights.h"
#include "parallel/shard_plan.h"
#include "runtime/batch.h"

namespace aidc {

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec = Eigen::VectorXf;

class CpuModel : public Backend {
 public:
  // bf16_activations: round activations where the GPU path stores them as bf16 (GEMM inputs and
  // outputs, q/k/v, the KV cache), so GPU tests compare arithmetic, not storage precision.
  // `rank`: run as that rank of a tensor/expert-parallel group (engine/parallel): hold its shard of the
  // weights and its heads, skip other ranks' experts, and sum split blocks' outputs through its
  // communicator (the only parallel hooks: `summed` after each block, `gather_vocab` after lm_head).
  CpuModel(const ModelConfig& config, const WeightSource& weights, int kv_blocks, int block_tokens = 16,
           bool bf16_activations = false, std::optional<ModelRank> rank = std::nullopt);

  const ModelConfig& config() const override { return c_; }
  int kv_blocks() const override { return kv_blocks_; }
  int kv_block_tokens() const override { return block_tokens_; }
  void forward(const StepBatch& batch) override;
  std::vector<float> logits() override { return std::vector<float>(logits_.data(), logits_.data() + logits_.size()); }
  std::vector<int> sample(const std::vector<SampleRequest>& requests) override;
  void force_routing(ExpertChoices experts) override { forced_routing_ = std::move(experts); }
  void record_routing(bool on) override { record_routing_ = on; }
  ExpertChoices routing_trace() override { return std::move(routing_trace_); }

 private:
  struct TokenPlace {
    int seq;  // index into batch.seqs
    int pos;  // absolute position
  };
  const Mat& w(const std::string& name) const;
  float* cache_slot(int layer, const SeqChunk& s, int pos);
  Mat linear(const Mat& x, const std::string& weight, bool bf16_output = false) const;  // x W^T (+ bias)
  Mat& bf16(Mat& m) const;  // rounds in place in bf16_activations mode
  Mat rmsnorm(const Mat& x, const std::string& weight) const;
  void rope(float* v, int pos, bool interleaved) const;       // in place, rope_dim values
  Mat attention(int layer, const Mat& x, const StepBatch& b, const std::vector<TokenPlace>& places);
  Mat mla_attention(int layer, const Mat& x, const StepBatch& b, const std::vector<TokenPlace>& places);
  Mat ffn(const Mat& x, const std::string& prefix) const;
  // Shared + routed experts; `chosen` (or null) receives the experts taken, [token * k + slot].
  Mat moe(int layer, const Mat& x, const std::vector<int>* forced, std::vector<int>* chosen) const;
  bool holds_expert(int expert) const;
  // A block's output, plus the other ranks' partial outputs when the plan splits that block.
  Mat summed(Mat partial, bool (ShardPlan::*split)() const) const;
  void gather_vocab();  // vocab-parallel logits -> every rank's full rows

  ModelConfig c_;
  int kv_blocks_, block_tokens_;
  bool bf16_activations_;
  std::map<std::string, Mat> weights_;
  std::vector<std::vector<float>> cache_;  // per layer: [block][slot][kv_values_per_token]
  std::vector<float> inv_freq_;
  Mat logits_;
  ExpertChoices forced_routing_, routing_trace_;
  bool record_routing_ = false;
  std::optional<ModelRank> rank_;
};

// The routing rule's home is the kernel references (cpu/kernel_reference.h); its names as CpuModel's users know them.
using ref::Routed;
using ref::route_token;

}  // namespace aidc
