#pragma once
// Shared by every kernel family: error checks, bf16 vector helpers, warp reductions.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <utility>

#include "common/error.h"

namespace aidc {

inline void cuda_check(cudaError_t e, const char* what, const char* file, int line) {
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("CUDA error ") + cudaGetErrorString(e) + " in " + what + " at " + file + ":" +
                             std::to_string(line));
}
#define CUDA_CHECK(call) ::aidc::cuda_check((call), #call, __FILE__, __LINE__)
// After every launch: catches bad launch configurations at once (execution errors surface at the next sync).
#define CUDA_CHECK_LAUNCH() ::aidc::cuda_check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

using bf16 = __nv_bfloat16;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block; `scratch` holds 32 floats. Every thread gets the total.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  v = warp_sum(v);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < blockDim.x / 32 ? scratch[lane] : 0.0f;
  v = warp_sum(v);
  __syncthreads();  // scratch is reused by the next call
  return v;
}

// Eight bf16 in one 16-byte word, widened to float.
__device__ __forceinline__ void unpack8(const uint4& w, float (&f)[8]) {
  const __nv_bfloat162* p = reinterpret_cast<const __nv_bfloat162*>(&w);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    float2 v = __bfloat1622float2(p[i]);
    f[2 * i] = v.x;
    f[2 * i + 1] = v.y;
  }
}

__device__ __forceinline__ uint4 pack8(const float (&f)[8]) {
  uint4 w;
  __nv_bfloat162* p = reinterpret_cast<__nv_bfloat162*>(&w);
#pragma unroll
  for (int i = 0; i < 4; ++i) p[i] = __floats2bfloat162_rn(f[2 * i], f[2 * i + 1]);
  return w;
}

// Weights are read once per step: keep them out of L1 so activations stay there.
__device__ __forceinline__ uint4 load_streaming(const uint4* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

// Tensor-core product on one warp: c (16x8, fp32) += a (16x16 bf16) b (16x8 bf16). Fragments, with
// g = lane / 4 and t = lane % 4: a[0] holds row g, columns 2t and 2t + 1; a[1] row g + 8, the same
// columns; a[2] and a[3] those rows at columns 2t + 8, 2t + 9. b0 holds rows (k) 2t, 2t + 1 of column
// (n) g; b1 rows 2t + 8, 2t + 9. c[0], c[1]: row g, columns 2t, 2t + 1; c[2], c[3]: row g + 8.
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Shared-memory tiles for ldmatrix: rows of smem_width(d) values, whole 128-byte lines (columns past
// d are never loaded nor read), in 16-byte chunks; chunk c of row r is stored at chunk c ^ (r mod 8),
// so the 8 rows that one ldmatrix matrix reads fall in distinct banks. Element index of (row, chunk):
constexpr int smem_width(int d) { return (d + 63) / 64 * 64; }
template <int W>
__device__ __forceinline__ int swizzled(int row, int chunk) {
  return row * W + ((chunk ^ (row & 7)) * 8);
}
__device__ __forceinline__ unsigned smem_address(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}
// The ldmatrix side applies the same swizzle to byte addresses: a lane addresses a row r with r mod 8
// = lane mod 8, in a 128-byte aligned tile, at `plain` (its unswizzled address, 0 or 16 bytes into a
// 128-byte line) + column_bytes (a multiple of 32). Adding column_bytes % 128 carries no further than
// bit 6 and the XOR touches bits 4-6 only: whole 128-byte steps are added after it, which leaves
// fewer distinct addresses to keep in registers.
__device__ __forceinline__ unsigned lane_swizzled(unsigned plain, int column_bytes, int lane) {
  return ((plain + column_bytes % 128) ^ ((lane % 8) << 4)) + column_bytes / 128 * 128;
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], unsigned address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], unsigned address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

// Two floats as the bf16 pair of an mma fragment register (lo in the low half).
__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

// Asynchronous 16-byte global -> shared copies (sm_80+), for double-buffered tiles.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem));
}
// The same, writing zeros instead when !valid (no bytes are read; gmem must still be a mapped address).
__device__ __forceinline__ void cp_async16_zfill(void* smem, const void* gmem, bool valid) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int Pending>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending)); }

// Programmatic dependent launch: a kernel launched with launch_chained() may be scheduled while the
// kernel before it in the stream drains (hiding the launch gap between the many short kernels of a
// decode step). It must call chain_wait() before touching global memory, and does so first thing,
// before any early return: a kernel then completes only after its predecessor has, so a kernel may
// still read what any earlier kernel wrote. chain_release() lets the next kernel be scheduled early.
__device__ __forceinline__ void chain_wait() { asm volatile("griddepcontrol.wait;\n" ::: "memory"); }
__device__ __forceinline__ void chain_release() { asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory"); }
__device__ __forceinline__ void chain_start() {
  chain_wait();
  chain_release();
}

template <typename... Params, typename... Args>
inline void launch_chained(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t s,
                           Args&&... args) {
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = s;
  config.attrs = &attribute;
  config.numAttrs = 1;
  cuda_check(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...), "cudaLaunchKernelEx", __FILE__, __LINE__);
}

__host__ __device__ inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

}  // namespace aidc
