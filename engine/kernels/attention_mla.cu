// MLA (DeepSeek V2/V3) attention over the compressed cache, in the absorbed form: the cache holds, per
// token, the normalised latent c (kv_lora_rank values) and the rotated shared rope key (qk_rope_dim),
// 576 values for V2/V3. Queries arrive already multiplied by W_UK (q_lat = q_nope W_UK, done by a
// batched GEMM in the backend) and followed by their rotated rope part, so every head attends with
// one 576-wide dot per cached token (multi-query attention) and its output stays in latent space
// (o_lat = sum p c), mapped back through W_UV by another batched GEMM. The CPU reference
// (CpuModel::mla_attention) expands keys and values instead; the two are equal up to rounding.
#include <algorithm>

#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {

constexpr int kMlaTile = 16;        // cached tokens per step
constexpr int kMlaHeads = 16;       // query heads per block (they share every cached row)
constexpr int kMlaThreads = kMlaTile * kMlaHeads;
constexpr int kMlaMaxWidth = 576;   // kv_lora_rank + qk_rope_dim
constexpr int kMlaMaxRank = 512;
constexpr int kMlaRowPad = 8;       // rows of 584 values: 16 rows fall in 8 different banks

// One block per token: RMSNorm of the latent and RoPE (adjacent pairs) of the shared key into the
// cache slot; RoPE of each head's query rope part, written after its absorbed latent query.
__global__ void mla_prepare_kernel(const bf16* kv_a, int kv_a_stride, const bf16* q, int q_stride, const bf16* latent_gain,
                                   const int* positions, const int* slots, const float* inv_freq, float rope_scale,
                                   float eps, bf16* q_full, bf16* cache, int heads, int rank, int rope_dim, int nope) {
  __shared__ float scratch[32];
  const int t = blockIdx.x, width = rank + rope_dim, half = rope_dim / 2;
  const bf16* a = kv_a + int64_t(t) * kv_a_stride;
  bf16* slot = cache + int64_t(slots[t]) * width;
  float ss = 0;
  for (int i = threadIdx.x; i < rank; i += blockDim.x) ss += __bfloat162float(a[i]) * __bfloat162float(a[i]);
  const float inv = rsqrtf(block_sum(ss, scratch) / rank + eps);
  for (int i = threadIdx.x; i < rank; i += blockDim.x)
    slot[i] = __float2bfloat16_rn(__bfloat162float(a[i]) * inv * __bfloat162float(latent_gain[i]));
  // Pair i of every head (h < heads) and of the shared key (h == heads) turns by pos * inv_freq[i].
  const float pos = static_cast<float>(positions[t]);
  for (int w = threadIdx.x; w < (heads + 1) * half; w += blockDim.x) {
    const int h = w / half, i = w % half;
    float sn, cs;
    sincosf(pos * inv_freq[i], &sn, &cs);
    cs *= rope_scale;
    sn *= rope_scale;
    const bf16* src = h < heads ? q + int64_t(t) * q_stride + h * (nope + rope_dim) + nope : a + rank;
    bf16* dst = h < heads ? q_full + (int64_t(t) * heads + h) * width + rank : slot + rank;
    const float x0 = __bfloat162float(src[2 * i]), x1 = __bfloat162float(src[2 * i + 1]);
    dst[2 * i] = __float2bfloat16_rn(x0 * cs - x1 * sn);
    dst[2 * i + 1] = __float2bfloat16_rn(x1 * cs + x0 * sn);
  }
}

void mla_prepare(const bf16* kv_a, int kv_a_stride, const bf16* q, int q_stride, const bf16* latent_gain,
                 const int* positions, const int* slots, const float* inv_freq, float rope_scale, float eps,
                 bf16* q_full, bf16* cache, int n_tokens, int heads, int rank, int rope_dim, int nope, cudaStream_t s) {
  mla_prepare_kernel<<<n_tokens, 256, 0, s>>>(kv_a, kv_a_stride, q, q_stride, latent_gain, positions, slots, inv_freq,
                                              rope_scale, eps, q_full, cache, heads, rank, rope_dim, nope);
  CUDA_CHECK_LAUNCH();
}

// Thread per 16-byte chunk: latent[p] = the first `rank` values of the sequence's cache row p.
__global__ void mla_gather_latent_kernel(const bf16* __restrict__ cache, const int* __restrict__ block_table, int context,
                                         int rank, int width, int block_tokens, bf16* __restrict__ latent) {
  const int chunks = rank / 8;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < int64_t(context) * chunks;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int pos = static_cast<int>(i / chunks), c = static_cast<int>(i % chunks);
    const int64_t row = int64_t(block_table[pos / block_tokens]) * block_tokens + pos % block_tokens;
    reinterpret_cast<uint4*>(latent + int64_t(pos) * rank)[c] = reinterpret_cast<const uint4*>(cache + row * width)[c];
  }
}

void mla_gather_latent(const bf16* cache, const int* block_table, int context, int rank, int width, int block_tokens,
                       bf16* latent, cudaStream_t s) {
  const int64_t chunks = int64_t(context) * (rank / 8);
  const int blocks = static_cast<int>(std::min<int64_t>((chunks + 255) / 256, 4096));
  mla_gather_latent_kernel<<<std::max(blocks, 1), 256, 0, s>>>(cache, block_table, context, rank, width, block_tokens,
                                                               latent);
  CUDA_CHECK_LAUNCH();
}

size_t mla_workspace_floats(int n_seqs, int heads, int rank, int splits) {
  return size_t(n_seqs) * splits * heads * (rank + 2);
}

int mla_decode_splits(int n_seqs, int heads, int max_context, int sm_count) {
  const int blocks = n_seqs * ceil_div(heads, kMlaHeads);
  return std::max(1, std::min(ceil_div(2 * sm_count, blocks), ceil_div(max_context, 2 * kMlaTile)));
}

// Block (new token i of sequence s, group of 16 heads): online softmax over the token's causal
// context in tiles of 16 cached rows. Thread (head, j) scores row j for its head; thread (head, part)
// accumulates dims part, part + 16, ... of that head's latent output. Decode launches split the
// context instead (blockIdx.x = range, one new token per sequence) and write unnormalised partial
// outputs with their max and sum to `partial` ([seq][split][head][rank], then [seq][split][head][2]);
// mla_combine_kernel merges the ranges.
__global__ void __launch_bounds__(kMlaThreads) mla_attention_kernel(const bf16* __restrict__ q_full,
                                                                    const bf16* __restrict__ cache, AttnSeqs seqs,
                                                                    bf16* __restrict__ out, float* __restrict__ partial,
                                                                    int heads, int rank, int rope_dim, int block_tokens,
                                                                    float scale_log2) {
  constexpr int ld = kMlaMaxWidth + kMlaRowPad;
  __shared__ __align__(16) bf16 ks[kMlaTile][ld];
  __shared__ __align__(16) bf16 qs[kMlaHeads][ld];
  __shared__ float p[kMlaHeads][kMlaTile];
  __shared__ float run_max[kMlaHeads], run_sum[kMlaHeads], rescale[kMlaHeads];
  const bool split = partial != nullptr;
  const int s = blockIdx.z, i = split ? 0 : blockIdx.x;
  if (i >= seqs.n_new[s]) return;
  const int t = seqs.token_offset[s] + i, context = seqs.context[s] - seqs.n_new[s] + i + 1;
  int begin = 0, end = context;
  if (split) {
    const int per = ceil_div(ceil_div(context, gridDim.x), kMlaTile) * kMlaTile;  // whole tiles per range
    begin = min(context, int(blockIdx.x) * per);
    end = min(context, begin + per);
  }
  const int h0 = blockIdx.y * kMlaHeads, n_heads = min(kMlaHeads, heads - h0);
  const int width = rank + rope_dim, width8 = width / 8;
  const int* table = seqs.block_table + int64_t(s) * seqs.table_stride;

  for (int w = threadIdx.x; w < kMlaHeads * width8; w += blockDim.x) {
    const int hh = w / width8, c = w % width8;
    const uint4 v = hh < n_heads ? reinterpret_cast<const uint4*>(q_full + (int64_t(t) * heads + h0 + hh) * width)[c]
                                 : make_uint4(0, 0, 0, 0);
    *reinterpret_cast<uint4*>(&qs[hh][c * 8]) = v;
  }
  if (threadIdx.x < kMlaHeads) run_max[threadIdx.x] = -INFINITY, run_sum[threadIdx.x] = 0.0f;
  const int head = threadIdx.x / kMlaTile, lane16 = threadIdx.x % kMlaTile;
  const int dims = rank / kMlaTile;  // output dims per thread
  float acc[kMlaMaxRank / kMlaTile] = {};

  for (int j0 = begin; j0 < end; j0 += kMlaTile) {
    __syncthreads();  // the previous tile is consumed
    for (int w = threadIdx.x; w < kMlaTile * width8; w += blockDim.x) {
      const int j = w / width8, c = w % width8, pos = j0 + j;
      uint4 v = make_uint4(0, 0, 0, 0);  // rows past the range: zeros (their weight is 0, never NaN)
      if (pos < end) {
        const int block = table[pos / block_tokens];
        v = reinterpret_cast<const uint4*>(cache + (int64_t(block) * block_tokens + pos % block_tokens) * width)[c];
      }
      *reinterpret_cast<uint4*>(&ks[j][c * 8]) = v;
    }
    __syncthreads();
    {
      const __nv_bfloat162* qrow = reinterpret_cast<const __nv_bfloat162*>(qs[head]);
      const __nv_bfloat162* krow = reinterpret_cast<const __nv_bfloat162*>(ks[lane16]);
      float dot0 = 0, dot1 = 0;  // two chains: the 288-step dot product is latency-bound
      for (int d = 0; d < width / 2; d += 2) {
        const float2 a = __bfloat1622float2(qrow[d]), b = __bfloat1622float2(krow[d]);
        dot0 = fmaf(a.x, b.x, fmaf(a.y, b.y, dot0));
        if (d + 1 < width / 2) {
          const float2 a1 = __bfloat1622float2(qrow[d + 1]), b1 = __bfloat1622float2(krow[d + 1]);
          dot1 = fmaf(a1.x, b1.x, fmaf(a1.y, b1.y, dot1));
        }
      }
      p[head][lane16] = j0 + lane16 < end ? (dot0 + dot1) * scale_log2 : -INFINITY;
    }
    __syncthreads();
    if (threadIdx.x < kMlaHeads) {
      const int h = threadIdx.x;
      float m = run_max[h];
      for (int j = 0; j < kMlaTile; ++j) m = fmaxf(m, p[h][j]);
      float sum = 0;
      for (int j = 0; j < kMlaTile; ++j) sum += p[h][j] = exp2f(p[h][j] - m);
      rescale[h] = exp2f(run_max[h] - m);
      run_sum[h] = run_sum[h] * rescale[h] + sum;
      run_max[h] = m;
    }
    __syncthreads();
    const float r = rescale[head];
    for (int q = 0; q < dims; ++q) {
      const int d = lane16 + kMlaTile * q;
      float v = acc[q] * r;
      for (int j = 0; j < kMlaTile; ++j) v = fmaf(p[head][j], __bfloat162float(ks[j][d]), v);
      acc[q] = v;
    }
  }
  __syncthreads();  // run_max / run_sum final for every thread
  if (head >= n_heads) return;
  const int h = h0 + head;
  if (split) {
    const int64_t at = (int64_t(s) * gridDim.x + blockIdx.x) * heads + h;
    for (int q = 0; q < dims; ++q) partial[at * rank + lane16 + kMlaTile * q] = acc[q];
    if (lane16 == 0) {
      float* ml = partial + int64_t(seqs.count) * gridDim.x * heads * rank;
      ml[2 * at] = run_max[head];
      ml[2 * at + 1] = run_sum[head];
    }
    return;
  }
  const float inv = 1.0f / run_sum[head];
  bf16* o = out + (int64_t(t) * heads + h) * rank;
  for (int q = 0; q < dims; ++q) o[lane16 + kMlaTile * q] = __float2bfloat16_rn(acc[q] * inv);
}

// Block (sequence, head): out = sum_r w_r partial_r / sum_r w_r l_r, w_r = 2^(m_r - max m).
__global__ void mla_combine_kernel(const float* __restrict__ partial, AttnSeqs seqs, bf16* __restrict__ out, int splits,
                                   int heads, int rank) {
  const int s = blockIdx.x / heads, h = blockIdx.x % heads;
  const float* ml = partial + int64_t(seqs.count) * splits * heads * rank;
  float m = -INFINITY;
  for (int r = 0; r < splits; ++r) m = fmaxf(m, ml[2 * ((int64_t(s) * splits + r) * heads + h)]);
  float den = 0;
  for (int r = 0; r < splits; ++r) {
    const int64_t at = (int64_t(s) * splits + r) * heads + h;
    den += exp2f(ml[2 * at] - m) * ml[2 * at + 1];
  }
  for (int d = threadIdx.x; d < rank; d += blockDim.x) {
    float num = 0;
    for (int r = 0; r < splits; ++r) {
      const int64_t at = (int64_t(s) * splits + r) * heads + h;
      num += exp2f(ml[2 * at] - m) * partial[at * rank + d];
    }
    out[(int64_t(seqs.token_offset[s]) * heads + h) * rank + d] = __float2bfloat16_rn(num / den);
  }
}

void mla_attention(const bf16* q_full, const bf16* cache, const AttnSeqs& seqs, int max_new_tokens, bf16* out_latent,
                   int heads, int rank, int rope_dim, int block_tokens, float scale, cudaStream_t s, float* workspace,
                   int splits) {
  if (seqs.count == 0 || max_new_tokens == 0) return;
  require(rank + rope_dim <= kMlaMaxWidth && rank <= kMlaMaxRank && rank % kMlaTile == 0 && (rank + rope_dim) % 8 == 0,
          "MLA on the GPU: kv_lora_rank + qk_rope_head_dim must be at most 576, the rank a multiple of 16");
  const float scale_log2 = scale * 1.4426950409f;
  if (workspace) {
    require(max_new_tokens == 1, "MLA decode: one new token per sequence");
    const dim3 grid(splits, ceil_div(heads, kMlaHeads), seqs.count);
    mla_attention_kernel<<<grid, kMlaThreads, 0, s>>>(q_full, cache, seqs, out_latent, workspace, heads, rank, rope_dim,
                                                      block_tokens, scale_log2);
    CUDA_CHECK_LAUNCH();
    mla_combine_kernel<<<seqs.count * heads, 128, 0, s>>>(workspace, seqs, out_latent, splits, heads, rank);
  } else {
    const dim3 grid(max_new_tokens, ceil_div(heads, kMlaHeads), seqs.count);
    mla_attention_kernel<<<grid, kMlaThreads, 0, s>>>(q_full, cache, seqs, out_latent, nullptr, heads, rank, rope_dim,
                                                      block_tokens, scale_log2);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace aidc
