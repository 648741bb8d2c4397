// Small-batch linear layers (decode): y = x W^T for up to 8 tokens. Pure weight streaming, so the
// goal is HBM bandwidth: each warp owns two output rows and keeps 8 independent 16-byte weight loads
// in flight; the tokens' inputs sit in shared memory and are reused by every row of the block.
// A decode step is a chain of short kernels, so each one's start matters: the first weight loads go
// out before the kernel waits for its predecessor (weights never depend on an earlier kernel), and
// the input is staged while they are in flight. Staging can form the input as RMSNorm of the fp32
// residual stream (the norm fused into the first linear of a block). Epilogues can finish the next
// step's job: SwiGLU in the gate/up projection (a warp owns gate row i and up row F + i and stores
// silu(gate) * up, once, where staging it in the down projection cost every block the whole row),
// or rope_qkv_to_cache's in the qkv projection (rotate q and k, store q and the cache rows).
// The grouped form (MoE experts at decode) runs one such product per (token, expert) pair, blockIdx.y
// picking the pair: the pair's expert selects the weight matrix, its token the input row; the shared
// experts ride in the same launches as one more entry per token.
#include <algorithm>
#include <type_traits>

#include "kernels/common.cuh"
#include "kernels/gemv_rows.cuh"
#include "kernels/kernels.h"
#include "kernels/rope.cuh"

namespace aidc {

constexpr int kGemvWarps = 8;
constexpr int kRowsPerWarp = 2;
constexpr int kUnroll = 4;  // 16-byte loads per row in flight per lane
constexpr int kGemvMaxSmem = 96 * 1024;

enum class GemvStaging { kBf16, kRmsNorm };

struct GemvInput {
  const void* x;           // bf16 [T][in], or fp32 [T][in] (kRmsNorm)
  GemvStaging staging;
  const bf16* gain;        // kRmsNorm
  float eps;
  bf16* normed_out;        // kRmsNorm, or null: the first block also stores the normalised rows here
};

struct GemvEpilogue {
  QkvRope rope;  // q_out set: the qkv epilogue
  bool swiglu;   // the SwiGLU epilogue
};

// xs[t][in/8] <- the block's input rows, formed as `in.staging` says; all threads take part.
template <int T>
__device__ void stage_input(uint4* xs, const GemvInput& in, int64_t row_offset, int in_features) {
  const int in8 = in_features / 8;
  if (T <= kGemvNormMaxTokens && in.staging == GemvStaging::kRmsNorm) {
    // As rmsnorm_kernel: bf16(x * rsqrt(mean(x^2) + eps) * gain), the sum over the whole row.
    __shared__ float scratch[32];
    const float4* x = reinterpret_cast<const float4*>(in.x) + row_offset / 4;
    const uint4* gain = reinterpret_cast<const uint4*>(in.gain);
    float inv[T];
#pragma unroll
    for (int t = 0; t < T; ++t) {
      float ss = 0;
      for (int i = threadIdx.x; i < in_features / 4; i += blockDim.x) {
        const float4 v = x[int64_t(t) * in_features / 4 + i];
        ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
      }
      inv[t] = rsqrtf(block_sum(ss, scratch) / in_features + in.eps);
    }
    for (int i = threadIdx.x; i < T * in8; i += blockDim.x) {
      const int t = i / in8, c = i % in8;
      const float4 a = x[int64_t(t) * in_features / 4 + 2 * c], b = x[int64_t(t) * in_features / 4 + 2 * c + 1];
      const float v[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
      float g[8];
      unpack8(gain[c], g);
#pragma unroll
      for (int e = 0; e < 8; ++e) g[e] = v[e] * inv[t] * g[e];
      xs[i] = pack8(g);
      if (in.normed_out && blockIdx.x == 0) reinterpret_cast<uint4*>(in.normed_out)[i] = xs[i];
    }
    return;
  }
  const uint4* xg = reinterpret_cast<const uint4*>(in.x) + row_offset / 8;
  for (int i = threadIdx.x; i < T * in8; i += blockDim.x) xs[i] = xg[i];
}

// Warp p owns rows 2p and 2p + 1 of y, except in the epilogues: with swiglu_out (gate/up rows
// [2F][in]) it owns gate row p and up row F + p and stores y[t][p] = silu(gate) * up (rows of F);
// with rope.q_out (the qkv projection of dense attention) it owns the rotary pair (d, d + half) of
// head p / half and stores it as rope_qkv_to_cache would.
template <int T, typename Out, bool Accumulate>
__global__ void __launch_bounds__(kGemvWarps * 32) gemv_kernel(const bf16* __restrict__ w, GemvInput in,
                                                               Out* __restrict__ y, int out_features, int in_features,
                                                               GemvGroups groups, GemvEpilogue epi) {
  static_assert(kRowsPerWarp == 2, "a warp owns a row pair (a gate/up or rotary pair in the epilogues)");
  const QkvRope& rope = epi.rope;
  const bool swiglu_out = epi.swiglu;
  extern __shared__ uint4 xs[];  // [T][in/8]
  int64_t x_offset = 0;  // elements
  float combine_weight = 1.0f;
  if (groups.expert_of_pair) {  // entry blockIdx.y (the expert comes from the router kernel: wait for it)
    chain_start();
    const int entry = blockIdx.y, n_pairs = gridDim.y - groups.shared.tokens;
    if (entry < n_pairs) {
      w += groups.expert_of_pair[entry] * groups.expert_stride;
      x_offset = int64_t(entry / groups.pairs_per_token) * in_features;
      y += int64_t(groups.weight_of_pair ? entry / groups.top_k : entry) * (swiglu_out ? out_features / 2 : out_features);
      if (groups.weight_of_pair) combine_weight = groups.weight_of_pair[entry];
    } else {  // a shared-experts entry of token `entry - n_pairs`
      const int token = entry - n_pairs;
      w = groups.shared.w;
      out_features = groups.shared.out_features;
      in_features = groups.shared.in_features;
      in.x = groups.shared.x;
      x_offset = int64_t(token) * in_features;
      y = (groups.weight_of_pair ? y : static_cast<Out*>(groups.shared.y)) +
          int64_t(token) * (swiglu_out ? out_features / 2 : out_features);
    }
    if (blockIdx.x * kGemvWarps * kRowsPerWarp >= out_features) return;  // the grid spans the wider of the two
  }
  const int in8 = in_features / 8;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, pair = blockIdx.x * kGemvWarps + warp;
  int row[kRowsPerWarp], rows;
  if (rope.q_out) {
    const int half = rope.head_dim / 2;
    row[0] = pair / half * rope.head_dim + pair % half;
    row[1] = row[0] + half;
    rows = row[0] < out_features ? 2 : 0;
  } else {
    owned_rows(pair, out_features, swiglu_out, row, rows);
  }
  const uint4* wr[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
    wr[r] = reinterpret_cast<const uint4*>(w + int64_t(min(row[r], out_features - 1)) * in_features);
  // Every batch issues all its loads, predicated at the row's end, so short rows (an expert's
  // 1408-wide down projection) keep as many bytes in flight as long ones.
  auto load_batch = [&](uint4 (&wv)[kRowsPerWarp][kUnroll], int k0) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r)
        wv[r][u] = rows > 0 && k0 + 32 * u < in8 ? load_streaming(wr[r] + k0 + 32 * u) : make_uint4(0, 0, 0, 0);
  };
  uint4 wv[kRowsPerWarp][kUnroll];
  load_batch(wv, lane);
  if (!groups.expert_of_pair) chain_start();
  stage_input<T>(xs, in, x_offset, in_features);
  __syncthreads();
  if (rows == 0) return;

  // One batch of registers (a second, to load ahead, would halve the resident blocks).
  float acc[kRowsPerWarp][T] = {};
  for (int k0 = lane; k0 < in8; k0 += 32 * kUnroll) {
    if (k0 != lane) load_batch(wv, k0);
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
    for (int t = 0; t < T; ++t) acc[r][t] = warp_sum(acc[r][t]);
  if (lane != 0) return;
  if (rope.q_out) {  // the values rope_qkv_to_cache would read: the projection rounded to bf16
#pragma unroll
    for (int t = 0; t < T; ++t)
      store_qkv_pair(rope, t, row[0] / rope.head_dim, row[0] % rope.head_dim,
                     __bfloat162float(__float2bfloat16_rn(acc[0][t])), __bfloat162float(__float2bfloat16_rn(acc[1][t])));
    return;
  }
  store_owned_rows<T, Out, Accumulate>(acc, y, pair, row, rows, out_features, swiglu_out, groups.weight_of_pair != nullptr,
                                       combine_weight);
}

bool gemv_supported(int n_tokens, int in_features) {
  return n_tokens >= 1 && n_tokens <= kGemvMaxTokens && in_features % 8 == 0 && size_t(n_tokens) * in_features * 2 <= kGemvMaxSmem;
}

bool gemv_rmsnorm_supported(int n_tokens, int in_features) {
  return n_tokens <= kGemvNormMaxTokens && gemv_supported(n_tokens, in_features);
}

template <int T, typename Out, bool Acc>
static void launch(const bf16* w, const GemvInput& in, Out* y, int out_features, int in_features,
                   const GemvGroups& groups, int n_pairs, const GemvEpilogue& epi, cudaStream_t s) {
  const int widest_in = std::max(in_features, groups.shared.in_features);
  const int widest_out = std::max(out_features, groups.shared.out_features);
  const size_t smem = size_t(T) * widest_in * 2;
  static bool configured = false;  // once per instantiation: allow more than 48 KB of shared memory
  if (!configured) {
    CUDA_CHECK(cudaFuncSetAttribute(gemv_kernel<T, Out, Acc>, cudaFuncAttributeMaxDynamicSharedMemorySize, kGemvMaxSmem));
    configured = true;
  }
  const int blocks = ceil_div(widest_out, kGemvWarps * kRowsPerWarp);
  launch_chained(gemv_kernel<T, Out, Acc>, dim3(blocks, n_pairs + groups.shared.tokens), kGemvWarps * 32, smem, s, w,
                 in, y, out_features, in_features, groups, epi);
  CUDA_CHECK_LAUNCH();
}

template <int T>
static void dispatch_out(const bf16* w, const GemvInput& in, void* y, bool y_is_float, bool accumulate,
                         int out_features, int in_features, const GemvGroups& g, int n_pairs, const GemvEpilogue& epi,
                         cudaStream_t s) {
  require(!epi.swiglu || (!y_is_float && !accumulate && out_features % 2 == 0),
          "gemv: the SwiGLU epilogue stores bf16 activations from gate and up halves");
  if (y_is_float && accumulate)
    launch<T, float, true>(w, in, static_cast<float*>(y), out_features, in_features, g, n_pairs, epi, s);
  else if (y_is_float)
    launch<T, float, false>(w, in, static_cast<float*>(y), out_features, in_features, g, n_pairs, epi, s);
  else if (!accumulate)
    launch<T, bf16, false>(w, in, static_cast<bf16*>(y), out_features, in_features, g, n_pairs, epi, s);
  else fail("gemv: accumulating into bf16 is not supported");
}

static void dispatch_tokens(const bf16* w, const GemvInput& in, void* y, bool y_is_float, bool accumulate,
                            int n_tokens, int out_features, int in_features, const GemvEpilogue& epi, cudaStream_t s) {
  const GemvGroups dense{};
  switch (n_tokens) {
    case 1: return dispatch_out<1>(w, in, y, y_is_float, accumulate, out_features, in_features, dense, 1, epi, s);
    case 2: return dispatch_out<2>(w, in, y, y_is_float, accumulate, out_features, in_features, dense, 1, epi, s);
    case 3: return dispatch_out<3>(w, in, y, y_is_float, accumulate, out_features, in_features, dense, 1, epi, s);
    case 4: return dispatch_out<4>(w, in, y, y_is_float, accumulate, out_features, in_features, dense, 1, epi, s);
    case 5: return dispatch_out<5>(w, in, y, y_is_float, accumulate, out_features, in_features, dense, 1, epi, s);
    case 6: return dispatch_out<6>(w, in, y, y_is_float, accumulate, out_features, in_features, dense, 1, epi, s);
    case 7: return dispatch_out<7>(w, in, y, y_is_float, accumulate, out_features, in_features, dense, 1, epi, s);
    default: return dispatch_out<8>(w, in, y, y_is_float, accumulate, out_features, in_features, dense, 1, epi, s);
  }
}

void gemv(const bf16* w, const bf16* x, void* y, bool y_is_float, bool accumulate, int n_tokens, int out_features,
          int in_features, cudaStream_t s, bool swiglu_output) {
  require(gemv_supported(n_tokens, in_features), "gemv: unsupported shape");
  dispatch_tokens(w, GemvInput{x, GemvStaging::kBf16, nullptr, 0.0f, nullptr}, y, y_is_float, accumulate, n_tokens,
                  out_features, in_features, GemvEpilogue{QkvRope{}, swiglu_output}, s);
}

void gemv_rmsnorm(const bf16* w, const float* x, const bf16* gain, float eps, void* y, bool y_is_float, int n_tokens,
                  int out_features, int in_features, cudaStream_t s, const QkvRope* rope, bf16* normed_out,
                  bool swiglu_output) {
  require(gemv_rmsnorm_supported(n_tokens, in_features), "gemv with RMSNorm: unsupported shape");
  require(!rope || (rope->q_out && !swiglu_output && out_features == (rope->heads + 2 * rope->kv_heads) * rope->head_dim),
          "gemv with RMSNorm: the RoPE epilogue needs the whole qkv projection");
  dispatch_tokens(w, GemvInput{x, GemvStaging::kRmsNorm, gain, eps, normed_out}, y, y_is_float, false, n_tokens,
                  out_features, in_features, GemvEpilogue{rope ? *rope : QkvRope{}, swiglu_output}, s);
}

void grouped_gemv(const bf16* w, const GemvGroups& groups, const bf16* x, void* y, bool y_is_float, int n_pairs,
                  int out_features, int in_features, cudaStream_t s, bool swiglu_output) {
  const GemvShared& sh = groups.shared;
  require(groups.expert_of_pair && gemv_supported(1, std::max(in_features, sh.in_features)),
          "grouped gemv: unsupported shape");
  require(!sh.tokens || (sh.w && sh.x && sh.in_features % 8 == 0 && (sh.y || groups.weight_of_pair)),
          "grouped gemv: shared entries need their weights, input and output");
  require(!groups.weight_of_pair || y_is_float, "grouped gemv: the fused combine adds into fp32 rows");
  require(n_pairs + sh.tokens <= 65535, "grouped gemv: too many (token, expert) pairs");
  dispatch_out<1>(w, GemvInput{x, GemvStaging::kBf16, nullptr, 0.0f, nullptr}, y, y_is_float, false, out_features,
                  in_features, groups, n_pairs, GemvEpilogue{QkvRope{}, swiglu_output}, s);
}

}  // namespace aidc
