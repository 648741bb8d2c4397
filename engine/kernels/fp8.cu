// fp8 e4m3 linears with 128x128 block scales (DeepSeek-V3's weight format): the decode GEMV and its
// grouped form for MoE experts, dequantisation to bf16 for larger steps, and random weights.
// The GEMV follows gemv.cu's plan (a warp per row pair, several 16-byte weight loads in flight per
// lane, the tokens' inputs in shared memory, weights loaded before waiting on the previous kernel)
// with half the weight bytes: a 16-byte load is 16 weights, 8 of them span a row's 128-column block,
// so each chunk's partial dot product is multiplied by its block's scale once.
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>
#include <type_traits>

#include "common/fp8.h"
#include "core/model/config.hpp"
#include "kernels/common.cuh"
#include "kernels/gemv_rows.cuh"
#include "kernels/kernels.h"

namespace aidc {

constexpr int kFp8Warps = 8;
constexpr int kFp8Unroll = 4;                  // 16-byte loads per row in flight per lane
constexpr int kFp8MaxSmem = 96 * 1024;
constexpr int kCodesPerChunk = 16;             // e4m3 codes in one 16-byte load
static_assert(kFp8BlockSize % kCodesPerChunk == 0 && kFp8BlockSize == 128, "a chunk never straddles two scale blocks");

// 16 e4m3 codes (in memory order) -> floats; e4m3 -> half is exact, two codes per instruction.
__device__ __forceinline__ void decode16(const uint4& v, float (&f)[16]) {
  const uint32_t words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const __nv_fp8x2_storage_t pair = static_cast<__nv_fp8x2_storage_t>(words[i] >> (16 * h));
      const float2 fv = __half22float2(__half2(__nv_cvt_fp8x2_to_halfraw2(pair, __NV_E4M3)));  // low byte -> .x
      f[4 * i + 2 * h] = fv.x;
      f[4 * i + 2 * h + 1] = fv.y;
    }
}

// Warp p owns rows 2p and 2p + 1, or under swiglu_out gate row p and up row F + p (stores silu(gate) * up
// as gemv.cu's epilogue does). Grouped (groups.expert_of_pair): blockIdx.y is the (token, expert) pair.
template <int T, typename Out, bool Accumulate>
__global__ void __launch_bounds__(kFp8Warps * 32) fp8_gemv_kernel(Fp8Weight w, const bf16* __restrict__ x,
                                                                  Out* __restrict__ y, int out_features,
                                                                  int in_features, Fp8Groups groups, bool swiglu_out) {
  extern __shared__ uint4 xs[];  // [T][in/8] bf16
  const int grid_cols = ceil_div(in_features, kFp8BlockSize);
  const uint8_t* codes = w.codes;
  const float* scales = w.scales;
  int64_t x_offset = 0;
  float combine_weight = 1.0f;
  if (groups.expert_of_pair) {  // the expert comes from the router kernel: wait for it
    chain_start();
    const int entry = blockIdx.y, expert = groups.expert_of_pair[entry];
    codes += expert * groups.expert_stride;
    scales += expert * groups.scale_stride;
    x_offset = int64_t(entry / groups.pairs_per_token) * in_features;
    y += int64_t(groups.weight_of_pair ? entry / groups.top_k : entry) * (swiglu_out ? out_features / 2 : out_features);
    if (groups.weight_of_pair) combine_weight = groups.weight_of_pair[entry];
  }
  const int in8 = in_features / 8, in16 = in_features / kCodesPerChunk;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, pair = blockIdx.x * kFp8Warps + warp;
  int row[2], rows;
  owned_rows(pair, out_features, swiglu_out, row, rows);
  const uint4* wr[2];
  const float* sr[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int rr = min(row[r], out_features - 1);
    wr[r] = reinterpret_cast<const uint4*>(codes + int64_t(rr) * in_features);
    sr[r] = scales + fp8_scale_row(w, rr) * grid_cols;
  }
  auto load_batch = [&](uint4 (&wv)[2][kFp8Unroll], int k0) {
#pragma unroll
    for (int u = 0; u < kFp8Unroll; ++u)
#pragma unroll
      for (int r = 0; r < 2; ++r)
        wv[r][u] = rows > 0 && k0 + 32 * u < in16 ? load_streaming(wr[r] + k0 + 32 * u) : make_uint4(0, 0, 0, 0);
  };
  uint4 wv[2][kFp8Unroll];
  load_batch(wv, lane);
  if (!groups.expert_of_pair) chain_start();
  const uint4* xg = reinterpret_cast<const uint4*>(x + x_offset);
  for (int i = threadIdx.x; i < T * in8; i += blockDim.x) xs[i] = xg[i];
  __syncthreads();
  if (rows == 0) return;

  float acc[2][T] = {};
  for (int k0 = lane; k0 < in16; k0 += 32 * kFp8Unroll) {
    if (k0 != lane) load_batch(wv, k0);
#pragma unroll
    for (int u = 0; u < kFp8Unroll; ++u) {
      const int k = k0 + 32 * u;
      if (k >= in16) break;
      const int block = k * kCodesPerChunk / kFp8BlockSize;
      float wf[2][16];
      decode16(wv[0][u], wf[0]);
      decode16(wv[1][u], wf[1]);
      const float scale[2] = {__ldg(sr[0] + block), __ldg(sr[1] + block)};
#pragma unroll
      for (int t = 0; t < T; ++t) {
        float xa[8], xb[8];
        unpack8(xs[t * in8 + 2 * k], xa);
        unpack8(xs[t * in8 + 2 * k + 1], xb);
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          float dot = 0;
#pragma unroll
          for (int e = 0; e < 8; ++e) dot = fmaf(wf[r][e], xa[e], fmaf(wf[r][8 + e], xb[e], dot));
          acc[r][t] = fmaf(scale[r], dot, acc[r][t]);
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < 2; ++r)
#pragma unroll
    for (int t = 0; t < T; ++t) acc[r][t] = warp_sum(acc[r][t]);
  if (lane != 0) return;
  store_owned_rows<T, Out, Accumulate>(acc, y, pair, row, rows, out_features, swiglu_out, groups.weight_of_pair != nullptr,
                                       combine_weight);
}

bool fp8_gemv_supported(int n_tokens, int in_features) {
  return n_tokens >= 1 && n_tokens <= kFp8GemvMaxTokens && in_features % kCodesPerChunk == 0 &&
         size_t(n_tokens) * in_features * 2 <= kFp8MaxSmem;
}

template <int T, typename Out, bool Acc>
static void launch(Fp8Weight w, const bf16* x, Out* y, int out_features, int in_features, const Fp8Groups& groups,
                   int entries, bool swiglu, cudaStream_t s) {
  static bool configured = false;  // once per instantiation: allow more than 48 KB of shared memory
  if (!configured) {
    CUDA_CHECK(cudaFuncSetAttribute(fp8_gemv_kernel<T, Out, Acc>, cudaFuncAttributeMaxDynamicSharedMemorySize, kFp8MaxSmem));
    configured = true;
  }
  launch_chained(fp8_gemv_kernel<T, Out, Acc>, dim3(ceil_div(out_features, 2 * kFp8Warps), entries), kFp8Warps * 32,
                 size_t(T) * in_features * 2, s, w, x, y, out_features, in_features, groups, swiglu);
  CUDA_CHECK_LAUNCH();
}

template <int T>
static void dispatch_out(Fp8Weight w, const bf16* x, void* y, bool y_is_float, bool accumulate, int out_features,
                         int in_features, const Fp8Groups& groups, int entries, bool swiglu, cudaStream_t s) {
  require(w.codes && w.scales, "fp8 gemv: weights without codes or scales");
  require(!swiglu || (!y_is_float && !accumulate && out_features % 2 == 0),
          "fp8 gemv: the SwiGLU epilogue stores bf16 activations from gate and up halves");
  if (y_is_float && accumulate)
    launch<T, float, true>(w, x, static_cast<float*>(y), out_features, in_features, groups, entries, swiglu, s);
  else if (y_is_float)
    launch<T, float, false>(w, x, static_cast<float*>(y), out_features, in_features, groups, entries, swiglu, s);
  else if (!accumulate)
    launch<T, bf16, false>(w, x, static_cast<bf16*>(y), out_features, in_features, groups, entries, swiglu, s);
  else fail("fp8 gemv: accumulating into bf16 is not supported");
}

void fp8_gemv(Fp8Weight w, const bf16* x, void* y, bool y_is_float, bool accumulate, int n_tokens, int out_features,
              int in_features, cudaStream_t s, bool swiglu_output) {
  require(fp8_gemv_supported(n_tokens, in_features), "fp8 gemv: unsupported shape");
  const Fp8Groups dense{};
  switch (n_tokens) {
#define AIDC_FP8_TOKENS(n) \
  case n: return dispatch_out<n>(w, x, y, y_is_float, accumulate, out_features, in_features, dense, 1, swiglu_output, s);
    AIDC_FP8_TOKENS(1) AIDC_FP8_TOKENS(2) AIDC_FP8_TOKENS(3) AIDC_FP8_TOKENS(4)
    AIDC_FP8_TOKENS(5) AIDC_FP8_TOKENS(6) AIDC_FP8_TOKENS(7) AIDC_FP8_TOKENS(8)
#undef AIDC_FP8_TOKENS
  }
}

void fp8_grouped_gemv(Fp8Weight w, const Fp8Groups& groups, const bf16* x, void* y, bool y_is_float, int n_pairs,
                      int out_features, int in_features, cudaStream_t s, bool swiglu_output) {
  require(groups.expert_of_pair && fp8_gemv_supported(1, in_features), "fp8 grouped gemv: unsupported shape");
  require(!groups.weight_of_pair || y_is_float, "fp8 grouped gemv: the fused combine adds into fp32 rows");
  require(n_pairs <= 65535, "fp8 grouped gemv: too many (token, expert) pairs");
  dispatch_out<1>(w, x, y, y_is_float, false, out_features, in_features, groups, n_pairs, swiglu_output, s);
}

__global__ void dequantize_fp8_kernel(Fp8Weight w, bf16* out, int64_t chunks, int cols) {
  const int grid_cols = ceil_div(cols, kFp8BlockSize);
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < chunks; c += int64_t(gridDim.x) * blockDim.x) {
    const int64_t first = c * kCodesPerChunk, row = first / cols;
    const int col = static_cast<int>(first % cols);
    const float scale = w.scales[fp8_scale_row(w, row) * grid_cols + col / kFp8BlockSize];
    float f[16], lo[8], hi[8];
    decode16(reinterpret_cast<const uint4*>(w.codes)[c], f);
#pragma unroll
    for (int e = 0; e < 8; ++e) lo[e] = f[e] * scale, hi[e] = f[8 + e] * scale;
    uint4* dst = reinterpret_cast<uint4*>(out + first);
    dst[0] = pack8(lo);
    dst[1] = pack8(hi);
  }
}

void dequantize_fp8(Fp8Weight w, bf16* out, int64_t rows, int cols, cudaStream_t s) {
  require(cols % kCodesPerChunk == 0, "dequantize_fp8: columns must be a multiple of 16");
  const int64_t chunks = rows * cols / kCodesPerChunk;
  const int blocks = static_cast<int>(std::min<int64_t>((chunks + 255) / 256, 65536));
  dequantize_fp8_kernel<<<std::max(blocks, 1), 256, 0, s>>>(w, out, chunks, cols);
  CUDA_CHECK_LAUNCH();
}

__global__ void fill_random_fp8_kernel(uint8_t* codes, float* scales, int64_t n_codes, int64_t n_scales, uint64_t stream,
                                       float scale) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n_codes; i += stride)
    codes[i] = float_to_e4m3(kE4m3Max * hash_uniform(stream, static_cast<uint64_t>(i)));
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n_scales; i += stride) scales[i] = scale;
}

void fill_random_fp8(uint8_t* codes, float* scales, int64_t n_codes, int64_t n_scales, uint64_t stream,
                     float init_scale, cudaStream_t s) {
  const int blocks = static_cast<int>(std::min<int64_t>((n_codes + 255) / 256, 65536));
  fill_random_fp8_kernel<<<std::max(blocks, 1), 256, 0, s>>>(codes, scales, n_codes, n_scales, stream,
                                                             init_scale / kE4m3Max);
  CUDA_CHECK_LAUNCH();
}

}  // namespace aidc
