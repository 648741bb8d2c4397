#include "cpu/cpu_model.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/numeric.h"
#include "parallel/communicator.h"
#include "runtime/sampling.h"

namespace aidc {

CpuModel::CpuModel(const ModelConfig& config, const WeightSource& source, int kv_blocks, int block_tokens,
                   bool bf16_activations, std::optional<ModelRank> rank)
    : c_(rank ? rank->plan.rank_config() : config),
      kv_blocks_(kv_blocks),
      block_tokens_(block_tokens),
      bf16_activations_(bf16_activations),
      rank_(rank) {
  for (const TensorSpec& spec : expected_tensors(config)) {
    const TensorShard shard = rank_ ? rank_->plan.shard(spec, rank_->rank) : TensorShard{};
    if (shard.kind == TensorShard::Absent) continue;  // another rank's routed expert
    std::vector<float> v = take_shard(spec, shard, source.read(spec));
    const std::vector<int64_t> shape = shard_shape(spec, shard);
    weights_[spec.name] = Eigen::Map<Mat>(v.data(), shape[0], shape.size() > 1 ? shape[1] : 1);
  }
  cache_.assign(c_.layers, std::vector<float>(size_t(kv_blocks) * block_tokens * c_.kv_values_per_token()));
  inv_freq_ = c_.rope_inv_freq();
}

const Mat& CpuModel::w(const std::string& name) const {
  auto it = weights_.find(name);
  if (it == weights_.end()) fail("internal: weight '" + name + "' not loaded");
  return it->second;
}

float* CpuModel::cache_slot(int layer, const SeqChunk& s, int pos) {
  const int block = s.blocks.at(pos / block_tokens_);
  require(block >= 0 && block < kv_blocks_, "block table entry out of range");
  return cache_[layer].data() + (size_t(block) * block_tokens_ + pos % block_tokens_) * c_.kv_values_per_token();
}

Mat& CpuModel::bf16(Mat& m) const {
  if (bf16_activations_) m = m.unaryExpr([](float v) { return round_to_bf16(v); });
  return m;
}

Mat CpuModel::linear(const Mat& x, const std::string& weight, bool bf16_output) const {
  Mat y = x * w(weight + ".weight").transpose();
  if (bf16_output) bf16(y);
  auto bias = weights_.find(weight + ".bias");
  if (bias != weights_.end()) y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias->second.data(), y.cols());
  return y;
}

Mat CpuModel::rmsnorm(const Mat& x, const std::string& weight) const {
  Mat y(x.rows(), x.cols());
  const Mat& g = w(weight);
  for (int r = 0; r < x.rows(); ++r)
    ref::rmsnorm_row(&x(r, 0), g.data(), &y(r, 0), static_cast<int>(x.cols()), static_cast<float>(c_.rms_eps));
  return bf16(y);
}

// Llama/Qwen rotate the two halves of a head (i, i + d/2); DeepSeek's MLA rotates adjacent pairs
// (2i, 2i + 1). Either way pair i turns by pos * inv_freq[i].
void CpuModel::rope(float* v, int pos, bool interleaved) const {
  ref::rope(v, c_.rope_dim(), pos, inv_freq_.data(), c_.rope_attention_factor(), interleaved);
}

Mat CpuModel::attention(int layer, const Mat& x, const StepBatch& b, const std::vector<TokenPlace>& places) {
  const std::string p = layer_prefix(layer) + "self_attn.";
  const int hd = c_.head_dim, kvw = c_.kv_heads * hd, group = c_.heads / c_.kv_heads;
  Mat q = linear(x, p + "q_proj", true), k = linear(x, p + "k_proj", true), v = linear(x, p + "v_proj", true);
  bf16(v);
  for (int t = 0; t < x.rows(); ++t) {
    for (int h = 0; h < c_.heads; ++h) rope(&q(t, h * hd), places[t].pos, false);
    for (int h = 0; h < c_.kv_heads; ++h) rope(&k(t, h * hd), places[t].pos, false);
  }
  bf16(q);
  bf16(k);
  for (int t = 0; t < x.rows(); ++t) {
    float* slot = cache_slot(layer, b.seqs[places[t].seq], places[t].pos);
    std::copy_n(&k(t, 0), kvw, slot);
    std::copy_n(&v(t, 0), kvw, slot + kvw);
  }
  Mat out = Mat::Zero(x.rows(), c_.heads * hd);
  const float scale = static_cast<float>(c_.softmax_scale());
  for (int t = 0; t < x.rows(); ++t) {
    const SeqChunk& s = b.seqs[places[t].seq];
    const int ctx = places[t].pos + 1;  // causal: itself and everything before
    for (int h = 0; h < c_.heads; ++h) {
      const int kvh = h / group;
      std::vector<float> score(ctx);
      for (int j = 0; j < ctx; ++j) {
        const float* kj = cache_slot(layer, s, j) + kvh * hd;
        float dot = 0;
        for (int d = 0; d < hd; ++d) dot += q(t, h * hd + d) * kj[d];
        score[j] = dot * scale;
      }
      ref::softmax(score);
      for (int j = 0; j < ctx; ++j) {
        const float* vj = cache_slot(layer, s, j) + kvw + kvh * hd;
        for (int d = 0; d < hd; ++d) out(t, h * hd + d) += score[j] * vj[d];
      }
    }
  }
  return linear(bf16(out), p + "o_proj");
}

// MLA, written the plain way: the cache holds the normalised latent c (kv_lora_rank) and the rotated
// shared rope key (qk_rope_dim); keys and values of every head are re-expanded from c by kv_b_proj.
Mat CpuModel::mla_attention(int layer, const Mat& x, const StepBatch& b, const std::vector<TokenPlace>& places) {
  const std::string p = layer_prefix(layer) + "self_attn.";
  const MLAConfig& m = c_.mla;
  const int qk = c_.qk_dim(), rank = m.kv_lora_rank;
  Mat q = m.q_lora_rank ? linear(rmsnorm(linear(x, p + "q_a_proj"), p + "q_a_layernorm.weight"), p + "q_b_proj")
                        : linear(x, p + "q_proj");
  Mat kv_a = linear(x, p + "kv_a_proj_with_mqa");
  Mat latent = rmsnorm(kv_a.leftCols(rank), p + "kv_a_layernorm.weight");
  for (int t = 0; t < x.rows(); ++t) {
    for (int h = 0; h < c_.heads; ++h) rope(&q(t, h * qk + m.qk_nope_dim), places[t].pos, true);
    float* slot = cache_slot(layer, b.seqs[places[t].seq], places[t].pos);
    std::copy_n(&latent(t, 0), rank, slot);
    std::copy_n(&kv_a(t, rank), m.qk_rope_dim, slot + rank);
    rope(slot + rank, places[t].pos, true);
  }
  const Mat& kv_b = w(p + "kv_b_proj.weight");  // [heads * (nope + v), rank]
  Mat out = Mat::Zero(x.rows(), c_.heads * m.v_dim);
  const float scale = static_cast<float>(c_.softmax_scale());
  for (int t = 0; t < x.rows(); ++t) {
    const SeqChunk& s = b.seqs[places[t].seq];
    const int ctx = places[t].pos + 1;
    Mat cached(ctx, rank + m.qk_rope_dim);
    for (int j = 0; j < ctx; ++j) cached.row(j) = Eigen::Map<const Eigen::RowVectorXf>(cache_slot(layer, s, j), rank + m.qk_rope_dim);
    Mat expanded = cached.leftCols(rank) * kv_b.transpose();  // [ctx, heads * (nope + v)]
    for (int h = 0; h < c_.heads; ++h) {
      const int base = h * (m.qk_nope_dim + m.v_dim);
      std::vector<float> score(ctx);
      for (int j = 0; j < ctx; ++j) {
        float dot = 0;
        for (int d = 0; d < m.qk_nope_dim; ++d) dot += q(t, h * qk + d) * expanded(j, base + d);
        for (int d = 0; d < m.qk_rope_dim; ++d) dot += q(t, h * qk + m.qk_nope_dim + d) * cached(j, rank + d);
        score[j] = dot * scale;
      }
      ref::softmax(score);
      for (int j = 0; j < ctx; ++j)
        for (int d = 0; d < m.v_dim; ++d) out(t, h * m.v_dim + d) += score[j] * expanded(j, base + m.qk_nope_dim + d);
    }
  }
  return linear(out, p + "o_proj");
}

Mat CpuModel::ffn(const Mat& x, const std::string& prefix) const {
  Mat gate = linear(x, prefix + "gate_proj", true), up = linear(x, prefix + "up_proj", true);
  Mat act = gate.unaryExpr([](float g) { return g / (1.0f + std::exp(-g)); }).cwiseProduct(up);
  return linear(bf16(act), prefix + "down_proj");
}

Mat CpuModel::moe(int layer, const Mat& x, const std::vector<int>* forced, std::vector<int>* chosen) const {
  const std::string p = layer_prefix(layer) + "mlp.";
  const MoEConfig& m = c_.moe;
  Mat gate_logits = x * w(p + "gate.weight").transpose();
  auto bias = weights_.find(p + "gate.e_score_correction_bias");
  Mat out = m.n_shared_experts ? ffn(x, p + "shared_experts.") : Mat::Zero(x.rows(), x.cols());
  for (int t = 0; t < x.rows(); ++t) {
    Routed r = route_token(m, &gate_logits(t, 0), bias == weights_.end() ? nullptr : bias->second.data(),
                           forced ? forced->data() + size_t(t) * m.experts_per_token : nullptr);
    if (chosen) chosen->insert(chosen->end(), r.experts.begin(), r.experts.end());
    for (size_t i = 0; i < r.experts.size(); ++i)
      if (holds_expert(r.experts[i]))
        out.row(t) += r.weights[i] * ffn(x.row(t), p + "experts." + std::to_string(r.experts[i]) + ".");
  }
  return out;
}

bool CpuModel::holds_expert(int expert) const {
  return !rank_ || (expert >= rank_->plan.first_expert(rank_->rank) && expert < rank_->plan.last_expert(rank_->rank));
}

Mat CpuModel::summed(Mat partial, bool (ShardPlan::*split)() const) const {
  if (rank_ && (rank_->plan.*split)()) rank_->comm.all_reduce_sum(partial.data(), partial.size());
  return partial;
}

void CpuModel::gather_vocab() {
  const int world = rank_->comm.world();
  const Eigen::Index rows = logits_.rows(), part = logits_.cols();
  std::vector<float> all(size_t(world) * rows * part);
  rank_->comm.all_gather(logits_.data(), all.data(), size_t(rows) * part);
  logits_.resize(rows, part * world);
  for (int r = 0; r < world; ++r)
    logits_.middleCols(r * part, part) = Eigen::Map<Mat>(all.data() + size_t(r) * rows * part, rows, part);
}

void CpuModel::forward(const StepBatch& b) {
  std::vector<TokenPlace> places;
  for (int s = 0; s < static_cast<int>(b.seqs.size()); ++s)
    for (int i = 0; i < b.seqs[s].n_tokens; ++i) places.push_back({s, b.seqs[s].start_pos + i});
  require(places.size() == b.tokens.size(), "batch: token count does not match its sequences");
  const Mat& embed = w("model.embed_tokens.weight");
  Mat x(places.size(), c_.hidden);
  for (size_t t = 0; t < places.size(); ++t) {
    require(b.tokens[t] >= 0 && b.tokens[t] < c_.vocab, "token id " + std::to_string(b.tokens[t]) + " outside the vocabulary");
    x.row(t) = embed.row(b.tokens[t]);
  }
  const ExpertChoices forced = std::move(forced_routing_);  // this forward only
  forced_routing_.clear();
  if (!forced.empty()) require_valid_choices(c_, forced, static_cast<int>(places.size()));
  routing_trace_.clear();
  size_t moe_index = 0;
  for (int l = 0; l < c_.layers; ++l) {
    const std::string p = layer_prefix(l);
    Mat h = rmsnorm(x, p + "input_layernorm.weight");
    Mat attended = c_.mla.enabled ? mla_attention(l, h, b, places) : attention(l, h, b, places);
    x += summed(std::move(attended), &ShardPlan::attention_split);
    h = rmsnorm(x, p + "post_attention_layernorm.weight");
    if (c_.is_moe_layer(l)) {
      std::vector<int>* chosen = record_routing_ ? &routing_trace_.emplace_back() : nullptr;
      x += summed(moe(l, h, moe_index < forced.size() ? &forced[moe_index] : nullptr, chosen),
                  &ShardPlan::moe_split);
      ++moe_index;
    } else {
      x += summed(ffn(h, p + "mlp."), &ShardPlan::dense_ffn_split);
    }
  }
  std::vector<int> rows;
  int t = 0;
  for (const SeqChunk& s : b.seqs) {
    for (int i = 0; i < s.n_tokens; ++i, ++t)
      if (s.all_logits || i == s.n_tokens - 1) rows.push_back(t);
  }
  Mat last(rows.size(), c_.hidden);
  for (size_t r = 0; r < rows.size(); ++r) last.row(r) = x.row(rows[r]);
  const Mat& head = w(c_.tie_embeddings ? "model.embed_tokens.weight" : "lm_head.weight");
  logits_ = rmsnorm(last, "model.norm.weight") * head.transpose();
  if (rank_ && rank_->plan.vocab_split()) gather_vocab();
}

std::vector<int> CpuModel::sample(const std::vector<SampleRequest>& requests) {
  std::vector<int> tokens;
  for (const SampleRequest& r : requests) tokens.push_back(sample_token(&logits_(r.row, 0), c_.vocab, r.params, r.draw));
  return tokens;
}

}  // namespace aidc
