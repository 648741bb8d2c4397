#pragma once
// Plain CPU references of the engine's CUDA kernel families (kernels/kernels.h), one function per
// launcher, with the launcher's semantics and data layouts: paged caches addressed by slots and block
// tables, the routing and sampling rules, bf16 stores. Arrays hold floats whose values are bf16
// (inputs the caller rounded with round_to_bf16; outputs rounded here wherever the kernel stores
// bf16), and the arithmetic is fp32 loops, nothing clever: these are the oracles the per-kernel GPU
// tests (tests/engine/test_kernels_gpu.cpp) compare against. CpuModel uses the shared steps (RMSNorm
// of a row, RoPE, softmax, routing) from here. No CUDA.
#include <cstdint>
#include <vector>

#include "core/model/config.hpp"

namespace aidc::ref {

// --- elementwise.cu --------------------------------------------------------------------------------
// out = x * rsqrt(mean(x^2) + eps) * gain over one row of `hidden` values, fp32 (not rounded).
void rmsnorm_row(const float* x, const float* gain, float* out, int hidden, float eps);
// As rmsnorm() / rmsnorm_bf16(): out[r * out_stride] = bf16(RMSNorm(x[rows[r] * in_stride])), rows == nullptr:
// row r itself.
void rmsnorm(const float* x, const int* rows, const float* gain, float* out, int n_rows, int hidden, int in_stride,
             int out_stride, float eps);
void embedding(const int* tokens, const float* table, float* x, int n_tokens, int hidden);
float silu(float g);
// act[t][i] = bf16(silu(gate_up[t][i]) * gate_up[t][inter + i]).
void swiglu(const float* gate_up, float* act, int n_tokens, int inter);

// --- RoPE (rope.cuh, mla_prepare) ------------------------------------------------------------------
// Pair i of `v` turns by pos * inv_freq[i], cos and sin scaled by `scale` (the attention factor):
// halves layout (i, i + rope_dim/2) for Llama/Qwen, adjacent pairs (2i, 2i + 1) for MLA. fp32, in place.
void rope(float* v, int rope_dim, int pos, const float* inv_freq, float scale, bool interleaved);

// Paged dense KV cache of one layer, as KvLayer: k and v are [blocks][kv_heads][block_tokens][head_dim].
inline int64_t kv_index(int slot, int kv_head, int d, int kv_heads, int block_tokens, int head_dim) {
  return ((int64_t(slot / block_tokens) * kv_heads + kv_head) * block_tokens + slot % block_tokens) * head_dim + d;
}

// QkvRope's fields on the host (same names, same meaning).
struct QkvRope {
  const float* bias = nullptr;  // [(heads + 2 kv_heads) * head_dim] or null
  const int* positions = nullptr;
  const int* slots = nullptr;
  const float* inv_freq = nullptr;
  float scale = 1.0f;
  float* q_out = nullptr;  // [T][heads * head_dim]
  float* k_cache = nullptr;
  float* v_cache = nullptr;
  int heads = 0, kv_heads = 0, head_dim = 0, block_tokens = 0;
};
// As rope_qkv_to_cache: qkv rows [T][(heads + 2 kv_heads) * head_dim] (+ bias), q and k rotated (halves),
// q into q_out, k and v into the cache slots; every stored value rounded to bf16.
void rope_qkv_to_cache(const float* qkv, const QkvRope& r, int n_tokens);

// --- gemv.cu, gemv_mma.cu ----------------------------------------------------------------------------
// As gemv(): y[t][o] (+)= sum_i w[o][i] x[t][i]; w [out][in], x [T][in]. y_is_float false: y rounded to
// bf16. swiglu_output: w is [2F][in], y [T][F] = bf16(silu(bf16(gate)) * bf16(up)).
void gemv(const float* w, const float* x, float* y, bool y_is_float, bool accumulate, int n_tokens, int out_features,
          int in_features, bool swiglu_output = false);
// As gemv_rmsnorm(): x fp32 [T][in] normalised (rounded to bf16) and projected; with `rope` the
// projection is rounded to bf16 and stored as rope_qkv_to_cache stores it (y unused); normed_out (or
// null) receives the normalised rows.
void gemv_rmsnorm(const float* w, const float* x, const float* gain, float eps, float* y, bool y_is_float, int n_tokens,
                  int out_features, int in_features, const QkvRope* rope = nullptr, float* normed_out = nullptr,
                  bool swiglu_output = false);
// GemvGroups / GemvShared on the host (same names, same meaning).
struct GemvShared {
  const float* w = nullptr;
  int out_features = 0, in_features = 0;
  const float* x = nullptr;
  float* y = nullptr;
  int tokens = 0;
};
struct GemvGroups {
  const int* expert_of_pair = nullptr;
  int64_t expert_stride = 0;
  int pairs_per_token = 1;
  const float* weight_of_pair = nullptr;
  int top_k = 1;
  GemvShared shared{};
};
// As grouped_gemv(); with weight_of_pair, y (fp32 [tokens][out]) accumulates the weighted expert
// outputs and the shared entries (weight 1).
void grouped_gemv(const float* w, const GemvGroups& groups, const float* x, float* y, bool y_is_float, int n_pairs,
                  int out_features, int in_features, bool swiglu_output = false);

// --- moe.cu --------------------------------------------------------------------------------------------
// Expert choice of one token: the DeepSeek gating rules (softmax top-k, group-limited, sigmoid with
// bias correction). `forced`: take these k experts instead of choosing (their weights still follow the
// rule).
struct Routed {
  std::vector<int> experts;
  std::vector<float> weights;
};
Routed route_token(const MoEConfig& moe, const float* gate_logits, const float* correction_bias,
                   const int* forced = nullptr);
// As moe_route() with gpu_routing(moe): logits [T][experts] -> expert_of_pair, weight_of_pair [T * k].
void moe_route(const float* gate_logits, const float* correction_bias, const MoEConfig& moe, int n_tokens,
               const int* forced_experts, int* expert_of_pair, float* weight_of_pair);
// As MoeSorted, with the positions inside each expert in pair order (the kernel's order inside an
// expert is that of its atomics: any permutation of these).
struct MoeSorted {
  std::vector<int> sorted_pair, position_of_pair, expert_begin, tile_begin;
};
MoeSorted moe_sort(const int* expert_of_pair, int n_pairs, int experts, int tile_rows);
// As moe_grouped_gemm(): out[p][n] = sum_k A[row(p)][k] W_{expert(p)}[n][k], row(p) = sorted_pair[p] / top_k
// when gather_tokens, else p; out rounded to bf16 unless out_is_float.
void moe_grouped_gemm(const float* a, bool gather_tokens, int top_k, const float* w, int64_t expert_stride,
                      const MoeSorted& sorted, int experts, int n_pairs, float* out, bool out_is_float, int out_features,
                      int in_features);
// As moe_combine(): x[t] += sum_slot weight_of_pair[pair] * expert_out[position_of_pair[pair]].
void moe_combine(const float* expert_out, const int* position_of_pair, const float* weight_of_pair, float* x,
                 int n_tokens, int top_k, int hidden);

// --- attention_prefill.cu, attention_decode.cu, attention_mla.cu ------------------------------------------
void softmax(std::vector<float>& scores);  // in place

// AttnSeqs on the host: sequence s owns rows token_offset[s] .. + n_new[s] of q and out; its context
// (after this step) is context[s] tokens, in the blocks of row s of block_table (table_stride ints).
struct AttnSeqs {
  std::vector<int> token_offset, n_new, context, block_table;
  int table_stride = 0;
  int count() const { return static_cast<int>(token_offset.size()); }
};
// Causal attention over the paged cache, as attention_prefill() and attention_decode() (a decode step
// is n_new == 1): new token i of sequence s sees positions 0 .. context - n_new + i; query head h reads
// kv head h / (heads / kv_heads). q, out [T][heads * head_dim]; out rounded to bf16.
void attention(const float* q, const float* k_cache, const float* v_cache, const AttnSeqs& seqs, float* out, int heads,
               int kv_heads, int head_dim, int block_tokens, float scale);
// As mla_prepare(): cache [slots][rank + rope_dim], q_full [T][heads][rank + rope_dim] (only the rope
// part written); latent RMSNorm and adjacent-pair RoPE, stores rounded to bf16.
void mla_prepare(const float* kv_a, int kv_a_stride, const float* q, int q_stride, const float* latent_gain,
                 const int* positions, const int* slots, const float* inv_freq, float rope_scale, float eps,
                 float* q_full, float* cache, int n_tokens, int heads, int rank, int rope_dim, int nope);
// As mla_attention() (either form: split-K changes only rounding): out_latent[t][h][rank] =
// bf16(sum_j softmax_j(scale q_full[t][h] . row_j) row_j[:rank]) over the causal context.
void mla_attention(const float* q_full, const float* cache, const AttnSeqs& seqs, float* out_latent, int heads, int rank,
                   int rope_dim, int block_tokens, float scale);

// --- sampling.cu ---------------------------------------------------------------------------------------
// As sample_tokens(): out[i] = the rule of runtime/sampling.h on row rows[i] with the host-drawn uniform.
void sample_tokens(const float* logits, int vocab, const int* rows, const float* temperature, const float* top_p,
                   const float* uniform, int n, int* out);

}  // namespace aidc::ref
