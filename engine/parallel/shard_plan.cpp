#include "parallel/shard_plan.h"

#include <algorithm>

#include "common/error.h"

namespace aidc {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Block `index` of `parts` equal blocks of `n` things each `width` wide.
TensorShard block(TensorShard::Kind kind, int64_t n, int parts, int index, int64_t width = 1) {
  return {kind, index * (n / parts) * width, (n / parts) * width};
}

// gate/up split by output rows, down by input columns: the intermediate in `parts` slices.
TensorShard ffn_shard(const std::string& name, int64_t intermediate, int parts, int index) {
  if (ends_with(name, "down_proj.weight")) return block(TensorShard::Columns, intermediate, parts, index);
  return block(TensorShard::Rows, intermediate, parts, index);
}

std::string parts_text(int n) { return std::to_string(n) + " equal part" + (n > 1 ? "s" : ""); }

}  // namespace

ShardPlan::ShardPlan(const ModelConfig& m, ParallelSpec spec) : model_(m), spec_(spec) {
  const int tp = spec.tensor, ep = spec.expert, world = spec.world();
  require(tp >= 1 && ep >= 1, "tensor and expert parallel sizes must be at least 1");
  require(tp == 1 || ep == 1 || tp == ep, "tensor parallel " + std::to_string(tp) + " with expert parallel " +
                                              std::to_string(ep) + ": each must be 1 or the same size (the world)");
  const std::string tp_text = "tensor parallel " + std::to_string(tp) + ": ";
  if (tp > 1) {
    require(m.heads % tp == 0, tp_text + "the " + std::to_string(m.heads) + " attention heads of " + m.name +
                                   " do not split into " + parts_text(tp));
    if (!m.mla.enabled)
      require(m.kv_heads % tp == 0 || tp % m.kv_heads == 0,
              tp_text + "the " + std::to_string(m.kv_heads) + " KV heads of " + m.name + " neither split into " +
                  parts_text(tp) + " nor repeat evenly on " + std::to_string(tp) + " ranks");
    if (m.dense_layer_count() > 0)
      require(m.intermediate % tp == 0, tp_text + "the FFN intermediate size " + std::to_string(m.intermediate) + " of " +
                                            m.name + " does not split into " + parts_text(tp));
    if (m.is_moe() && ep == 1)
      require(m.moe.expert_intermediate % tp == 0,
              tp_text + "the expert intermediate size " + std::to_string(m.moe.expert_intermediate) + " of " + m.name +
                  " does not split into " + parts_text(tp) + " (expert parallel shards whole experts instead)");
  }
  if (ep > 1) {
    require(m.is_moe(), "expert parallel " + std::to_string(ep) + ": " + m.name + " has no routed experts");
    require(m.moe.n_routed_experts % ep == 0, "expert parallel " + std::to_string(ep) + ": the " +
                                                  std::to_string(m.moe.n_routed_experts) + " routed experts of " +
                                                  m.name + " do not split into " + parts_text(ep));
  }
  if (world > 1 && m.is_moe() && m.moe.n_shared_experts) {
    const int64_t shared = int64_t(m.moe.n_shared_experts) * m.moe.expert_intermediate;
    require(shared % world == 0, "parallel " + std::to_string(world) + ": the shared experts' intermediate size " +
                                     std::to_string(shared) + " of " + m.name + " does not split into " +
                                     parts_text(world));
  }
  vocab_split_ = tp > 1 && !m.tie_embeddings && m.vocab % tp == 0;
}

ModelConfig ShardPlan::rank_config() const {
  ModelConfig c = model_;
  c.heads /= spec_.tensor;
  c.kv_heads = c.mla.enabled ? c.heads : std::max(1, c.kv_heads / spec_.tensor);
  if (dense_ffn_split() && model_.dense_layer_count() > 0) c.intermediate /= spec_.tensor;
  return c;
}

int ShardPlan::first_expert(int rank) const {
  return spec_.expert > 1 ? rank * (model_.moe.n_routed_experts / spec_.expert) : 0;
}

int ShardPlan::last_expert(int rank) const {
  const int experts = model_.moe.n_routed_experts;
  return spec_.expert > 1 ? first_expert(rank) + experts / spec_.expert : experts;
}

TensorShard ShardPlan::shard(const TensorSpec& t, int rank) const {
  const ModelConfig& m = model_;
  const int tp = spec_.tensor;
  const std::string& n = t.name;
  if (world() == 1 || n == "model.embed_tokens.weight" || ends_with(n, "norm.weight")) return {};
  if (n == "lm_head.weight") return vocab_split_ ? block(TensorShard::Rows, m.vocab, tp, rank) : TensorShard{};
  if (n.find(".self_attn.") != std::string::npos) {
    if (tp == 1 || ends_with(n, "q_a_proj.weight") || ends_with(n, "kv_a_proj_with_mqa.weight")) return {};
    if (ends_with(n, "o_proj.weight")) return block(TensorShard::Columns, m.heads, tp, rank, m.v_dim());
    if (ends_with(n, "kv_b_proj.weight"))
      return block(TensorShard::Rows, m.heads, tp, rank, m.mla.qk_nope_dim + m.mla.v_dim);
    if (n.find("q_proj.") != std::string::npos || ends_with(n, "q_b_proj.weight"))
      return block(TensorShard::Rows, m.heads, tp, rank, m.qk_dim());
    if (n.find("k_proj.") != std::string::npos || n.find("v_proj.") != std::string::npos) {
      if (m.kv_heads >= tp) return block(TensorShard::Rows, m.kv_heads, tp, rank, m.head_dim);
      return {TensorShard::Rows, int64_t(rank / (tp / m.kv_heads)) * m.head_dim, m.head_dim};  // repeated KV head
    }
  }
  if (n.find(".mlp.") != std::string::npos) {
    if (ends_with(n, "mlp.gate.weight") || ends_with(n, "mlp.gate.e_score_correction_bias")) return {};
    if (n.find(".mlp.shared_experts.") != std::string::npos)
      return ffn_shard(n, int64_t(m.moe.n_shared_experts) * m.moe.expert_intermediate, world(), rank);
    const size_t experts = n.find(".mlp.experts.");
    if (experts != std::string::npos) {
      if (spec_.expert == 1) return ffn_shard(n, m.moe.expert_intermediate, tp, rank);
      const int e = std::stoi(n.substr(experts + std::string(".mlp.experts.").size()));
      return e >= first_expert(rank) && e < last_expert(rank) ? TensorShard{} : TensorShard{TensorShard::Absent};
    }
    return tp == 1 ? TensorShard{} : ffn_shard(n, m.intermediate, tp, rank);
  }
  fail("internal: the shard plan has no rule for tensor '" + n + "'");
}

std::vector<int64_t> shard_shape(const TensorSpec& t, const TensorShard& s) {
  std::vector<int64_t> shape = s.kind == TensorShard::Absent ? std::vector<int64_t>{} : t.shape;
  if (s.kind == TensorShard::Rows) shape[0] = s.count;
  if (s.kind == TensorShard::Columns) shape[1] = s.count;
  return shape;
}

std::vector<float> take_shard(const TensorSpec& t, const TensorShard& s, std::vector<float> whole) {
  const int64_t cols = t.shape.size() > 1 ? t.shape[1] : 1;
  switch (s.kind) {
    case TensorShard::Whole:
      return whole;  // moved out
    case TensorShard::Absent:
      return {};
    case TensorShard::Rows:
      return std::vector<float>(whole.begin() + s.begin * cols, whole.begin() + (s.begin + s.count) * cols);
    case TensorShard::Columns:
      break;
  }
  std::vector<float> out;
  out.reserve(size_t(t.shape[0] * s.count));
  for (int64_t r = 0; r < t.shape[0]; ++r)
    out.insert(out.end(), whole.begin() + r * cols + s.begin, whole.begin() + r * cols + s.begin + s.count);
  return out;
}

}  // namespace aidc
