// Token sampling on the device, one block per request: greedy (argmax) or temperature + top-p.
// Top-p without a sort: bisect for the probability threshold whose kept mass first reaches top_p,
// then walk the kept tokens in index order (the rule of runtime/sampling.cpp).
#include <cfloat>

#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {

constexpr int kSampleThreads = 1024;

__device__ float block_reduce(float v, float* scratch, bool is_max) {
  v = is_max ? warp_max(v) : warp_sum(v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = scratch[lane];  // kSampleThreads / 32 == 32 warps
  v = is_max ? warp_max(v) : warp_sum(v);
  __syncthreads();
  return v;
}

__global__ void __launch_bounds__(kSampleThreads) sample_kernel(const float* logits, int vocab, SampleArgs args, int* out) {
  __shared__ float scratch[32];
  __shared__ int best_index;
  const float* row = logits + int64_t(args.rows[blockIdx.x]) * vocab;
  // Argmax, lowest index on ties (as the CPU loop): each thread scans its indices in increasing order.
  // 16-byte loads, several in flight, where rows are aligned: one block streams the whole row.
  float best = -FLT_MAX;
  int index = vocab;
  if (vocab % 4 == 0) {
    const float4* row4 = reinterpret_cast<const float4*>(row);
#pragma unroll 4
    for (int i = threadIdx.x; i < vocab / 4; i += blockDim.x) {
      const float4 v = row4[i];
      const float e[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
      for (int j = 0; j < 4; ++j)
        if (e[j] > best) { best = e[j]; index = 4 * i + j; }
    }
  } else {
    for (int i = threadIdx.x; i < vocab; i += blockDim.x)
      if (row[i] > best) { best = row[i]; index = i; }
  }
  const float top = block_reduce(best, scratch, true);
  if (threadIdx.x == 0) best_index = vocab;
  __syncthreads();
  if (best == top) atomicMin(&best_index, index);
  __syncthreads();
  const float temperature = args.temperature[blockIdx.x];
  if (temperature <= 0.0f) {
    if (threadIdx.x == 0) out[blockIdx.x] = best_index;
    return;
  }
  const float inv_t = 1.0f / temperature;
  auto prob = [&](int i) { return __expf((row[i] - top) * inv_t); };  // unnormalised
  float total = 0;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) total += prob(i);
  total = block_reduce(total, scratch, false);
  const float top_p = args.top_p[blockIdx.x];
  float threshold = 0.0f;  // in unnormalised units; the best token has probability 1
  if (top_p < 1.0f) {
    float lo = 0.0f, hi = 1.0f;  // mass(lo) >= top_p always; find the largest such threshold
    for (int iter = 0; iter < 24; ++iter) {
      const float mid = 0.5f * (lo + hi);
      float mass = 0;
      for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        const float p = prob(i);
        mass += p >= mid ? p : 0.0f;
      }
      mass = block_reduce(mass, scratch, false);
      if (mass >= top_p * total) lo = mid; else hi = mid;
    }
    threshold = lo;
  }
  float kept = 0;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
    const float p = prob(i);
    kept += p >= threshold ? p : 0.0f;
  }
  kept = block_reduce(kept, scratch, false);
  // Walk in index order chunk by chunk: thread t owns one element of each chunk of blockDim.x.
  const float target = args.uniform[blockIdx.x] * kept;
  __shared__ float prefix[kSampleThreads];
  __shared__ int found;
  if (threadIdx.x == 0) found = -1;
  float running = 0;
  for (int base = 0; base < vocab; base += blockDim.x) {
    const int i = base + threadIdx.x;
    const float p = i < vocab ? prob(i) : 0.0f;
    const float mine = p >= threshold ? p : 0.0f;
    prefix[threadIdx.x] = mine;
    __syncthreads();
    for (int o = 1; o < kSampleThreads; o <<= 1) {  // inclusive scan (Hillis-Steele)
      const float add = threadIdx.x >= o ? prefix[threadIdx.x - o] : 0.0f;
      __syncthreads();
      prefix[threadIdx.x] += add;
      __syncthreads();
    }
    const float before = running + prefix[threadIdx.x] - mine;
    if (mine > 0.0f && before <= target && target < before + mine) atomicMax(&found, i);
    running += prefix[kSampleThreads - 1];
    __syncthreads();
    if (found >= 0) break;
  }
  if (threadIdx.x == 0) out[blockIdx.x] = found >= 0 ? found : best_index;
}

void sample_tokens(const float* logits, int vocab, const SampleArgs& args, int n, int* out, cudaStream_t s) {
  if (n == 0) return;
  sample_kernel<<<n, kSampleThreads, 0, s>>>(logits, vocab, args, out);
  CUDA_CHECK_LAUNCH();
}

}  // namespace aidc
