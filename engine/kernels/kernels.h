#pragma once
// Launchers of the engine's own CUDA kernels. Each family lives in its own .cu file; the CPU
// reference of each is in cpu/cpu_model.cpp (same names for the same steps).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace aidc {

using bf16 = __nv_bfloat16;

// init.cu: value[i] = offset + scale * hash_uniform(stream, i), rounded to bf16.
void fill_random_bf16(bf16* out, int64_t n, uint64_t stream, float scale, float offset, cudaStream_t s);
// A window of such a tensor (a rank's shard): out[i] = value[first + (i / width) * pitch + i % width].
struct RandomWindow {
  int64_t first, width, pitch;
};
void fill_random_bf16(bf16* out, int64_t n, uint64_t stream, float scale, float offset, const RandomWindow& window,
                      cudaStream_t s);

// elementwise.cu
void embedding(const int* tokens, const bf16* table, float* x, int n_tokens, int hidden, cudaStream_t s);
// out[r] = x[rows[r]] * rsqrt(mean(x^2) + eps) * gain; rows == nullptr: every row.
void rmsnorm(const float* x, const int* rows, const bf16* gain, bf16* out, int n_rows, int hidden, float eps,
             cudaStream_t s);
void rmsnorm_bf16(const bf16* x, const bf16* gain, bf16* out, int n_rows, int hidden, int in_stride, int out_stride,
                  float eps, cudaStream_t s);
// act[t, i] = silu(gate_up[t, i]) * gate_up[t, inter + i]
void swiglu(const bf16* gate_up, bf16* act, int n_tokens, int inter, cudaStream_t s);

// Paged KV cache of one layer: k and v are [blocks][kv_heads][block_tokens][head_dim] bf16.
struct KvLayer {
  bf16* k;
  bf16* v;
};
// Where the rotated q and the new k, v of a step go (dense attention): positions and cache slots of
// the step's tokens (slot = block * block_tokens + offset), the q/k/v bias (or null), RoPE's inverse
// frequencies and attention factor, q_out [T][heads * head_dim], the layer's cache.
struct QkvRope {
  const bf16* bias;
  const int* positions;
  const int* slots;
  const float* inv_freq;
  float scale;
  bf16* q_out;
  KvLayer cache;
  int heads, kv_heads, head_dim, block_tokens;
};
// qkv rows [T][(heads + 2 kv_heads) * head_dim] (+ bias): rotates q and k (halves layout), writes q to
// `q_out` and k, v into the cache. (Decode steps do this inside the qkv GEMV: gemv_rmsnorm's `rope`.)
void rope_qkv_to_cache(const bf16* qkv, const QkvRope& rope, int n_tokens, cudaStream_t s);

// gemv.cu: y[t][o] (+)= sum_i W[o][i] x[t][i] for t < n_tokens <= kGemvMaxTokens; x [T][in] bf16, in % 8 == 0.
// swiglu_output: W is gate rows then up rows [2F][in], y is bf16 [T][F] = silu(gate) * up (the
// activation of a SwiGLU FFN, formed once in the epilogue).
constexpr int kGemvMaxTokens = 8;
bool gemv_supported(int n_tokens, int in_features);
void gemv(const bf16* w, const bf16* x, void* y, bool y_is_float, bool accumulate, int n_tokens, int out_features,
          int in_features, cudaStream_t s, bool swiglu_output = false);
// y = RMSNorm(x) W^T with the norm formed while the input is staged (x: fp32 rows [T][in], the
// residual stream), as rmsnorm() then gemv() compute it. Every block re-reads the rows from L2, so
// only for the smallest batches.
constexpr int kGemvNormMaxTokens = 2;
// With `rope` (the qkv projection of dense attention), the outputs are not stored as rows: each warp
// computes a rotary pair of one head and stores it as rope_qkv_to_cache would (y unused). With
// `normed_out`, the normalised rows [T][in] are stored too (for the MoE block's other consumers).
bool gemv_rmsnorm_supported(int n_tokens, int in_features);
void gemv_rmsnorm(const bf16* w, const float* x, const bf16* gain, float eps, void* y, bool y_is_float, int n_tokens,
                  int out_features, int in_features, cudaStream_t s, const QkvRope* rope = nullptr,
                  bf16* normed_out = nullptr, bool swiglu_output = false);
// Grouped form: for each pair p < n_pairs, y[p] = W_{expert_of_pair[p]} x[p / pairs_per_token], where
// W_e starts at w + e * expert_stride. With weight_of_pair (the MoE combine fused in), y is instead
// the fp32 residual [tokens][out] and y[p / top_k] += weight_of_pair[p] * W_e x[...], by atomics (a
// token's k experts land in any order, so sums may differ in the last bit between runs).
// Shared experts (the same MLP for every token) can ride in the same launch: `tokens` more entries
// after the pairs, entry n_pairs + t computing w x[t] (rows of in_features) into y[t] (rows of
// out_features, or out_features / 2 under swiglu_output as the pairs), or, under the fused combine,
// added into the token's row with weight 1.
struct GemvShared {
  const bf16* w = nullptr;
  int out_features = 0, in_features = 0;
  const bf16* x = nullptr;
  void* y = nullptr;
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
void grouped_gemv(const bf16* w, const GemvGroups& groups, const bf16* x, void* y, bool y_is_float, int n_pairs,
                  int out_features, int in_features, cudaStream_t s, bool swiglu_output = false);

// gemv_mma.cu: the same product for up to kGemvMmaMaxTokens tokens on tensor cores (weights streamed
// into mma fragments); in % 32 == 0. swiglu_output as gemv's. Opt-in (GpuOptions::gemv_mma_max_tokens):
// measured below cuBLAS on the H200.
constexpr int kGemvMmaMaxTokens = 16;
bool gemv_mma_supported(int n_tokens, int in_features);
void gemv_mma(const bf16* w, const bf16* x, void* y, bool y_is_float, bool accumulate, int n_tokens, int out_features,
              int in_features, cudaStream_t s, bool swiglu_output = false);

// fp8.cu: linear layers stored as DeepSeek-V3's fp8 (WeightFormat::Fp8Block): e4m3 codes [out][in] and
// fp32 scales [ceil(out/128)][ceil(in/128)], real weight = e4m3 value * scale of its 128x128 block.
// Fused weights stack the parts' rows and their scale grids: q/k/v need q and k rows in multiples of
// 128; gate/up (any intermediate size) say where the up rows start (split_rows), so their scales start
// at block row ceil(split/128); an expert stack repeats that grid every group_rows rows.
// CPU references: cpu/fp8_reference.h.
struct Fp8Weight {
  const uint8_t* codes = nullptr;
  const float* scales = nullptr;
  int split_rows = 0;  // gate/up: first up row (0: one part)
  int group_rows = 0;  // expert stacks: rows per expert (0: one matrix)
  explicit operator bool() const { return codes != nullptr; }
};
__host__ __device__ inline int64_t fp8_blocks(int64_t n) { return (n + 127) / 128; }  // kFp8BlockSize
// Scale-grid rows of `rows` rows whose second part starts at `split` (0: none).
__host__ __device__ inline int64_t fp8_scale_rows(int64_t rows, int64_t split) {
  return split ? fp8_blocks(split) + fp8_blocks(rows - split) : fp8_blocks(rows);
}
// The scale-grid row of weight row r.
__host__ __device__ inline int64_t fp8_scale_row(const Fp8Weight& w, int64_t r) {
  int64_t base = 0;
  if (w.group_rows) {
    const int64_t group = r / w.group_rows;
    r -= group * w.group_rows;
    base = group * fp8_scale_rows(w.group_rows, w.split_rows);
  }
  return base + (w.split_rows && r >= w.split_rows ? fp8_blocks(w.split_rows) + (r - w.split_rows) / 128 : r / 128);
}
// codes[i] = e4m3(448 hash_uniform(stream, i)), every scale init_scale / 448 (WeightSource::read_fp8's draw).
void fill_random_fp8(uint8_t* codes, float* scales, int64_t n_codes, int64_t n_scales, uint64_t stream,
                     float init_scale, cudaStream_t s);
// out[o][i] = bf16(e4m3(codes[o][i]) * scale): for steps too large for the GEMV (then cuBLAS in bf16). cols % 16 == 0.
void dequantize_fp8(Fp8Weight w, bf16* out, int64_t rows, int cols, cudaStream_t s);
// fp8_gemv: gemv's product (same y, accumulate and swiglu_output semantics) reading e4m3 weights and
// applying each block's scale to that block's partial dot product. x bf16 [T][in], in % 16 == 0.
constexpr int kFp8GemvMaxTokens = 8;
bool fp8_gemv_supported(int n_tokens, int in_features);
void fp8_gemv(Fp8Weight w, const bf16* x, void* y, bool y_is_float, bool accumulate, int n_tokens, int out_features,
              int in_features, cudaStream_t s, bool swiglu_output = false);
// Grouped form for MoE experts at decode, as grouped_gemv without shared entries: expert e's codes
// start at codes + e * expert_stride, its scales at scales + e * scale_stride.
struct Fp8Groups {
  const int* expert_of_pair = nullptr;
  int64_t expert_stride = 0, scale_stride = 0;
  int pairs_per_token = 1;
  const float* weight_of_pair = nullptr;  // non-null: fused combine into fp32 rows [tokens][out]
  int top_k = 1;
};
void fp8_grouped_gemv(Fp8Weight w, const Fp8Groups& groups, const bf16* x, void* y, bool y_is_float, int n_pairs,
                      int out_features, int in_features, cudaStream_t s, bool swiglu_output = false);

// moe.cu: routed experts. A (token, slot) pair is token * top_k + slot.
struct MoeRouting {
  int experts = 0, top_k = 0;
  int n_group = 1, topk_group = 1;  // group-limited when group_limited
  bool sigmoid = false;             // V3 scores (with correction bias) instead of softmax
  bool group_limited = false;
  bool normalise = false;           // weights divided by their sum
  bool scale_weights = false;       // weights multiplied by `scale` (routed_scaling_factor)
  float scale = 1.0f;
};
constexpr int kMoeMaxExperts = 256;
constexpr int kMoeMaxGroups = 32;
// One warp per token: expert_of_pair[T * top_k] and weight_of_pair from gate logits [T][experts].
// forced_experts (or null): take these [T * top_k] experts instead of choosing; the weights still
// follow the rule (as route_token's `forced`).
void moe_route(const float* gate_logits, const bf16* correction_bias, const MoeRouting& r, int n_tokens,
               const int* forced_experts, int* expert_of_pair, float* weight_of_pair, cudaStream_t s);
// Pairs sorted by expert (counting sort): sorted_pair[position] = pair, position_of_pair[pair] =
// position; expert e owns positions [expert_begin[e], expert_begin[e + 1]); its tiles of
// kMoeTileRows rows are tiles [tile_begin[e], tile_begin[e + 1]).
struct MoeSorted {
  int* sorted_pair;
  int* position_of_pair;
  int* expert_begin;  // experts + 1
  int* tile_begin;    // experts + 1
};
constexpr int kMoeTileRows = 64;
void moe_sort(const int* expert_of_pair, int n_pairs, int experts, MoeSorted out, cudaStream_t s);
int moe_max_tiles(int n_pairs, int experts);
// Grouped GEMM over the sorted pairs: out[p][n] = sum_k A[row(p)][k] W_{expert(p)}[n][k], where row(p)
// = sorted_pair[p] / top_k (gather from the tokens' rows) when gather_tokens, else p. in % 32 == 0.
void moe_grouped_gemm(const bf16* a, bool gather_tokens, int top_k, const bf16* w, int64_t expert_stride,
                      const MoeSorted& sorted, int experts, int n_pairs, void* out, bool out_is_float, int out_features,
                      int in_features, cudaStream_t s);
// x[t] += sum_slot weight_of_pair[pair] * expert_out[position_of_pair[pair]] (rows in sorted order).
// Decode-sized steps combine inside the grouped down GEMV instead.
void moe_combine(const float* expert_out, const int* position_of_pair, const float* weight_of_pair, float* x,
                 int n_tokens, int top_k, int hidden, cudaStream_t s);

// Sequences of one attention launch, in device memory. Block tables are rows of `table_stride` ints.
struct AttnSeqs {
  const int* token_offset;  // first row of the sequence's new tokens in q / out
  const int* n_new;         // new tokens (their K/V already in the cache)
  const int* context;       // cached tokens after this step (start_pos + n_new)
  const int* block_table;
  int table_stride;
  int count;
};
// attention_prefill.cu: causal flash attention of each sequence's new tokens over its whole context.
// q, out [T][heads * head_dim] bf16. head_dim must be 64 or 128.
void attention_prefill(const bf16* q, KvLayer cache, const AttnSeqs& seqs, int max_new_tokens, bf16* out, int heads,
                       int kv_heads, int head_dim, int block_tokens, float scale, cudaStream_t s);
// attention_decode.cu: one new token per sequence, split-K over the context; the last block of each
// (sequence, kv head) combines the ranges. `splits` fixed by the caller (graph replay); workspace:
// decode_workspace_floats() floats, zeroed once by the caller; every call leaves it zeroed.
size_t decode_workspace_floats(int n_seqs, int heads, int head_dim, int splits);
int decode_splits(int n_seqs, int kv_heads, int max_context, int sm_count);
void attention_decode(const bf16* q, KvLayer cache, const AttnSeqs& seqs, bf16* out, float* workspace, int splits,
                      int heads, int kv_heads, int head_dim, int block_tokens, float scale, cudaStream_t s);

// attention_mla.cu: MLA over the latent cache [blocks][block_tokens][rank + rope_dim] of one layer.
// mla_prepare: per token, RMSNorm(kv_a[:rank]) * gain and RoPE(kv_a[rank:]) (adjacent pairs) into the
// cache slot; RoPE of each head's rope part of q ([T][heads][nope + rope_dim] rows of q_stride) into
// q_full[t][h][rank:]. q_full[t][h][:rank] holds the absorbed query q_nope W_UK.
void mla_prepare(const bf16* kv_a, int kv_a_stride, const bf16* q, int q_stride, const bf16* latent_gain,
                 const int* positions, const int* slots, const float* inv_freq, float rope_scale, float eps,
                 bf16* q_full, bf16* cache, int n_tokens, int heads, int rank, int rope_dim, int nope, cudaStream_t s);
// Causal attention of each sequence's new tokens over its cached rows: out_latent[t][h][rank] =
// sum_j softmax_j(scale q_full[t][h] . row_j) row_j[:rank]. With a workspace (decode: one new token
// per sequence) the context is split into `splits` ranges, then combined (split-K).
void mla_attention(const bf16* q_full, const bf16* cache, const AttnSeqs& seqs, int max_new_tokens, bf16* out_latent,
                   int heads, int rank, int rope_dim, int block_tokens, float scale, cudaStream_t s,
                   float* workspace = nullptr, int splits = 1);
// Tensor-core kernels for (kv_lora_rank, qk_rope_head_dim) = (512, 64) (DeepSeek V2, V3) and (64, 16).
bool mla_attention_supported(int rank, int rope_dim);
size_t mla_workspace_floats(int n_seqs, int heads, int rank, int splits);
int mla_decode_splits(int n_seqs, int heads, int max_context, int sm_count);
// Prefill in the non-absorbed form (on tensor cores, attention_prefill.cu's kernel): the latent rows
// of one sequence's context gathered ([context][rank], mla_gather_latent) and expanded by kv_b_proj
// to expanded[p][h] = [K_nope (nope) | V (v_dim)], then causal flash attention of its new tokens with
// keys [K_nope | shared rope key of the cache row] and queries [q_nope | q_full's rotated q_rope]:
// out[t][h][v_dim].
void mla_gather_latent(const bf16* cache, const int* block_table, int context, int rank, int width, int block_tokens,
                       bf16* latent, cudaStream_t s);
struct MlaPrefill {
  const bf16* q;         // [T] rows of q_stride: per head q_nope then the unrotated q_rope
  int q_stride;
  const bf16* q_full;    // [T][heads][rank + rope_dim]: the rotated q_rope after rank values
  const bf16* expanded;  // [context][heads][nope + v_dim]
  const bf16* cache;     // the layer's latent cache
  int heads, nope, rope_dim, v_dim, rank, block_tokens;
};
bool mla_prefill_supported(int nope, int rope_dim, int v_dim);
void mla_prefill_attention(const MlaPrefill& rows, const AttnSeqs& seq, int max_new_tokens, bf16* out, float scale,
                           cudaStream_t s);

// sampling.cu: each row cut into 4096-token chunks, a block per chunk (top-p by a radix select on the
// probabilities' bits). rows[i] is the logits row; temperature <= 0 means greedy.
struct SampleArgs {
  const int* rows;
  const float* temperature;
  const float* top_p;
  const float* uniform;  // hash_unit(seed, draw), drawn on the host (cheap, and identical to the CPU path)
};
void sample_tokens(const float* logits, int vocab, const SampleArgs& args, int n, int* out, cudaStream_t s);

}  // namespace aidc
