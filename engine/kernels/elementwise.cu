// Memory-bound kernels between the GEMMs: embedding, RMSNorm, SwiGLU, RoPE + K/V write into the
// paged cache. One block per token row; 16-byte accesses where the widths allow.
#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {

__global__ void embedding_kernel(const int* tokens, const bf16* table, float* x, int hidden) {
  const bf16* row = table + int64_t(tokens[blockIdx.x]) * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) x[int64_t(blockIdx.x) * hidden + i] = __bfloat162float(row[i]);
}

void embedding(const int* tokens, const bf16* table, float* x, int n_tokens, int hidden, cudaStream_t s) {
  embedding_kernel<<<n_tokens, 256, 0, s>>>(tokens, table, x, hidden);
  CUDA_CHECK_LAUNCH();
}

__device__ float block_sum(float v, float* scratch) {
  v = warp_sum(v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < blockDim.x / 32 ? scratch[lane] : 0.0f;
  v = warp_sum(v);
  __syncthreads();  // scratch is reused by the next call
  return v;
}

template <typename In>
__global__ void rmsnorm_kernel(const In* x, const int* rows, const bf16* gain, bf16* out, int hidden, int in_stride,
                               int out_stride, float eps) {
  __shared__ float scratch[32];
  const In* row = x + int64_t(rows ? rows[blockIdx.x] : blockIdx.x) * in_stride;
  float ss = 0;
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
  rmsnorm_kernel<float><<<n_rows, 256, 0, s>>>(x, rows, gain, out, hidden, hidden, hidden, eps);
  CUDA_CHECK_LAUNCH();
}

void rmsnorm_bf16(const bf16* x, const bf16* gain, bf16* out, int n_rows, int hidden, int in_stride, int out_stride,
                  float eps, cudaStream_t s) {
  rmsnorm_kernel<bf16><<<n_rows, 256, 0, s>>>(x, nullptr, gain, out, hidden, in_stride, out_stride, eps);
  CUDA_CHECK_LAUNCH();
}

__global__ void swiglu_kernel(const bf16* gate_up, bf16* act, int inter) {
  const uint4* g = reinterpret_cast<const uint4*>(gate_up + int64_t(blockIdx.x) * 2 * inter);
  const uint4* u = g + inter / 8;
  uint4* o = reinterpret_cast<uint4*>(act + int64_t(blockIdx.x) * inter);
  for (int i = threadIdx.x; i < inter / 8; i += blockDim.x) {
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
  swiglu_kernel<<<n_tokens, 256, 0, s>>>(gate_up, act, inter);
  CUDA_CHECK_LAUNCH();
}

// One block per token; thread i handles rotary pair i of every head (halves layout, as HF Llama).
__global__ void rope_qkv_kernel(const bf16* qkv, const bf16* bias, const int* positions, const int* slots,
                                const float* inv_freq, float rope_scale, bf16* q_out, KvLayer cache, int heads,
                                int kv_heads, int head_dim, int block_tokens) {
  const int t = blockIdx.x, half = head_dim / 2, width = (heads + 2 * kv_heads) * head_dim;
  const bf16* row = qkv + int64_t(t) * width;
  const int slot = slots[t], block = slot / block_tokens, offset = slot % block_tokens;
  auto value = [&](int i) { return __bfloat162float(row[i]) + (bias ? __bfloat162float(bias[i]) : 0.0f); };
  auto cache_index = [&](int kvh, int d) {
    return ((int64_t(block) * kv_heads + kvh) * block_tokens + offset) * head_dim + d;
  };
  for (int i = threadIdx.x; i < (heads + kv_heads) * half; i += blockDim.x) {
    const int h = i / half, d = i % half;
    float sn, cs;
    sincosf(static_cast<float>(positions[t]) * inv_freq[d], &sn, &cs);
    cs *= rope_scale;
    sn *= rope_scale;
    const int base = h * head_dim;  // q heads first, then k heads
    const float a = value(base + d), b = value(base + d + half);
    const float ra = a * cs - b * sn, rb = b * cs + a * sn;
    if (h < heads) {
      q_out[int64_t(t) * heads * head_dim + base + d] = __float2bfloat16_rn(ra);
      q_out[int64_t(t) * heads * head_dim + base + d + half] = __float2bfloat16_rn(rb);
    } else {
      cache.k[cache_index(h - heads, d)] = __float2bfloat16_rn(ra);
      cache.k[cache_index(h - heads, d + half)] = __float2bfloat16_rn(rb);
    }
  }
  const int v_base = (heads + kv_heads) * head_dim;
  for (int i = threadIdx.x; i < kv_heads * head_dim; i += blockDim.x)
    cache.v[cache_index(i / head_dim, i % head_dim)] = __float2bfloat16_rn(value(v_base + i));
}

void rope_qkv_to_cache(const bf16* qkv, const bf16* bias, const int* positions, const int* slots,
                       const float* inv_freq, float rope_scale, bf16* q_out, KvLayer cache, int n_tokens, int heads,
                       int kv_heads, int head_dim, int block_tokens, cudaStream_t s) {
  rope_qkv_kernel<<<n_tokens, 256, 0, s>>>(qkv, bias, positions, slots, inv_freq, rope_scale, q_out, cache, heads,
                                           kv_heads, head_dim, block_tokens);
  CUDA_CHECK_LAUNCH();
}

}  // namespace aidc
