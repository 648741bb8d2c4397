// Memory-bound kernels between the GEMMs: embedding, RMSNorm, SwiGLU, RoPE + K/V write into the
// paged cache. One block per token row; 16-byte accesses where the widths allow.
#include "kernels/common.cuh"
#include "kernels/kernels.h"
#include "kernels/rope.cuh"

namespace aidc {

// Grids spread one token's row over many blocks: decode steps have a single token per sequence,
// and a one-block loop over a row is latency-bound.
__global__ void embedding_kernel(const int* tokens, const bf16* table, float* x, int hidden) {
  chain_start();
  const int i = blockIdx.y * blockDim.x + threadIdx.x;
  if (i < hidden) x[int64_t(blockIdx.x) * hidden + i] = __bfloat162float(table[int64_t(tokens[blockIdx.x]) * hidden + i]);
}

void embedding(const int* tokens, const bf16* table, float* x, int n_tokens, int hidden, cudaStream_t s) {
  launch_chained(embedding_kernel, dim3(n_tokens, ceil_div(hidden, 256)), 256, 0, s, tokens, table, x, hidden);
  CUDA_CHECK_LAUNCH();
}

template <typename In>
__global__ void rmsnorm_kernel(const In* x, const int* rows, const bf16* gain, bf16* out, int hidden, int in_stride,
                               int out_stride, float eps) {
  chain_start();
  __shared__ float scratch[32];
  const In* row = x + int64_t(rows ? rows[blockIdx.x] : blockIdx.x) * in_stride;
  float ss = 0;
#pragma unroll 4
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    const float v = static_cast<float>(row[i]);
    ss += v * v;
  }
  const float inv = rsqrtf(block_sum(ss, scratch) / hidden + eps);
  bf16* o = out + int64_t(blockIdx.x) * out_stride;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x)
    o[i] = __float2bfloat16_rn(static_cast<float>(row[i]) * inv * __bfloat162float(gain[i]));
}

void rmsnorm(const float* x, const int* rows, const bf16* gain, bf16* out, int n_rows, int hidden, float eps,
             cudaStream_t s) {
  launch_chained(rmsnorm_kernel<float>, n_rows, 1024, 0, s, x, rows, gain, out, hidden, hidden, hidden, eps);
  CUDA_CHECK_LAUNCH();
}

void rmsnorm_bf16(const bf16* x, const bf16* gain, bf16* out, int n_rows, int hidden, int in_stride, int out_stride,
                  float eps, cudaStream_t s) {
  launch_chained(rmsnorm_kernel<bf16>, n_rows, 1024, 0, s, x, nullptr, gain, out, hidden, in_stride, out_stride, eps);
  CUDA_CHECK_LAUNCH();
}

__global__ void swiglu_kernel(const bf16* gate_up, bf16* act, int inter) {
  chain_start();
  const uint4* g = reinterpret_cast<const uint4*>(gate_up + int64_t(blockIdx.x) * 2 * inter);
  const uint4* u = g + inter / 8;
  uint4* o = reinterpret_cast<uint4*>(act + int64_t(blockIdx.x) * inter);
  const int i = blockIdx.y * blockDim.x + threadIdx.x;
  if (i < inter / 8) {
    float gf[8], uf[8];
    unpack8(g[i], gf);
    unpack8(u[i], uf);
#pragma unroll
    for (int k = 0; k < 8; ++k) gf[k] = gf[k] / (1.0f + __expf(-gf[k])) * uf[k];
    o[i] = pack8(gf);
  }
}

void swiglu(const bf16* gate_up, bf16* act, int n_tokens, int inter, cudaStream_t s) {
  require(inter % 8 == 0, "swiglu: intermediate size must be a multiple of 8");
  launch_chained(swiglu_kernel, dim3(n_tokens, ceil_div(inter / 8, 256)), 256, 0, s, gate_up, act, inter);
  CUDA_CHECK_LAUNCH();
}

// Block (token, head) over the q heads, then the k heads, then the v heads; thread d handles rotary
// pair (d, d + head_dim/2), or copies two values of a v head.
__global__ void rope_qkv_kernel(const bf16* qkv, QkvRope r) {
  chain_start();
  const int t = blockIdx.x, h = blockIdx.y, d = threadIdx.x, half = r.head_dim / 2;
  const bf16* row = qkv + int64_t(t) * (r.heads + 2 * r.kv_heads) * r.head_dim + h * r.head_dim;
  store_qkv_pair(r, t, h, d, __bfloat162float(row[d]), __bfloat162float(row[d + half]));
}

void rope_qkv_to_cache(const bf16* qkv, const QkvRope& rope, int n_tokens, cudaStream_t s) {
  launch_chained(rope_qkv_kernel, dim3(n_tokens, rope.heads + 2 * rope.kv_heads), rope.head_dim / 2, 0, s, qkv, rope);
  CUDA_CHECK_LAUNCH();
}

}  // namespace aidc
