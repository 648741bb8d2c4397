#include "cpu/kernel_reference.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "common/numeric.h"
#include "runtime/sampling.h"

namespace aidc::ref {

namespace {

float dot(const float* a, const float* b, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// The slot (block * block_tokens + offset) of position `pos` of sequence s.
int slot_of(const AttnSeqs& seqs, int s, int pos, int block_tokens) {
  return seqs.block_table[size_t(s) * seqs.table_stride + pos / block_tokens] * block_tokens + pos % block_tokens;
}

}  // namespace

void rmsnorm_row(const float* x, const float* gain, float* out, int hidden, float eps) {
  const float inv = 1.0f / std::sqrt(dot(x, x, hidden) / hidden + eps);
  for (int i = 0; i < hidden; ++i) out[i] = x[i] * inv * gain[i];
}

void rmsnorm(const float* x, const int* rows, const float* gain, float* out, int n_rows, int hidden, int in_stride,
             int out_stride, float eps) {
  for (int r = 0; r < n_rows; ++r) {
    float* o = out + size_t(r) * out_stride;
    rmsnorm_row(x + size_t(rows ? rows[r] : r) * in_stride, gain, o, hidden, eps);
    for (int i = 0; i < hidden; ++i) o[i] = round_to_bf16(o[i]);
  }
}

void embedding(const int* tokens, const float* table, float* x, int n_tokens, int hidden) {
  for (int t = 0; t < n_tokens; ++t) std::copy_n(table + size_t(tokens[t]) * hidden, hidden, x + size_t(t) * hidden);
}

float silu(float g) { return g / (1.0f + std::exp(-g)); }

void swiglu(const float* gate_up, float* act, int n_tokens, int inter) {
  for (int t = 0; t < n_tokens; ++t)
    for (int i = 0; i < inter; ++i) {
      const float* row = gate_up + size_t(t) * 2 * inter;
      act[size_t(t) * inter + i] = round_to_bf16(silu(row[i]) * row[inter + i]);
    }
}

void rope(float* v, int rope_dim, int pos, const float* inv_freq, float scale, bool interleaved) {
  const int half = rope_dim / 2;
  for (int i = 0; i < half; ++i) {
    const float angle = static_cast<float>(pos) * inv_freq[i];
    const float cs = std::cos(angle) * scale, sn = std::sin(angle) * scale;
    float& a = v[interleaved ? 2 * i : i];
    float& b = v[interleaved ? 2 * i + 1 : i + half];
    const float x0 = a, x1 = b;
    a = x0 * cs - x1 * sn;
    b = x1 * cs + x0 * sn;
  }
}

void rope_qkv_to_cache(const float* qkv, const QkvRope& r, int n_tokens) {
  const int hd = r.head_dim, width = (r.heads + 2 * r.kv_heads) * hd;
  std::vector<float> head(hd);
  for (int t = 0; t < n_tokens; ++t)
    for (int h = 0; h < r.heads + 2 * r.kv_heads; ++h) {
      for (int d = 0; d < hd; ++d) head[d] = qkv[size_t(t) * width + h * hd + d] + (r.bias ? r.bias[h * hd + d] : 0.0f);
      const bool is_v = h >= r.heads + r.kv_heads;
      if (!is_v) rope(head.data(), hd, r.positions[t], r.inv_freq, r.scale, false);
      float* dst = h < r.heads ? r.q_out + (size_t(t) * r.heads + h) * hd
                   : is_v      ? r.v_cache + kv_index(r.slots[t], h - r.heads - r.kv_heads, 0, r.kv_heads, r.block_tokens, hd)
                               : r.k_cache + kv_index(r.slots[t], h - r.heads, 0, r.kv_heads, r.block_tokens, hd);
      for (int d = 0; d < hd; ++d) dst[d] = round_to_bf16(head[d]);
    }
}

namespace {

// One (weights, input row) product into row `y` of `out_features` outputs, stored as gemv stores it.
void store_product(const float* w, const float* x, float* y, bool y_is_float, bool accumulate, float weight,
                   int out_features, int in_features, bool swiglu_output) {
  if (swiglu_output) {
    const int width = out_features / 2;
    for (int i = 0; i < width; ++i) {
      const float g = round_to_bf16(dot(w + size_t(i) * in_features, x, in_features));
      const float u = round_to_bf16(dot(w + size_t(width + i) * in_features, x, in_features));
      y[i] = round_to_bf16(silu(g) * u);
    }
    return;
  }
  for (int o = 0; o < out_features; ++o) {
    const float v = weight * dot(w + size_t(o) * in_features, x, in_features);
    y[o] = y_is_float ? (accumulate ? y[o] + v : v) : round_to_bf16(v);
  }
}

}  // namespace

void gemv(const float* w, const float* x, float* y, bool y_is_float, bool accumulate, int n_tokens, int out_features,
          int in_features, bool swiglu_output) {
  const int width = swiglu_output ? out_features / 2 : out_features;
  for (int t = 0; t < n_tokens; ++t)
    store_product(w, x + size_t(t) * in_features, y + size_t(t) * width, y_is_float, accumulate, 1.0f, out_features,
                  in_features, swiglu_output);
}

void gemv_rmsnorm(const float* w, const float* x, const float* gain, float eps, float* y, bool y_is_float, int n_tokens,
                  int out_features, int in_features, const QkvRope* rope, float* normed_out, bool swiglu_output) {
  std::vector<float> normed(size_t(n_tokens) * in_features);
  rmsnorm(x, nullptr, gain, normed.data(), n_tokens, in_features, in_features, in_features, eps);
  if (normed_out) std::copy(normed.begin(), normed.end(), normed_out);
  if (!rope) return gemv(w, normed.data(), y, y_is_float, false, n_tokens, out_features, in_features, swiglu_output);
  std::vector<float> qkv(size_t(n_tokens) * out_features);
  gemv(w, normed.data(), qkv.data(), false, false, n_tokens, out_features, in_features);
  rope_qkv_to_cache(qkv.data(), *rope, n_tokens);
}

void grouped_gemv(const float* w, const GemvGroups& g, const float* x, float* y, bool y_is_float, int n_pairs,
                  int out_features, int in_features, bool swiglu_output) {
  const bool combine = g.weight_of_pair != nullptr;
  for (int entry = 0; entry < n_pairs + g.shared.tokens; ++entry) {
    const bool pair = entry < n_pairs;
    const int out = pair ? out_features : g.shared.out_features, in = pair ? in_features : g.shared.in_features;
    const int width = swiglu_output ? out / 2 : out;
    const float* we = pair ? w + g.expert_of_pair[entry] * g.expert_stride : g.shared.w;
    const float* xe = pair ? x + size_t(entry / g.pairs_per_token) * in : g.shared.x + size_t(entry - n_pairs) * in;
    const int row = pair ? (combine ? entry / g.top_k : entry) : entry - n_pairs;
    float* ye = (pair || combine ? y : g.shared.y) + size_t(row) * width;
    store_product(we, xe, ye, y_is_float, combine, combine && pair ? g.weight_of_pair[entry] : 1.0f, out, in,
                  swiglu_output);
  }
}

void softmax(std::vector<float>& s) {
  const float m = *std::max_element(s.begin(), s.end());
  float sum = 0;
  for (float& x : s) sum += x = std::exp(x - m);
  for (float& x : s) x /= sum;
}

Routed route_token(const MoEConfig& moe, const float* gate_logits, const float* bias, const int* forced) {
  const int n = moe.n_routed_experts, k = moe.experts_per_token;
  std::vector<float> score(n), choice(n);
  const bool sigmoid = moe.routing == Routing::SigmoidGroupTopK;
  if (sigmoid) {
    for (int e = 0; e < n; ++e) score[e] = 1.0f / (1.0f + std::exp(-gate_logits[e]));
  } else {
    score.assign(gate_logits, gate_logits + n);
    softmax(score);
  }
  for (int e = 0; e < n; ++e) choice[e] = score[e] + (sigmoid && bias ? bias[e] : 0.0f);
  if (moe.routing != Routing::SoftmaxTopK && moe.n_group > 1) {
    // Keep the topk_group best groups; a group scores its best expert (V2) or its best two (V3).
    const int per = n / moe.n_group;
    std::vector<float> group_score(moe.n_group);
    for (int g = 0; g < moe.n_group; ++g) {
      std::vector<float> members(choice.begin() + g * per, choice.begin() + (g + 1) * per);
      std::sort(members.begin(), members.end(), std::greater<>());
      group_score[g] = sigmoid ? members[0] + (per > 1 ? members[1] : 0.0f) : members[0];
    }
    std::vector<int> order(moe.n_group);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return group_score[a] > group_score[b]; });
    for (int r = moe.topk_group; r < moe.n_group; ++r)
      for (int e = order[r] * per; e < (order[r] + 1) * per; ++e) choice[e] = 0.0f;
  }
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return choice[a] > choice[b]; });
  if (forced) std::copy(forced, forced + k, order.begin());
  Routed r;
  float sum = 0;
  for (int i = 0; i < k; ++i) {
    r.experts.push_back(order[i]);
    r.weights.push_back(score[order[i]]);
    sum += score[order[i]];
  }
  // DeepSeek V3 normalises then scales; V1/V2 normalise, or else scale.
  const bool normalise = moe.norm_topk_prob && k > 1;
  for (float& wt : r.weights) {
    if (normalise) wt /= sum + 1e-20f;
    if (sigmoid || !normalise) wt *= static_cast<float>(moe.routed_scaling_factor);
  }
  return r;
}

void moe_route(const float* gate_logits, const float* correction_bias, const MoEConfig& moe, int n_tokens,
               const int* forced_experts, int* expert_of_pair, float* weight_of_pair) {
  const int k = moe.experts_per_token;
  for (int t = 0; t < n_tokens; ++t) {
    const Routed r = route_token(moe, gate_logits + size_t(t) * moe.n_routed_experts, correction_bias,
                                 forced_experts ? forced_experts + size_t(t) * k : nullptr);
    std::copy(r.experts.begin(), r.experts.end(), expert_of_pair + size_t(t) * k);
    std::copy(r.weights.begin(), r.weights.end(), weight_of_pair + size_t(t) * k);
  }
}

MoeSorted moe_sort(const int* expert_of_pair, int n_pairs, int experts, int tile_rows) {
  MoeSorted s;
  std::vector<int> count(experts, 0);
  for (int p = 0; p < n_pairs; ++p) ++count[expert_of_pair[p]];
  s.expert_begin.assign(experts + 1, 0);
  s.tile_begin.assign(experts + 1, 0);
  for (int e = 0; e < experts; ++e) {
    s.expert_begin[e + 1] = s.expert_begin[e] + count[e];
    s.tile_begin[e + 1] = s.tile_begin[e] + (count[e] + tile_rows - 1) / tile_rows;
  }
  s.sorted_pair.resize(n_pairs);
  s.position_of_pair.resize(n_pairs);
  std::vector<int> cursor(s.expert_begin.begin(), s.expert_begin.end() - 1);
  for (int p = 0; p < n_pairs; ++p) {
    const int at = cursor[expert_of_pair[p]]++;
    s.sorted_pair[at] = p;
    s.position_of_pair[p] = at;
  }
  return s;
}

void moe_grouped_gemm(const float* a, bool gather_tokens, int top_k, const float* w, int64_t expert_stride,
                      const MoeSorted& sorted, int experts, int /*n_pairs: sorted's size*/, float* out, bool out_is_float, int out_features,
                      int in_features) {
  for (int e = 0; e < experts; ++e)
    for (int p = sorted.expert_begin[e]; p < sorted.expert_begin[e + 1]; ++p) {
      const int row = gather_tokens ? sorted.sorted_pair[p] / top_k : p;
      store_product(w + e * expert_stride, a + size_t(row) * in_features, out + size_t(p) * out_features, out_is_float,
                    false, 1.0f, out_features, in_features, false);
    }
}

void moe_combine(const float* expert_out, const int* position_of_pair, const float* weight_of_pair, float* x,
                 int n_tokens, int top_k, int hidden) {
  for (int t = 0; t < n_tokens; ++t)
    for (int i = 0; i < hidden; ++i) {
      float sum = 0;
      for (int slot = 0; slot < top_k; ++slot) {
        const int pair = t * top_k + slot;
        sum += weight_of_pair[pair] * expert_out[size_t(position_of_pair[pair]) * hidden + i];
      }
      x[size_t(t) * hidden + i] += sum;
    }
}

namespace {

// f(sequence, row of the new token in q / out, its causal context) for every new token of `seqs`.
void for_each_new_token(const AttnSeqs& seqs, const std::function<void(int s, int t, int context)>& f) {
  for (int s = 0; s < seqs.count(); ++s)
    for (int i = 0; i < seqs.n_new[s]; ++i) f(s, seqs.token_offset[s] + i, seqs.context[s] - seqs.n_new[s] + i + 1);
}

}  // namespace

void attention(const float* q, const float* k_cache, const float* v_cache, const AttnSeqs& seqs, float* out, int heads,
               int kv_heads, int head_dim, int block_tokens, float scale) {
  const int group = heads / kv_heads;
  for_each_new_token(seqs, [&](int s, int t, int context) {
    for (int h = 0; h < heads; ++h) {
      const int kvh = h / group;
      const float* qh = q + (size_t(t) * heads + h) * head_dim;
      std::vector<float> p(context);
      for (int j = 0; j < context; ++j)
        p[j] = scale * dot(qh, k_cache + kv_index(slot_of(seqs, s, j, block_tokens), kvh, 0, kv_heads, block_tokens, head_dim),
                           head_dim);
      softmax(p);
      std::vector<float> o(head_dim, 0.0f);
      for (int j = 0; j < context; ++j) {
        const float* v = v_cache + kv_index(slot_of(seqs, s, j, block_tokens), kvh, 0, kv_heads, block_tokens, head_dim);
        for (int d = 0; d < head_dim; ++d) o[d] += p[j] * v[d];
      }
      for (int d = 0; d < head_dim; ++d) out[(size_t(t) * heads + h) * head_dim + d] = round_to_bf16(o[d]);
    }
  });
}

void mla_prepare(const float* kv_a, int kv_a_stride, const float* q, int q_stride, const float* latent_gain,
                 const int* positions, const int* slots, const float* inv_freq, float rope_scale, float eps,
                 float* q_full, float* cache, int n_tokens, int heads, int rank, int rope_dim, int nope) {
  const int width = rank + rope_dim;
  std::vector<float> part(rope_dim);
  auto store_rotated = [&](const float* src, float* dst, int pos) {
    std::copy_n(src, rope_dim, part.data());
    rope(part.data(), rope_dim, pos, inv_freq, rope_scale, true);
    for (int i = 0; i < rope_dim; ++i) dst[i] = round_to_bf16(part[i]);
  };
  for (int t = 0; t < n_tokens; ++t) {
    const float* a = kv_a + size_t(t) * kv_a_stride;
    float* slot = cache + size_t(slots[t]) * width;
    rmsnorm(a, nullptr, latent_gain, slot, 1, rank, rank, rank, eps);
    store_rotated(a + rank, slot + rank, positions[t]);
    for (int h = 0; h < heads; ++h)
      store_rotated(q + size_t(t) * q_stride + h * (nope + rope_dim) + nope, q_full + (size_t(t) * heads + h) * width + rank,
                    positions[t]);
  }
}

void mla_attention(const float* q_full, const float* cache, const AttnSeqs& seqs, float* out_latent, int heads, int rank,
                   int rope_dim, int block_tokens, float scale) {
  const int width = rank + rope_dim;
  for_each_new_token(seqs, [&](int s, int t, int context) {
    for (int h = 0; h < heads; ++h) {
      const float* qh = q_full + (size_t(t) * heads + h) * width;
      std::vector<float> p(context);
      for (int j = 0; j < context; ++j) p[j] = scale * dot(qh, cache + size_t(slot_of(seqs, s, j, block_tokens)) * width, width);
      softmax(p);
      std::vector<float> o(rank, 0.0f);
      for (int j = 0; j < context; ++j) {
        const float* row = cache + size_t(slot_of(seqs, s, j, block_tokens)) * width;
        for (int d = 0; d < rank; ++d) o[d] += p[j] * row[d];
      }
      for (int d = 0; d < rank; ++d) out_latent[(size_t(t) * heads + h) * rank + d] = round_to_bf16(o[d]);
    }
  });
}

void sample_tokens(const float* logits, int vocab, const int* rows, const float* temperature, const float* top_p,
                   const float* uniform, int n, int* out) {
  for (int i = 0; i < n; ++i)
    out[i] = sample_with_uniform(logits + size_t(rows[i]) * vocab, vocab, temperature[i], top_p[i], uniform[i]);
}

}  // namespace aidc::ref
