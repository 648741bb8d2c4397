#pragma once
// Tensor and expert parallelism as data: which part of each checkpoint tensor a rank holds, applied
// after loading (gpt-fast's tp.py), so the single-device model code runs unchanged on its shard and
// only sums partial outputs where the plan says a block is split. Plain C++: the CPU reference, the
// CUDA backend and the tests share it.
//
// The layout (Megatron's): q/k/v, gate/up and MLA's q (or q_b) and kv_b projections are split by
// output rows (column-parallel), o_proj and down_proj by input columns (row-parallel, partial sums
// all-reduced). KV heads are split with their query heads; when there are fewer KV heads than ranks,
// each is repeated on tensor / kv_heads ranks (vLLM's rule). MLA's latent projections (q_a, kv_a) and
// its cache are replicated. Routed experts are sharded whole by rank under expert parallelism (rank r
// holds experts [r E/ep, (r+1) E/ep)), else split like an FFN; the router is replicated, so every rank
// routes every token alike, computes its experts' part, and one all-reduce combines. Shared experts
// are split across all ranks (the MoE output is summed anyway). The embedding table is replicated (a
// token reads one row); lm_head is vocab-parallel (rows split, logits all-gathered) when untied and the
// vocabulary divides, else replicated.
#include <cstdint>
#include <string>
#include <vector>

#include "core/model/config.hpp"
#include "model/weights.h"

namespace aidc {

class Communicator;

// --tensor-parallel / --expert-parallel. The world is the larger; each is 1 or the world (tensor 2 with
// expert 2: attention split in two, experts in two halves).
struct ParallelSpec {
  int tensor = 1;
  int expert = 1;
  int world() const { return tensor > expert ? tensor : expert; }
};

// The part of one tensor a rank holds: all of it, a block of rows (dimension 0) or of columns
// (dimension 1; a vector has none), or nothing (a routed expert of another rank).
struct TensorShard {
  enum Kind { Whole, Rows, Columns, Absent } kind = Whole;
  int64_t begin = 0, count = 0;
};

class ShardPlan {
 public:
  // Throws EngineError naming the model dimension that does not divide (heads, KV heads, intermediate,
  // experts) or the spec that is not allowed.
  ShardPlan(const ModelConfig& model, ParallelSpec spec);

  const ModelConfig& model() const { return model_; }
  const ParallelSpec& spec() const { return spec_; }
  int world() const { return spec_.world(); }

  // The model as each rank runs it: its query and KV heads and its slice of the dense FFN's
  // intermediate; everything else as the whole model (MoE widths follow the rank's tensors' shapes).
  ModelConfig rank_config() const;
  TensorShard shard(const TensorSpec& tensor, int rank) const;
  // The routed experts rank `rank` computes: [first, last).
  int first_expert(int rank) const;
  int last_expert(int rank) const;

  // Blocks whose per-rank outputs are partial sums (all-reduced after their row-parallel linear).
  bool attention_split() const { return spec_.tensor > 1; }
  bool dense_ffn_split() const { return spec_.tensor > 1; }
  bool moe_split() const { return world() > 1; }
  // lm_head rows split: each rank computes vocab / tensor logits, all-gathered.
  bool vocab_split() const { return vocab_split_; }

 private:
  ModelConfig model_;
  ParallelSpec spec_;
  bool vocab_split_ = false;
};

// The shard's values out of the whole tensor's (row-major), and the shard's shape.
std::vector<float> take_shard(const TensorSpec& tensor, const TensorShard& shard, std::vector<float> whole);
std::vector<int64_t> shard_shape(const TensorSpec& tensor, const TensorShard& shard);

// One rank of a group, as a backend is built for it: the plan, its index, and the link to the others.
struct ModelRank {
  const ShardPlan& plan;
  int rank;
  Communicator& comm;
};

}  // namespace aidc
