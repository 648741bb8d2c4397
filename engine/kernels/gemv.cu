// Small-batch linear layers (decode): y = x W^T for up to 8 tokens. Pure weight streaming, so the
// goal is HBM bandwidth: each warp owns two output rows and keeps 8 independent 16-byte weight loads
// in flight; the tokens' inputs sit in shared memory and are reused by every row of the block.
// The grouped form (MoE experts at decode) runs one such product per (token, expert) pair, blockIdx.y
// picking the pair: the pair's expert selects the weight matrix, its token the input row.
#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {

constexpr int kGemvWarps = 8;
constexpr int kRowsPerWarp = 2;
constexpr int kGemvMaxSmem = 96 * 1024;

template <int T, typename Out, bool Accumulate>
__global__ void __launch_bounds__(kGemvWarps * 32) gemv_kernel(const bf16* __restrict__ w, const bf16* __restrict__ x,
                                                               Out* __restrict__ y, int out_features, int in_features,
                                                               GemvGroups groups, bool swiglu_input) {
  chain_start();
  extern __shared__ uint4 xs[];  // [T][in/8]
  const int in8 = in_features / 8, x_stride8 = (swiglu_input ? 2 : 1) * in8;
  if (groups.expert_of_pair) {  // pair blockIdx.y: expert weights, its token's input row, its own output row
    const int pair = blockIdx.y;
    w += groups.expert_of_pair[pair] * groups.expert_stride;
    x += int64_t(pair / groups.pairs_per_token) * x_stride8 * 8;
    y += int64_t(pair) * out_features;
  }
  const uint4* xg = reinterpret_cast<const uint4*>(x);
  for (int i = threadIdx.x; i < T * in8; i += blockDim.x) {
    const uint4* row = xg + (i / in8) * x_stride8;
    if (swiglu_input) {  // silu(gate) * up, rounded to bf16 as the swiglu kernel does
      float g[8], u[8];
      unpack8(row[i % in8], g);
      unpack8(row[in8 + i % in8], u);
#pragma unroll
      for (int e = 0; e < 8; ++e) g[e] = g[e] / (1.0f + __expf(-g[e])) * u[e];
      xs[i] = pack8(g);
    } else {
      xs[i] = row[i % in8];
    }
  }
  __syncthreads();

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = (blockIdx.x * kGemvWarps + warp) * kRowsPerWarp;
  if (row0 >= out_features) return;
  const int rows = min(kRowsPerWarp, out_features - row0);
  const uint4* wr[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
    wr[r] = reinterpret_cast<const uint4*>(w + int64_t(row0 + min(r, rows - 1)) * in_features);

  // Every iteration issues all its loads, predicated at the row's end, so short rows (an expert's
  // 1408-wide down projection) keep as many bytes in flight as long ones.
  float acc[kRowsPerWarp][T] = {};
  constexpr int kUnroll = 4;
  for (int k0 = lane; k0 < in8; k0 += 32 * kUnroll) {
    uint4 wv[kRowsPerWarp][kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r)
        wv[r][u] = k0 + 32 * u < in8 ? load_streaming(wr[r] + k0 + 32 * u) : make_uint4(0, 0, 0, 0);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (k0 + 32 * u >= in8) break;
#pragma unroll
      for (int t = 0; t < T; ++t) {
        float xf[8];
        unpack8(xs[t * in8 + k0 + 32 * u], xf);
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
          float wf[8];
          unpack8(wv[r][u], wf);
#pragma unroll
          for (int e = 0; e < 8; ++e) acc[r][t] = fmaf(wf[e], xf[e], acc[r][t]);
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int t = 0; t < T; ++t) {
      const float v = warp_sum(acc[r][t]);
      if (lane == 0 && r < rows) {
        Out* dst = y + int64_t(t) * out_features + row0 + r;
        if constexpr (Accumulate) *dst = static_cast<Out>(static_cast<float>(*dst) + v);
        else *dst = static_cast<Out>(v);
      }
    }
}

bool gemv_supported(int n_tokens, int in_features) {
  return n_tokens >= 1 && n_tokens <= 8 && in_features % 8 == 0 && size_t(n_tokens) * in_features * 2 <= kGemvMaxSmem;
}

template <int T, typename Out, bool Acc>
static void launch(const bf16* w, const bf16* x, Out* y, int out_features, int in_features, const GemvGroups& groups,
                   int n_pairs, bool swiglu_input, cudaStream_t s) {
  const size_t smem = size_t(T) * in_features * 2;
  static bool configured = false;  // once per instantiation: allow more than 48 KB of shared memory
  if (!configured) {
    CUDA_CHECK(cudaFuncSetAttribute(gemv_kernel<T, Out, Acc>, cudaFuncAttributeMaxDynamicSharedMemorySize, kGemvMaxSmem));
    configured = true;
  }
  const int blocks = ceil_div(out_features, kGemvWarps * kRowsPerWarp);
  launch_chained(gemv_kernel<T, Out, Acc>, dim3(blocks, n_pairs), kGemvWarps * 32, smem, s, w, x, y, out_features, in_features, groups, swiglu_input);
  CUDA_CHECK_LAUNCH();
}

template <int T>
static void dispatch_out(const bf16* w, const bf16* x, void* y, bool y_is_float, bool accumulate, int out_features,
                         int in_features, const GemvGroups& g, int n_pairs, bool swiglu_input, cudaStream_t s) {
  if (y_is_float && accumulate)
    launch<T, float, true>(w, x, static_cast<float*>(y), out_features, in_features, g, n_pairs, swiglu_input, s);
  else if (y_is_float)
    launch<T, float, false>(w, x, static_cast<float*>(y), out_features, in_features, g, n_pairs, swiglu_input, s);
  else if (!accumulate)
    launch<T, bf16, false>(w, x, static_cast<bf16*>(y), out_features, in_features, g, n_pairs, swiglu_input, s);
  else fail("gemv: accumulating into bf16 is not supported");
}

void gemv(const bf16* w, const bf16* x, void* y, bool y_is_float, bool accumulate, int n_tokens, int out_features,
          int in_features, cudaStream_t s, bool swiglu_input) {
  require(gemv_supported(n_tokens, in_features), "gemv: unsupported shape");
  const GemvGroups dense{};
  switch (n_tokens) {
    case 1: return dispatch_out<1>(w, x, y, y_is_float, accumulate, out_features, in_features, dense, 1, swiglu_input, s);
    case 2: return dispatch_out<2>(w, x, y, y_is_float, accumulate, out_features, in_features, dense, 1, swiglu_input, s);
    case 3: return dispatch_out<3>(w, x, y, y_is_float, accumulate, out_features, in_features, dense, 1, swiglu_input, s);
    case 4: return dispatch_out<4>(w, x, y, y_is_float, accumulate, out_features, in_features, dense, 1, swiglu_input, s);
    case 5: return dispatch_out<5>(w, x, y, y_is_float, accumulate, out_features, in_features, dense, 1, swiglu_input, s);
    case 6: return dispatch_out<6>(w, x, y, y_is_float, accumulate, out_features, in_features, dense, 1, swiglu_input, s);
    case 7: return dispatch_out<7>(w, x, y, y_is_float, accumulate, out_features, in_features, dense, 1, swiglu_input, s);
    default: return dispatch_out<8>(w, x, y, y_is_float, accumulate, out_features, in_features, dense, 1, swiglu_input, s);
  }
}

void grouped_gemv(const bf16* w, const GemvGroups& groups, const bf16* x, void* y, bool y_is_float, int n_pairs,
                  int out_features, int in_features, cudaStream_t s, bool swiglu_input) {
  require(groups.expert_of_pair && gemv_supported(1, in_features), "grouped gemv: unsupported shape");
  require(n_pairs <= 65535, "grouped gemv: too many (token, expert) pairs");
  dispatch_out<1>(w, x, y, y_is_float, false, out_features, in_features, groups, n_pairs, swiglu_input, s);
}

}  // namespace aidc
