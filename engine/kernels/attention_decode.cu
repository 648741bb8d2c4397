// Decode attention over the paged KV cache: one new query token per sequence. The context is cut
// into `splits` ranges (split-K, so small batches still fill the GPU); each block handles one
// (sequence, kv head, range) for all query heads sharing that kv head (GQA), and writes a partial
// result with its running max and sum; a second kernel combines the ranges.
#include <cfloat>

#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {

constexpr int kDecodeThreads = 128;
constexpr int kMaxGroup = 8;          // query heads per kv head handled by one block
constexpr int kMaxSplitTokens = 1024; // scores of one range live in shared memory

// Workspace layout: partial outputs [seq][split][head][head_dim], then max and sum [seq][split][head].
size_t decode_workspace_floats(int n_seqs, int heads, int head_dim, int splits) {
  return size_t(n_seqs) * splits * heads * (head_dim + 2);
}

int decode_splits(int n_seqs, int kv_heads, int max_context, int sm_count) {
  const int by_occupancy = ceil_div(2 * sm_count, n_seqs * kv_heads);
  const int by_memory = ceil_div(max_context, kMaxSplitTokens);
  const int by_length = ceil_div(max_context, 64);  // a range shorter than 64 tokens is not worth a block
  return std::max(by_memory, std::min(by_occupancy, by_length));
}

// kGroup: the most query heads per kv head the instantiation handles. MHA models get their own
// (kGroup 1): score and accumulator arrays sized for 8 heads would cost them 32 KB of shared memory
// and spilled registers per block, and with them the occupancy that keeps enough K/V loads in flight.
template <int HD, int kGroup>
__global__ void __launch_bounds__(kDecodeThreads) decode_kernel(const bf16* __restrict__ q, KvLayer cache, AttnSeqs seqs,
                                                                float* __restrict__ work, int heads, int kv_heads,
                                                                int block_tokens, float scale) {
  chain_start();
  constexpr int kLanesPerToken = HD / 8;           // each lane holds 8 dims of a row
  constexpr int kSubgroups = kDecodeThreads / kLanesPerToken;
  __shared__ float qs[kGroup][HD];
  __shared__ float scores[kGroup][kMaxSplitTokens];
  __shared__ float reduce[kSubgroups][HD];
  __shared__ float stats[kGroup][2];

  const int seq = blockIdx.z, kvh = blockIdx.y, split = blockIdx.x, splits = gridDim.x;
  const int group = heads / kv_heads;
  const int context = seqs.context[seq];
  const int per_split = ceil_div(context, splits);
  const int begin = split * per_split, end = min(context, begin + per_split), n = max(0, end - begin);
  const int* table = seqs.block_table + int64_t(seq) * seqs.table_stride;
  const int token_row = seqs.token_offset[seq];

  // Pre-scale q by scale * log2(e): the softmax then uses exp2.
  for (int i = threadIdx.x; i < group * HD; i += blockDim.x) {
    const int g = i / HD, d = i % HD;
    qs[g][d] = __bfloat162float(q[(int64_t(token_row) * heads + kvh * group + g) * HD + d]) * scale * 1.4426950409f;
  }
  __syncthreads();

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int sub_lane = lane % kLanesPerToken;
  const int subgroup = threadIdx.x / kLanesPerToken;
  auto row_of = [&](const bf16* base, int pos) {
    const int block = table[pos / block_tokens];
    return reinterpret_cast<const uint4*>(base + ((int64_t(block) * kv_heads + kvh) * block_tokens + pos % block_tokens) * HD) +
           sub_lane;
  };

  // Scores: tokens are dealt to subgroups of kLanesPerToken lanes, kUnroll rows in flight per lane.
  // Loop bounds are block-uniform so every lane reaches the shuffles.
  constexpr int kUnroll = 4;
  for (int base = 0; base < n; base += kSubgroups * kUnroll) {
    float kf[kUnroll][8];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int j = base + u * kSubgroups + subgroup;
      if (j < n) unpack8(*row_of(cache.k, begin + j), kf[u]);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int j = base + u * kSubgroups + subgroup;
      for (int g = 0; g < group; ++g) {
        float dot = 0;
#pragma unroll
        for (int e = 0; e < 8; ++e) dot = fmaf(kf[u][e], qs[g][sub_lane * 8 + e], dot);
#pragma unroll
        for (int o = kLanesPerToken / 2; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
        if (sub_lane == 0 && j < n) scores[g][j] = dot;
      }
    }
  }
  __syncthreads();
  // Max and sum per query head: warp w takes heads w, w + 4, ...
  for (int g = warp; g < group; g += kDecodeThreads / 32) {
    float m = -FLT_MAX;
    for (int j = lane; j < n; j += 32) m = fmaxf(m, scores[g][j]);
    m = warp_max(m);
    float l = 0;
    for (int j = lane; j < n; j += 32) {
      const float p = exp2f(scores[g][j] - m);
      scores[g][j] = p;
      l += p;
    }
    l = warp_sum(l);
    if (lane == 0) {
      stats[g][0] = m;
      stats[g][1] = l;
    }
  }
  __syncthreads();
  // Values: each subgroup accumulates its tokens, then the subgroups are summed through shared memory.
  float acc[kGroup][8] = {};
  for (int base = 0; base < n; base += kSubgroups * kUnroll) {
    float vf[kUnroll][8];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int j = base + u * kSubgroups + subgroup;
      if (j < n) unpack8(*row_of(cache.v, begin + j), vf[u]);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int j = base + u * kSubgroups + subgroup;
      if (j >= n) continue;
#pragma unroll
      for (int g = 0; g < kGroup; ++g) {
        if (g < group) {
          const float p = scores[g][j];
#pragma unroll
          for (int e = 0; e < 8; ++e) acc[g][e] = fmaf(p, vf[u][e], acc[g][e]);
        }
      }
    }
  }
  float* partial = work;
  float* ml = work + size_t(gridDim.z) * splits * heads * HD;
  for (int g = 0; g < group; ++g) {
#pragma unroll
    for (int e = 0; e < 8; ++e) reduce[subgroup][sub_lane * 8 + e] = acc[g][e];
    __syncthreads();
    const int h = kvh * group + g;
    for (int d = threadIdx.x; d < HD; d += blockDim.x) {
      float s = 0;
      for (int k = 0; k < kSubgroups; ++k) s += reduce[k][d];
      partial[((int64_t(seq) * splits + split) * heads + h) * HD + d] = s;
    }
    if (threadIdx.x == 0) {
      const int64_t at = ((int64_t(seq) * splits + split) * heads + h) * 2;
      ml[at] = n > 0 ? stats[g][0] : -FLT_MAX;
      ml[at + 1] = n > 0 ? stats[g][1] : 0.0f;
    }
    __syncthreads();
  }
}

template <int HD>
__global__ void decode_combine_kernel(const float* __restrict__ work, AttnSeqs seqs, bf16* __restrict__ out, int splits,
                                      int heads) {
  chain_start();
  const int seq = blockIdx.x / heads, h = blockIdx.x % heads;
  const float* partial = work;
  const float* ml = work + size_t(seqs.count) * splits * heads * HD;
  float m = -FLT_MAX;
  for (int s = 0; s < splits; ++s) m = fmaxf(m, ml[((int64_t(seq) * splits + s) * heads + h) * 2]);
  for (int d = threadIdx.x; d < HD; d += blockDim.x) {
    float num = 0, den = 0;
    for (int s = 0; s < splits; ++s) {
      const int64_t at = (int64_t(seq) * splits + s) * heads + h;
      const float w = exp2f(ml[at * 2] - m);
      num += w * partial[at * HD + d];
      den += w * ml[at * 2 + 1];
    }
    out[(int64_t(seqs.token_offset[seq]) * heads + h) * HD + d] = __float2bfloat16_rn(num / den);
  }
}

void attention_decode(const bf16* q, KvLayer cache, const AttnSeqs& seqs, bf16* out, float* workspace, int splits,
                      int heads, int kv_heads, int head_dim, int block_tokens, float scale, cudaStream_t s) {
  require(heads / kv_heads <= kMaxGroup, "decode attention: more than 8 query heads per kv head");
  if (seqs.count == 0) return;
  const dim3 grid(splits, kv_heads, seqs.count);
  const bool mha = heads == kv_heads;
  if (head_dim == 128) {
    if (mha) launch_chained(decode_kernel<128, 1>, grid, kDecodeThreads, 0, s, q, cache, seqs, workspace, heads, kv_heads, block_tokens, scale);
    else launch_chained(decode_kernel<128, kMaxGroup>, grid, kDecodeThreads, 0, s, q, cache, seqs, workspace, heads, kv_heads, block_tokens, scale);
    CUDA_CHECK_LAUNCH();
    launch_chained(decode_combine_kernel<128>, seqs.count * heads, 128, 0, s, workspace, seqs, out, splits, heads);
  } else if (head_dim == 64) {
    if (mha) launch_chained(decode_kernel<64, 1>, grid, kDecodeThreads, 0, s, q, cache, seqs, workspace, heads, kv_heads, block_tokens, scale);
    else launch_chained(decode_kernel<64, kMaxGroup>, grid, kDecodeThreads, 0, s, q, cache, seqs, workspace, heads, kv_heads, block_tokens, scale);
    CUDA_CHECK_LAUNCH();
    launch_chained(decode_combine_kernel<64>, seqs.count * heads, 64, 0, s, workspace, seqs, out, splits, heads);
  } else {
    fail("decode attention: head_dim " + std::to_string(head_dim) + " is not supported (64, 128)");
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace aidc
