// MLA (DeepSeek V2/V3) attention over the compressed cache, in the absorbed form: the cache holds, per
// token, the normalised latent c (kv_lora_rank values) and the rotated shared rope key (qk_rope_dim),
// 576 values for V2/V3. Queries arrive already multiplied by W_UK (q_lat = q_nope W_UK, done by a
// batched GEMM in the backend) and followed by their rotated rope part, so every head attends with
// one 576-wide dot per cached token (multi-query attention) and its output stays in latent space
// (o_lat = sum p c), mapped back through W_UV by another batched GEMM. The engine decodes this way;
// prefill expands the latent instead (mla_prefill_attention, attention_prefill.cu). The CPU reference
// (CpuModel::mla_attention) expands keys and values; the two are equal up to rounding.
//
// The absorbed form does 2 (2 rank + rope) FLOPs per cached token and head for 2 (rank + rope) bytes:
// ~30 FLOP/byte at 16 heads (V2-Lite), ~240 at 128 (V3), beyond what CUDA-core FMAs sustain at HBM
// bandwidth (H200: 67 TFLOP/s fp32 over 4.8 TB/s, ~14 FLOP/byte). So both products run on tensor
// cores (mma.sync m16n8k16, the 16 heads of a block as the m dimension): S = Q K^T over a tile of
// cached rows, an online softmax through shared memory, O += P V with V = the rows' latent part.
#include <algorithm>

#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {

constexpr int kMlaHeads = 16;  // query heads per block: the m of the mma tiles
constexpr int kMlaRows = 32;   // cached rows per tile
constexpr int kMlaThreads = 256;
constexpr int kMlaWarps = kMlaThreads / 32;
constexpr int kMlaPLd = 40;  // P rows of 40 bf16 (80 bytes): the 8 rows an ldmatrix matrix reads fall in distinct banks

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
  return std::max(1, std::min(ceil_div(2 * sm_count, blocks), ceil_div(max_context, kMlaRows)));
}

// Shared memory of one block: Q [16][W], K tiles [2][32][W] (W = smem_width(rank + rope), swizzled),
// scores [16][32] (fp32, log2-scaled), P [16][kMlaPLd] (bf16), then each head's running max, sum and
// last rescale.
template <int RANK, int WIDTH>
struct MlaTiles {
  static constexpr int W = smem_width(WIDTH);
  static constexpr size_t q = 0;
  static constexpr size_t k = q + size_t(kMlaHeads) * W * sizeof(bf16);
  static constexpr size_t s = k + size_t(2 * kMlaRows) * W * sizeof(bf16);
  static constexpr size_t p = s + size_t(kMlaHeads) * kMlaRows * sizeof(float);
  static constexpr size_t stats = p + size_t(kMlaHeads) * kMlaPLd * sizeof(bf16);
  static constexpr size_t bytes = stats + 3 * kMlaHeads * sizeof(float);
};

// Block (new token i of sequence s, group of 16 heads): online softmax over the token's causal
// context in tiles of 32 cached rows, double-buffered through cp.async. Per tile: warps 0-3 each score
// 8 rows for the 16 heads (S = Q K^T, k over rank + rope); every warp then takes 2 heads' softmax
// step (P to shared memory as bf16); every warp accumulates its 16-column groups of the latent output
// (O += P V, V = the rows' first rank values, read transposed from the same tile). Decode launches
// split the context instead (blockIdx.x = range, one new token per sequence) and write unnormalised
// partial outputs with their max and sum to `partial` ([seq][split][head][rank], then
// [seq][split][head][2]); mla_combine_kernel merges the ranges.
template <int RANK, int WIDTH>
__global__ void __launch_bounds__(kMlaThreads, 2) mla_attention_kernel(const bf16* __restrict__ q_full,
                                                                    const bf16* __restrict__ cache, AttnSeqs seqs,
                                                                    bf16* __restrict__ out, float* __restrict__ partial,
                                                                    int heads, int block_tokens, float scale_log2) {
  using Tiles = MlaTiles<RANK, WIDTH>;
  constexpr int W = Tiles::W, kChunks = WIDTH / 8, kSteps = WIDTH / 16, kRowBytes = W * sizeof(bf16);
  constexpr int kGroups = RANK / 16, kGroupsPerWarp = (kGroups + kMlaWarps - 1) / kMlaWarps;
  static_assert(WIDTH % 16 == 0 && RANK % 16 == 0, "mma steps of 16");
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* qs = reinterpret_cast<bf16*>(smem + Tiles::q);
  bf16* ks = reinterpret_cast<bf16*>(smem + Tiles::k);
  float* scores = reinterpret_cast<float*>(smem + Tiles::s);
  bf16* ps = reinterpret_cast<bf16*>(smem + Tiles::p);
  float* run_max = reinterpret_cast<float*>(smem + Tiles::stats);
  float *run_sum = run_max + kMlaHeads, *rescale = run_sum + kMlaHeads;

  const bool split = partial != nullptr;
  const int s = blockIdx.z, i = split ? 0 : blockIdx.x;
  if (i >= seqs.n_new[s]) return;
  const int t = seqs.token_offset[s] + i, context = seqs.context[s] - seqs.n_new[s] + i + 1;
  int begin = 0, end = context;
  if (split) {
    const int per = ceil_div(ceil_div(context, gridDim.x), kMlaRows) * kMlaRows;  // whole tiles per range
    begin = min(context, int(blockIdx.x) * per);
    end = min(context, begin + per);
  }
  const int h0 = blockIdx.y * kMlaHeads, n_heads = min(kMlaHeads, heads - h0);
  const int* table = seqs.block_table + int64_t(s) * seqs.table_stride;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, tq = lane % 4;
  if (threadIdx.x < kMlaHeads) run_max[threadIdx.x] = -INFINITY, run_sum[threadIdx.x] = 0.0f;

  // Rows past the range are zeros (their scores are masked; P is 0 there, never NaN).
  auto load_tile = [&](int j0, int stage) {
    for (int w = threadIdx.x; w < kMlaRows * kChunks; w += kMlaThreads) {
      const int r = w / kChunks, c = w % kChunks, pos = j0 + r;
      const bool valid = pos < end;
      const int64_t row = valid ? int64_t(table[pos / block_tokens]) * block_tokens + pos % block_tokens : 0;
      cp_async16_zfill(ks + stage * kMlaRows * W + swizzled<W>(r, c), cache + row * WIDTH + c * 8, valid);
    }
    cp_async_commit();
  };
  const int n_tiles = ceil_div(end - begin, kMlaRows);
  if (n_tiles > 0) {
    for (int w = threadIdx.x; w < kMlaHeads * kChunks; w += kMlaThreads) {  // heads past the group: zeros
      const int hh = w / kChunks, c = w % kChunks;
      cp_async16_zfill(qs + swizzled<W>(hh, c), q_full + (int64_t(t) * heads + h0 + min(hh, n_heads - 1)) * WIDTH + c * 8,
                       hh < n_heads);
    }
    load_tile(begin, 0);  // one group with Q
  }

  // ldmatrix lane addresses (unswizzled; lane_swizzled adds the columns): Q rows lane % 16, chunk
  // lane / 16 (the A fragment of one 16-column step); K rows 8 warp + lane % 8, chunk lane / 8 (the B
  // fragments of two 16-column steps for the warp's 8 rows); V rows 8 ((lane / 8) % 2) + lane % 8,
  // chunk lane / 16, transposed (the B fragments of two 8-column blocks over 16 rows); P rows lane %
  // 16, chunk lane / 16.
  const unsigned q_lane = smem_address(qs) + (lane % 16) * kRowBytes + (lane / 16) * 16;
  const unsigned k_lane = smem_address(ks) + (warp * 8 + lane % 8) * kRowBytes + (lane / 8) * 16;
  const unsigned v_lane = smem_address(ks) + ((lane / 8) % 2 * 8 + lane % 8) * kRowBytes + (lane / 16) * 16;
  const unsigned p_lane = smem_address(ps) + (lane % 16) * kMlaPLd * sizeof(bf16) + (lane / 16) * 16;
  float o[kGroupsPerWarp][2][4] = {};  // heads g and g + 8, columns 16 (warp + 8 k) + 8 x + 2 tq (+ 1)

  for (int it = 0; it < n_tiles; ++it) {
    cp_async_wait<0>();
    // Tile `it` is visible to all warps, and all have finished tile it - 1 (its stage, scores and P).
    __syncthreads();
    if (it + 1 < n_tiles) load_tile(begin + (it + 1) * kMlaRows, (it + 1) & 1);
    const int j0 = begin + it * kMlaRows;
    const unsigned stage = (it & 1) * kMlaRows * kRowBytes;
    if (warp < kMlaRows / 8) {  // S for rows 8 warp .. 8 warp + 7
      float acc[4] = {};
#pragma unroll 4
      for (int kk = 0; kk < kSteps; kk += 2) {
        uint32_t a[4], b[4];  // b: the steps kk, then kk + 1
        ldmatrix_x4(b, lane_swizzled(k_lane + stage, kk * 32, lane));
        ldmatrix_x4(a, lane_swizzled(q_lane, kk * 32, lane));
        mma_16816(acc, a, b[0], b[1]);
        if (kk + 1 < kSteps) {
          ldmatrix_x4(a, lane_swizzled(q_lane, (kk + 1) * 32, lane));
          mma_16816(acc, a, b[2], b[3]);
        }
      }
      const int r = warp * 8 + 2 * tq;
#pragma unroll
      for (int e = 0; e < 4; ++e)
        scores[(g + 8 * (e / 2)) * kMlaRows + r + (e & 1)] = j0 + r + (e & 1) < end ? acc[e] * scale_log2 : -INFINITY;
    }
    __syncthreads();
    {  // online softmax: warp w takes heads 2w and 2w + 1, a half-warp each, two rows per lane
      const int hh = 2 * warp + lane / 16, r = (lane % 16) * 2;
      const float s0 = scores[hh * kMlaRows + r], s1 = scores[hh * kMlaRows + r + 1];
      float m = fmaxf(s0, s1);
#pragma unroll
      for (int x = 8; x >= 1; x /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, x));
      const float old_max = run_max[hh], new_max = fmaxf(old_max, m);  // finite: the tile has a row in range
      const float p0 = exp2f(s0 - new_max), p1 = exp2f(s1 - new_max);
      float sum = p0 + p1;
#pragma unroll
      for (int x = 8; x >= 1; x /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, x);
      *reinterpret_cast<__nv_bfloat162*>(ps + hh * kMlaPLd + r) = __floats2bfloat162_rn(p0, p1);
      __syncwarp();  // every lane has read run_max[hh]
      if (lane % 16 == 0) {
        const float alpha = exp2f(old_max - new_max);
        rescale[hh] = alpha;
        run_sum[hh] = run_sum[hh] * alpha + sum;
        run_max[hh] = new_max;
      }
    }
    __syncthreads();
    const float alpha0 = rescale[g], alpha1 = rescale[g + 8];
#pragma unroll
    for (int k = 0; k < kGroupsPerWarp; ++k) {
      const int group = warp + kMlaWarps * k;
      if (group >= kGroups) break;
#pragma unroll
      for (int x = 0; x < 2; ++x) {
        o[k][x][0] *= alpha0, o[k][x][1] *= alpha0;
        o[k][x][2] *= alpha1, o[k][x][3] *= alpha1;
      }
#pragma unroll
      for (int kk = 0; kk < kMlaRows / 16; ++kk) {
        uint32_t a[4], b[4];  // b: columns 16 group .. + 7, then + 8 .. + 15
        ldmatrix_x4(a, p_lane + kk * 32);
        ldmatrix_x4_trans(b, lane_swizzled(v_lane + stage, group * 32, lane) + kk * 16 * kRowBytes);
        mma_16816(o[k][0], a, b[0], b[1]);
        mma_16816(o[k][1], a, b[2], b[3]);
      }
    }
  }
  __syncthreads();  // the running sums are final (and initialised, for an empty range)
  const int64_t split_at = (int64_t(s) * gridDim.x + blockIdx.x) * heads + h0;  // [seq][split][head] of head h0
#pragma unroll
  for (int k = 0; k < kGroupsPerWarp; ++k) {
    const int group = warp + kMlaWarps * k;
    if (group >= kGroups) break;
#pragma unroll
    for (int x = 0; x < 2; ++x)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int head = g + 8 * half, col = group * 16 + x * 8 + 2 * tq;
        if (head >= n_heads) continue;
        const float v0 = o[k][x][2 * half], v1 = o[k][x][2 * half + 1];
        if (split) {
          *reinterpret_cast<float2*>(partial + (split_at + head) * RANK + col) = make_float2(v0, v1);
        } else {
          const float inv = 1.0f / run_sum[head];
          *reinterpret_cast<__nv_bfloat162*>(out + (int64_t(t) * heads + h0 + head) * RANK + col) =
              __floats2bfloat162_rn(v0 * inv, v1 * inv);
        }
      }
  }
  if (split && threadIdx.x < n_heads) {
    float* ml = partial + int64_t(seqs.count) * gridDim.x * heads * RANK;
    ml[2 * (split_at + threadIdx.x)] = run_max[threadIdx.x];
    ml[2 * (split_at + threadIdx.x) + 1] = run_sum[threadIdx.x];
  }
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

// The (rank, rope) pairs instantiated: DeepSeek V2 and V3 (512, 64) and the tiny test models (64, 16).
bool mla_attention_supported(int rank, int rope_dim) {
  return (rank == 512 && rope_dim == 64) || (rank == 64 && rope_dim == 16);
}

template <int RANK, int WIDTH>
static void launch_mla(dim3 grid, const bf16* q_full, const bf16* cache, const AttnSeqs& seqs, bf16* out,
                       float* partial, int heads, int block_tokens, float scale_log2, cudaStream_t s) {
  static bool configured = false;
  if (!configured) {
    CUDA_CHECK(cudaFuncSetAttribute(mla_attention_kernel<RANK, WIDTH>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    MlaTiles<RANK, WIDTH>::bytes));
    configured = true;
  }
  mla_attention_kernel<RANK, WIDTH><<<grid, kMlaThreads, MlaTiles<RANK, WIDTH>::bytes, s>>>(
      q_full, cache, seqs, out, partial, heads, block_tokens, scale_log2);
  CUDA_CHECK_LAUNCH();
}

void mla_attention(const bf16* q_full, const bf16* cache, const AttnSeqs& seqs, int max_new_tokens, bf16* out_latent,
                   int heads, int rank, int rope_dim, int block_tokens, float scale, cudaStream_t s, float* workspace,
                   int splits) {
  if (seqs.count == 0 || max_new_tokens == 0) return;
  require(mla_attention_supported(rank, rope_dim), "MLA attention on the GPU: kv_lora_rank/qk_rope_head_dim " +
                                                       std::to_string(rank) + "/" + std::to_string(rope_dim) +
                                                       " are not supported (512/64, 64/16)");
  require(!workspace || max_new_tokens == 1, "MLA decode: one new token per sequence");
  const dim3 grid(workspace ? splits : max_new_tokens, ceil_div(heads, kMlaHeads), seqs.count);
  const float scale_log2 = scale * 1.4426950409f;
  if (rank == 512) launch_mla<512, 576>(grid, q_full, cache, seqs, out_latent, workspace, heads, block_tokens, scale_log2, s);
  else launch_mla<64, 80>(grid, q_full, cache, seqs, out_latent, workspace, heads, block_tokens, scale_log2, s);
  if (workspace) {
    mla_combine_kernel<<<seqs.count * heads, 128, 0, s>>>(workspace, seqs, out_latent, splits, heads, rank);
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace aidc
