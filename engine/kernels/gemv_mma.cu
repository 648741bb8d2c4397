// Small-batch linear layers on tensor cores: y = x W^T for 3..16 tokens. At these sizes the layer is
// still a weight stream (16 tokens are 32 FLOPs per weight byte against the H200's ~190 FLOP/B ridge),
// but the CUDA-core GEMV (gemv.cu) spends an FMA per weight per token and runs out of issue slots
// from about 3 tokens, while cuBLAS tiles for large N and reaches ~75% of the copy bandwidth.
// Here each warp streams 16-byte weight loads straight into mma.sync fragments, never through
// shared memory: a dot product does not care in which order its k terms are summed, so the k
// columns of one m16n8k16 product are taken in the order that lets every lane load 8 consecutive
// weights of one row, provided the input fragments use the same order. For lane (g = lane / 4,
// t = lane % 4) and a chunk of 32 columns from k0, the lane loads row g and row g + 8 of the tile
// at columns k0 + 8t .. k0 + 8t + 7, and token g's input at the same columns; its first 4 columns
// feed one mma (fragment columns 2t, 2t + 1, 2t + 8, 2t + 9), the last 4 the second.
// The block's warps split the columns into contiguous ranges and add their partial tiles at the end.
#include <algorithm>
#include <type_traits>

#include "kernels/common.cuh"
#include "kernels/gemv_rows.cuh"
#include "kernels/kernels.h"

namespace aidc {

constexpr int kMmaWarps = 8;   // split of the columns over the block's warps
constexpr int kMmaLoads = 8;   // 16-byte weight loads per lane in one batch (two batches in flight)

// NT: 8-token column tiles (1: up to 8 tokens, 2: up to 16). Each warp owns one 16-row tile, or in
// the SwiGLU form two: the gate tile and its up tile. (Two plain tiles per warp would halve the input
// loads, but leave 128 blocks for a 4096-row layer on 132 SMs.)
template <int NT, typename Out, bool Accumulate, bool Swiglu>
__global__ void __launch_bounds__(kMmaWarps * 32) gemv_mma_kernel(const bf16* __restrict__ w, const bf16* __restrict__ x,
                                                                  Out* __restrict__ y, int n_tokens, int out_features,
                                                                  int in_features) {
  constexpr int kMmaTiles = Swiglu ? 2 : 1, kMmaUnroll = kMmaLoads / (2 * kMmaTiles);  // 32-column chunks per batch
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  // Rows of each tile: plain, 16 consecutive rows; SwiGLU ([2F][in], gate rows then up rows), gate
  // rows i0..i0+15 and up rows F + i0..
  const int width = Swiglu ? out_features / 2 : out_features;
  int tile_row[kMmaTiles];
#pragma unroll
  for (int tile = 0; tile < kMmaTiles; ++tile)
    tile_row[tile] = blockIdx.x * 16 + tile * width;
  const uint4* wr[kMmaTiles][2];
#pragma unroll
  for (int tile = 0; tile < kMmaTiles; ++tile)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      // Rows past the end read the last row (a mapped address); their results are never stored.
      const int row = min(tile_row[tile] + g + 8 * h, out_features - 1);
      wr[tile][h] = reinterpret_cast<const uint4*>(w + int64_t(row) * in_features) + t;
    }
  const int chunks = in_features / 32, per_warp = ceil_div(chunks, kMmaWarps);
  const int first = warp * per_warp, last = min(chunks, first + per_warp);

  // Two batches of registers, used in turn: while one is summed, the other's loads are in flight, and
  // a batch is reloaded as soon as it has been used (one batch alone left the memory idle while it
  // was summed: ~60% of the copy bandwidth on the H200).
  uint4 wa[kMmaUnroll][kMmaTiles][2], wb[kMmaUnroll][kMmaTiles][2];
  auto load_batch = [&](uint4 (&dst)[kMmaUnroll][kMmaTiles][2], int c0) {
#pragma unroll
    for (int u = 0; u < kMmaUnroll; ++u)
#pragma unroll
      for (int tile = 0; tile < kMmaTiles; ++tile)
#pragma unroll
        for (int h = 0; h < 2; ++h)
          dst[u][tile][h] = c0 + u < last ? load_streaming(wr[tile][h] + 4 * (c0 + u)) : make_uint4(0, 0, 0, 0);
  };
  // Weights never depend on an earlier kernel: the first batches go out before waiting for it.
  load_batch(wa, first);
  load_batch(wb, first + kMmaUnroll);
  chain_start();

  float acc[kMmaTiles][NT][4] = {};
  const uint4* xr[NT];
  bool token_valid[NT];
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const int token = nt * 8 + g;
    token_valid[nt] = token < n_tokens;
    xr[nt] = reinterpret_cast<const uint4*>(x + int64_t(min(token, n_tokens - 1)) * in_features) + t;
  }
  auto sum_batch = [&](const uint4 (&wv)[kMmaUnroll][kMmaTiles][2], int c0) {
#pragma unroll
    for (int u = 0; u < kMmaUnroll; ++u) {
      if (c0 + u >= last) break;
      uint4 xv[NT];
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) xv[nt] = token_valid[nt] ? __ldg(xr[nt] + 4 * (c0 + u)) : make_uint4(0, 0, 0, 0);
#pragma unroll
      for (int tile = 0; tile < kMmaTiles; ++tile) {
        const uint4 lo = wv[u][tile][0], hi = wv[u][tile][1];
        const uint32_t a0[4] = {lo.x, hi.x, lo.y, hi.y}, a1[4] = {lo.z, hi.z, lo.w, hi.w};
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          mma_16816(acc[tile][nt], a0, xv[nt].x, xv[nt].y);
          mma_16816(acc[tile][nt], a1, xv[nt].z, xv[nt].w);
        }
      }
    }
  };
  for (int c0 = first; c0 < last; c0 += 2 * kMmaUnroll) {
    sum_batch(wa, c0);
    if (c0 + 2 * kMmaUnroll < last) load_batch(wa, c0 + 2 * kMmaUnroll);
    sum_batch(wb, c0 + kMmaUnroll);
    if (c0 + 3 * kMmaUnroll < last) load_batch(wb, c0 + 3 * kMmaUnroll);
  }

  // The warps' partial tiles, summed in shared memory: [warp][tile][nt][register][lane].
  constexpr int kPerWarp = kMmaTiles * NT * 4 * 32;
  __shared__ float partial[kMmaWarps * kPerWarp];
#pragma unroll
  for (int tile = 0; tile < kMmaTiles; ++tile)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int r = 0; r < 4; ++r) partial[warp * kPerWarp + ((tile * NT + nt) * 4 + r) * 32 + lane] = acc[tile][nt][r];
  __syncthreads();
  // One output per thread and pass; element e = ((tile, nt), register, lane) names its row and token.
  constexpr int kOutputs = (Swiglu ? 1 : kMmaTiles) * NT * 4 * 32;
  for (int e = threadIdx.x; e < kOutputs; e += blockDim.x) {
    const int l = e % 32, r = (e / 32) % 4, nt = (e / 128) % NT, tile = e / (128 * NT);
    const int row_in_tile = l / 4 + 8 * (r / 2), token = nt * 8 + 2 * (l % 4) + (r & 1);
    if (token >= n_tokens) continue;
    auto total = [&](int element) {
      float sum = 0;
#pragma unroll
      for (int w8 = 0; w8 < kMmaWarps; ++w8) sum += partial[w8 * kPerWarp + element];
      return sum;
    };
    if constexpr (Swiglu) {
      const int column = tile_row[0] + row_in_tile;
      if (column >= width) continue;
      y[int64_t(token) * width + column] = static_cast<Out>(swiglu_of_stored(total(e), total(e + NT * 4 * 32)));
    } else {
      const int row = tile_row[tile] + row_in_tile;
      if (row >= out_features) continue;
      Out* dst = y + int64_t(token) * out_features + row;
      if constexpr (Accumulate) *dst = static_cast<Out>(static_cast<float>(*dst) + total(e));
      else *dst = static_cast<Out>(total(e));
    }
  }
}

bool gemv_mma_supported(int n_tokens, int in_features) {
  return n_tokens >= 1 && n_tokens <= kGemvMmaMaxTokens && in_features % 32 == 0 && in_features > 0;
}

template <int NT, typename Out, bool Acc, bool Swiglu>
static void launch_mma(const bf16* w, const bf16* x, Out* y, int n_tokens, int out_features, int in_features,
                       cudaStream_t s) {
  const int blocks = ceil_div(Swiglu ? out_features / 2 : out_features, 16);
  launch_chained(gemv_mma_kernel<NT, Out, Acc, Swiglu>, dim3(blocks), kMmaWarps * 32, 0, s, w, x, y, n_tokens,
                 out_features, in_features);
  CUDA_CHECK_LAUNCH();
}

template <int NT>
static void dispatch_mma(const bf16* w, const bf16* x, void* y, bool y_is_float, bool accumulate, int n_tokens,
                         int out_features, int in_features, cudaStream_t s, bool swiglu_output) {
  if (swiglu_output) {
    require(!y_is_float && !accumulate && out_features % 2 == 0,
            "gemv_mma: the SwiGLU epilogue stores bf16 activations from gate and up halves");
    return launch_mma<NT, bf16, false, true>(w, x, static_cast<bf16*>(y), n_tokens, out_features, in_features, s);
  }
  if (y_is_float && accumulate)
    return launch_mma<NT, float, true, false>(w, x, static_cast<float*>(y), n_tokens, out_features, in_features, s);
  if (y_is_float)
    return launch_mma<NT, float, false, false>(w, x, static_cast<float*>(y), n_tokens, out_features, in_features, s);
  require(!accumulate, "gemv_mma: accumulating into bf16 is not supported");
  launch_mma<NT, bf16, false, false>(w, x, static_cast<bf16*>(y), n_tokens, out_features, in_features, s);
}

void gemv_mma(const bf16* w, const bf16* x, void* y, bool y_is_float, bool accumulate, int n_tokens, int out_features,
              int in_features, cudaStream_t s, bool swiglu_output) {
  require(gemv_mma_supported(n_tokens, in_features), "gemv_mma: unsupported shape");
  if (n_tokens <= 8) dispatch_mma<1>(w, x, y, y_is_float, accumulate, n_tokens, out_features, in_features, s, swiglu_output);
  else dispatch_mma<2>(w, x, y, y_is_float, accumulate, n_tokens, out_features, in_features, s, swiglu_output);
}

}  // namespace aidc
