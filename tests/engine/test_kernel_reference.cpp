// The per-kernel CPU references (cpu/kernel_reference.h) against facts worked out by hand or in closed
// form: what the GPU kernel tests rely on when they compare a kernel with its reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "common/numeric.h"
#include "cpu/kernel_reference.h"
#include "engine_test_support.h"

namespace aidc {
namespace {

std::vector<float> random_bf16(size_t n, uint64_t stream, float scale = 1.0f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = round_to_bf16(scale * hash_uniform(stream, i));
  return v;
}

std::vector<float> llama_inv_freq(int rope_dim) {
  std::vector<float> f(rope_dim / 2);
  for (int i = 0; i < rope_dim / 2; ++i) f[i] = static_cast<float>(std::pow(10000.0, -2.0 * i / rope_dim));
  return f;
}

double norm(const float* v, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += double(v[i]) * v[i];
  return std::sqrt(s);
}

TEST(KernelReference, RmsnormOfConstantRowIsGain) {
  const int hidden = 37;
  const std::vector<float> gain = random_bf16(hidden, 1);
  std::vector<float> x(2 * hidden, 0.0f), out(hidden);
  std::fill(x.begin() + hidden, x.end(), -3.5f);  // row 1 constant; row 0 is never read
  const int rows[1] = {1};
  ref::rmsnorm(x.data(), rows, gain.data(), out.data(), 1, hidden, hidden, hidden, 1e-6f);
  for (int i = 0; i < hidden; ++i) EXPECT_NEAR(out[i], -gain[i], std::abs(gain[i]) * 0x1p-8) << i;
}

// Pair i turns by pos * theta_i: the closed form, and the length of every pair (hence of the vector) kept.
TEST(KernelReference, RopeIsTheClosedFormRotation) {
  const int d = 64, pos = 37;
  const std::vector<float> inv_freq = llama_inv_freq(d), v0 = random_bf16(d, 2);
  for (const bool interleaved : {false, true}) {
    SCOPED_TRACE(interleaved ? "adjacent pairs" : "halves");
    std::vector<float> v = v0;
    ref::rope(v.data(), d, pos, inv_freq.data(), 1.0f, interleaved);
    EXPECT_NEAR(norm(v.data(), d), norm(v0.data(), d), 1e-5);
    for (int i = 0; i < d / 2; ++i) {
      const int a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + d / 2;
      const double theta = pos * std::pow(10000.0, -2.0 * i / d);
      EXPECT_NEAR(v[a], v0[a] * std::cos(theta) - v0[b] * std::sin(theta), 1e-5);
      EXPECT_NEAR(v[b], v0[b] * std::cos(theta) + v0[a] * std::sin(theta), 1e-5);
    }
    std::vector<float> scaled = v0;  // YaRN's attention factor scales the whole rotation
    ref::rope(scaled.data(), d, pos, inv_freq.data(), 1.5f, interleaved);
    EXPECT_NEAR(norm(scaled.data(), d), 1.5 * norm(v0.data(), d), 1e-4);
  }
}

// q is rotated into q_out, k rotated and v copied into the cache slot's rows, by kv head.
TEST(KernelReference, RopeQkvWritesTheSlotsRows) {
  const int heads = 2, kv_heads = 1, hd = 8, bt = 4, blocks = 3, width = (heads + 2 * kv_heads) * hd;
  const std::vector<float> qkv = random_bf16(width, 3), inv_freq = llama_inv_freq(hd);
  std::vector<float> q(heads * hd), k(size_t(blocks) * kv_heads * bt * hd, 0.0f), v(k.size(), 0.0f);
  const int positions[1] = {5}, slots[1] = {2 * bt + 1};  // block 2, offset 1
  ref::QkvRope r{nullptr, positions, slots, inv_freq.data(), 1.0f, q.data(), k.data(), v.data(), heads, kv_heads, hd, bt};
  ref::rope_qkv_to_cache(qkv.data(), r, 1);
  std::vector<float> q1(qkv.begin() + hd, qkv.begin() + 2 * hd), k0(qkv.begin() + 2 * hd, qkv.begin() + 3 * hd);
  ref::rope(q1.data(), hd, 5, inv_freq.data(), 1.0f, false);
  ref::rope(k0.data(), hd, 5, inv_freq.data(), 1.0f, false);
  const int row = (2 * bt + 1) * hd;  // [block 2][kv head 0][offset 1]
  for (int d = 0; d < hd; ++d) {
    EXPECT_EQ(q[hd + d], round_to_bf16(q1[d]));
    EXPECT_EQ(k[row + d], round_to_bf16(k0[d]));
    EXPECT_EQ(v[row + d], qkv[3 * hd + d]);
  }
  double elsewhere = 0;  // no other slot written
  for (size_t i = 0; i < k.size(); ++i)
    if (i < size_t(row) || i >= size_t(row + hd)) elsewhere += std::abs(k[i]) + std::abs(v[i]);
  EXPECT_EQ(elsewhere, 0.0);
}

TEST(KernelReference, GemvIsTheMatrixProductAndSwigluItsActivation) {
  const int tokens = 3, in = 24, f = 5;
  const std::vector<float> w = random_bf16(2 * f * in, 4), x = random_bf16(tokens * in, 5);
  std::vector<float> y(tokens * 2 * f), act(tokens * f);
  ref::gemv(w.data(), x.data(), y.data(), true, false, tokens, 2 * f, in);
  for (int t = 0; t < tokens; ++t)
    for (int o = 0; o < 2 * f; ++o) {
      double s = 0;
      for (int i = 0; i < in; ++i) s += double(w[o * in + i]) * x[t * in + i];
      EXPECT_NEAR(y[t * 2 * f + o], s, 1e-5);
    }
  ref::gemv(w.data(), x.data(), act.data(), false, false, tokens, 2 * f, in, true);
  for (int t = 0; t < tokens; ++t)
    for (int i = 0; i < f; ++i) {
      const double g = round_to_bf16(y[t * 2 * f + i]), u = round_to_bf16(y[t * 2 * f + f + i]);
      EXPECT_NEAR(act[t * f + i], g / (1 + std::exp(-g)) * u, std::abs(g * u) * 0x1p-8 + 1e-6);
    }
}

TEST(KernelReference, AttentionOverOneCachedTokenReturnsItsValue) {
  const int heads = 4, kv_heads = 2, hd = 16, bt = 8, blocks = 6;
  const size_t cache = size_t(blocks) * kv_heads * bt * hd;
  const std::vector<float> k = random_bf16(cache, 6), v = random_bf16(cache, 7), q = random_bf16(heads * hd, 8, 4.0f);
  ref::AttnSeqs seqs{{0}, {1}, {1}, {5, 0}, 2};  // the one token sits in block 5
  std::vector<float> out(heads * hd);
  ref::attention(q.data(), k.data(), v.data(), seqs, out.data(), heads, kv_heads, hd, bt, 0.25f);
  for (int h = 0; h < heads; ++h)
    for (int d = 0; d < hd; ++d) EXPECT_EQ(out[h * hd + d], v[ref::kv_index(5 * bt, h / 2, d, kv_heads, bt, hd)]);
}

// Causal prefill: row 0 sees only token 0 (its V); row 2 the softmax over tokens 0..2, by hand.
TEST(KernelReference, CausalPrefillRowsSeeTheirPrefix) {
  const int heads = 2, kv_heads = 1, hd = 8, bt = 2, blocks = 4, n = 3;
  const size_t cache = size_t(blocks) * kv_heads * bt * hd;
  const std::vector<float> k = random_bf16(cache, 9), v = random_bf16(cache, 10), q = random_bf16(n * heads * hd, 11);
  ref::AttnSeqs seqs{{0}, {n}, {n}, {3, 1}, 2};  // positions 0, 1 in block 3; position 2 in block 1
  std::vector<float> out(n * heads * hd);
  const float scale = 0.7f;
  ref::attention(q.data(), k.data(), v.data(), seqs, out.data(), heads, kv_heads, hd, bt, scale);
  const int slot[n] = {6, 7, 2};
  for (int h = 0; h < heads; ++h)
    for (int d = 0; d < hd; ++d) EXPECT_EQ(out[h * hd + d], v[slot[0] * hd + d]);
  for (int h = 0; h < heads; ++h) {
    double p[n], z = 0;
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int d = 0; d < hd; ++d) s += double(q[(2 * heads + h) * hd + d]) * k[slot[j] * hd + d];
      z += p[j] = std::exp(scale * s);
    }
    for (int d = 0; d < hd; ++d) {
      double o = 0;
      for (int j = 0; j < n; ++j) o += p[j] / z * v[slot[j] * hd + d];
      EXPECT_NEAR(out[(2 * heads + h) * hd + d], o, std::abs(o) * 0x1p-8 + 1e-6);
    }
  }
}

// MLA: a latent row of constants normalises to the gain; one cached token gives back its latent.
TEST(KernelReference, MlaPrepareAndOneTokenAttention) {
  const int heads = 3, rank = 16, rope_dim = 8, nope = 4, width = rank + rope_dim, bt = 4;
  std::vector<float> kv_a(width, 2.0f);
  const std::vector<float> q = random_bf16(heads * (nope + rope_dim), 12), gain = random_bf16(rank, 13),
                           inv_freq = llama_inv_freq(rope_dim);
  std::vector<float> q_full(heads * width, 0.0f), cache(size_t(3) * bt * width, 0.0f), out(heads * rank);
  const int positions[1] = {0}, slots[1] = {2 * bt};  // block 2, offset 0
  ref::mla_prepare(kv_a.data(), width, q.data(), nope + rope_dim, gain.data(), positions, slots, inv_freq.data(), 1.0f,
                   1e-6f, q_full.data(), cache.data(), 1, heads, rank, rope_dim, nope);
  const float* row = &cache[size_t(slots[0]) * width];
  for (int i = 0; i < rank; ++i) EXPECT_NEAR(row[i], gain[i], std::abs(gain[i]) * 0x1p-8);
  for (int i = 0; i < rope_dim; ++i) EXPECT_EQ(row[rank + i], 2.0f);  // position 0: no turn
  for (int i = 0; i < rope_dim; ++i) EXPECT_EQ(q_full[2 * width + rank + i], q[2 * (nope + rope_dim) + nope + i]);
  ref::AttnSeqs seqs{{0}, {1}, {1}, {2}, 1};
  ref::mla_attention(q_full.data(), cache.data(), seqs, out.data(), heads, rank, rope_dim, bt, 0.1f);
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < rank; ++i) EXPECT_EQ(out[h * rank + i], row[i]);
}

// Hand-made logits: plain softmax top-k, V2 group-limited (a group scores its best expert) and V3's
// 256 experts in 8 groups, top 8 (a group scores its best two, so two good experts beat one star).
TEST(KernelReference, RoutingPicksTheExpectedExperts) {
  MoEConfig m;
  m.n_routed_experts = 8;
  m.experts_per_token = 3;
  const float logits[2][8] = {{5, 1, 0, 0.5f, 4, 3, 3.5f, 3.4f}, {0, 0, 0, 0, 0, 0, 0, 9}};
  int experts[6];
  float weights[6];
  ref::moe_route(&logits[0][0], nullptr, m, 2, nullptr, experts, weights);
  EXPECT_EQ(std::vector<int>(experts, experts + 3), (std::vector<int>{0, 4, 6}));
  EXPECT_EQ(experts[3], 7);  // token 1's rows follow token 0's
  EXPECT_EQ(std::vector<int>(experts + 4, experts + 6), (std::vector<int>{0, 1}));  // ties: lower index first
  double z = 0;
  for (float l : logits[0]) z += std::exp(l);
  EXPECT_NEAR(weights[1], std::exp(4.0) / z, 1e-6);
  m.routing = Routing::SoftmaxGroupTopK;  // groups {0,1} {2,3} {4,5} {6,7} score 5, 0.5, 4, 3.5: keep 0 and 2
  m.n_group = 4;
  m.topk_group = 2;
  ref::moe_route(&logits[0][0], nullptr, m, 1, nullptr, experts, weights);
  EXPECT_EQ(std::vector<int>(experts, experts + 3), (std::vector<int>{0, 4, 5}));

  MoEConfig v3 = test::deepseek_v3_routing();
  std::vector<float> l(256, -6.0f), bias(256, 0.0f);
  std::vector<int> expect;
  for (int g : {1, 2, 4, 6})
    for (int e : {g * 32 + 3, g * 32 + 9}) l[e] = 2.0f, expect.push_back(e);
  l[230] = 10.0f;  // the best expert, alone in group 7: 1 + sigmoid(-6) < 2 sigmoid(2)
  bias[255] = 0.5f;  // lifts group 7 to 1.50, still below the others' 1.76
  const ref::Routed r = ref::route_token(v3, l.data(), bias.data());
  std::vector<int> got = r.experts;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expect);
  for (float w : r.weights) EXPECT_NEAR(w, 2.5 / 8, 1e-6);
  v3.topk_group = 8;  // every group kept: the star comes first
  EXPECT_EQ(ref::route_token(v3, l.data(), bias.data()).experts[0], 230);
}

// p = {0.1, 0.4, 0.2, 0.25, 0.05}; top_p 0.8 keeps {1, 2, 3} (mass 0.85), walked in index order.
TEST(KernelReference, SamplingIsTheInverseCdfOfTheKeptMass) {
  const double p[5] = {0.1, 0.4, 0.2, 0.25, 0.05};
  std::vector<float> logits(10);
  for (int i = 0; i < 5; ++i) logits[5 + i] = static_cast<float>(std::log(p[i]));  // row 1
  const int rows[5] = {1, 1, 1, 1, 1};
  const float temperature[5] = {0, 1, 1, 1, 1}, top_p[5] = {1, 0.8f, 0.8f, 0.8f, 1}, u[5] = {0.9f, 0.1f, 0.5f, 0.95f, 0.05f};
  // u * 0.85 = 0.085 -> token 1 (0.4); 0.425 -> token 2 (0.6); 0.8075 -> token 3 (0.85); top_p 1: 0.05 -> token 0.
  int out[5];
  ref::sample_tokens(logits.data(), 5, rows, temperature, top_p, u, 5, out);
  EXPECT_EQ(std::vector<int>(out, out + 5), (std::vector<int>{1, 1, 2, 3, 0}));
}

// The sort groups pairs by expert; the grouped GEMM equals each expert's own matmul on its tokens'
// rows; the combine and the fused grouped GEMV give the weighted sum per token.
TEST(KernelReference, GroupedGemmIsPerExpertMatmuls) {
  const int experts = 5, tokens = 6, top_k = 2, in = 16, out = 7, pairs = tokens * top_k;
  const std::vector<float> w = random_bf16(size_t(experts) * out * in, 14), x = random_bf16(tokens * in, 15),
                           shared_w = random_bf16(out * in, 16);
  std::vector<int> expert_of_pair(pairs);
  std::vector<float> weight(pairs);
  for (int p = 0; p < pairs; ++p) expert_of_pair[p] = (p * 3 + p / 5) % experts, weight[p] = 0.25f + 0.1f * p;
  const ref::MoeSorted sorted = ref::moe_sort(expert_of_pair.data(), pairs, experts, 2);
  ASSERT_EQ(sorted.expert_begin.back(), pairs);
  std::vector<float> y(pairs * out), combined(tokens * out, 1.0f);
  ref::moe_grouped_gemm(x.data(), true, top_k, w.data(), int64_t(out) * in, sorted, experts, pairs, y.data(), true, out, in);
  auto expert_product = [&](const float* we, int token, int o) {
    double s = 0;
    for (int i = 0; i < in; ++i) s += double(we[o * in + i]) * x[token * in + i];
    return s;
  };
  std::vector<double> expect(tokens * out, 1.0);
  for (int p = 0; p < pairs; ++p) {
    const int at = sorted.position_of_pair[p], e = expert_of_pair[p];
    EXPECT_EQ(sorted.sorted_pair[at], p);
    EXPECT_TRUE(at >= sorted.expert_begin[e] && at < sorted.expert_begin[e + 1]);
    EXPECT_EQ(sorted.tile_begin[e + 1] - sorted.tile_begin[e], (sorted.expert_begin[e + 1] - sorted.expert_begin[e] + 1) / 2);
    for (int o = 0; o < out; ++o) {
      const double v = expert_product(&w[size_t(e) * out * in], p / top_k, o);
      EXPECT_NEAR(y[at * out + o], v, 1e-5);
      expect[(p / top_k) * out + o] += weight[p] * v;
    }
  }
  ref::moe_combine(y.data(), sorted.position_of_pair.data(), weight.data(), combined.data(), tokens, top_k, out);
  for (int i = 0; i < tokens * out; ++i) EXPECT_NEAR(combined[i], expect[i], 1e-5);
  // Fused: the pairs' weighted products plus the shared expert (weight 1) added into the residual.
  std::vector<float> fused(tokens * out, 1.0f);
  ref::GemvGroups g{expert_of_pair.data(), int64_t(out) * in, top_k, weight.data(), top_k,
                    ref::GemvShared{shared_w.data(), out, in, x.data(), nullptr, tokens}};
  ref::grouped_gemv(w.data(), g, x.data(), fused.data(), true, pairs, out, in);
  for (int t = 0; t < tokens; ++t)
    for (int o = 0; o < out; ++o)
      EXPECT_NEAR(fused[t * out + o], expect[t * out + o] + expert_product(shared_w.data(), t, o), 1e-5);
}

}  // namespace
}  // namespace aidc
