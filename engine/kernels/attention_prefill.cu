// Causal prefill attention, FlashAttention-2 structure on mma.sync (m16n8k16, bf16 in, fp32
// accumulate): a block owns 64 query rows of one head (4 warps x 16 rows) and walks the sequence's
// paged K/V in tiles of 64 tokens. Scores, probabilities and the output accumulator stay in
// registers (the score accumulator's layout is the probability operand's layout, so P never goes
// through shared memory); K/V tiles are double-buffered through cp.async so the next tile loads
// while this one is multiplied. Shared-memory rows are XOR-swizzled in 16-byte chunks so ldmatrix
// reads are conflict-free. The CPU reference is CpuModel::attention.
#include <cfloat>

#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {

constexpr int kTile = 64;             // query rows per block, keys per K/V tile
constexpr int kPrefillThreads = 128;  // 4 warps x 16 query rows

template <int HD>
constexpr size_t prefill_smem() {
  return size_t(kTile) * HD * sizeof(bf16) * 5;  // Q, then K and V double-buffered
}

// Element (row, chunk of 8 values) of a [64][HD] tile: chunk index XOR (row mod 8).
template <int HD>
__device__ __forceinline__ int swizzled(int row, int chunk) {
  return row * HD + ((chunk ^ (row & 7)) * 8);
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const bf16* p) {
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const bf16* p) {
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}

// c (16x8) += a (16x16, row-major fragment) b (16x8, column fragment b0 b1).
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

template <int HD>
__global__ void __launch_bounds__(kPrefillThreads) prefill_kernel(const bf16* __restrict__ q, KvLayer cache, AttnSeqs seqs,
                                                                  bf16* __restrict__ out, int heads, int kv_heads,
                                                                  int block_tokens, float scale) {
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* qs = reinterpret_cast<bf16*>(smem);  // [64][HD]
  bf16* ks = qs + kTile * HD;                 // [2][64][HD]
  bf16* vs = ks + 2 * kTile * HD;             // [2][64][HD]
  constexpr int kChunks = HD / 8;

  // Tiles in reverse order: the last query tiles see the most keys, so they start first.
  const int seq = blockIdx.z, h = blockIdx.y, tile = gridDim.x - 1 - blockIdx.x;
  const int n_new = seqs.n_new[seq];
  if (tile * kTile >= n_new) return;
  const int context = seqs.context[seq], start = context - n_new;
  const int token0 = seqs.token_offset[seq] + tile * kTile;
  const int q_rows = min(kTile, n_new - tile * kTile);
  const int kvh = h / (heads / kv_heads);
  const int* table = seqs.block_table + int64_t(seq) * seqs.table_stride;
  const int n_kv = start + tile * kTile + q_rows;  // keys visible to the tile's last query

  for (int i = threadIdx.x; i < kTile * kChunks; i += blockDim.x) {
    const int r = i / kChunks, c = i % kChunks;
    cp_async16_zfill(qs + swizzled<HD>(r, c), q + (int64_t(token0 + min(r, q_rows - 1)) * heads + h) * HD + c * 8,
                     r < q_rows);
  }
  auto load_kv = [&](int kv0, int stage) {
    for (int i = threadIdx.x; i < kTile * kChunks; i += blockDim.x) {
      const int r = i / kChunks, c = i % kChunks, pos = kv0 + r;
      const bool valid = pos < n_kv;  // rows past the visible keys are zeros (masked below)
      const int64_t at =
          valid ? ((int64_t(table[pos / block_tokens]) * kv_heads + kvh) * block_tokens + pos % block_tokens) * HD + c * 8
                : 0;
      cp_async16_zfill(ks + stage * kTile * HD + swizzled<HD>(r, c), cache.k + at, valid);
      cp_async16_zfill(vs + stage * kTile * HD + swizzled<HD>(r, c), cache.v + at, valid);
    }
    cp_async_commit();
  };
  load_kv(0, 0);  // one group with Q

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int q_pos = start + tile * kTile + warp * 16 + g;  // rows g and g + 8 of the warp
  const float scale_log2 = scale * 1.4426950409f;
  uint32_t qf[HD / 16][4];
  float o[HD / 8][4] = {};
  float row_max[2] = {-1e30f, -1e30f}, row_sum[2] = {0.0f, 0.0f};
  const int n_tiles = ceil_div(n_kv, kTile);

  for (int it = 0; it < n_tiles; ++it) {
    if (it + 1 < n_tiles) {
      load_kv((it + 1) * kTile, (it + 1) & 1);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    if (it == 0) {
#pragma unroll
      for (int k = 0; k < HD / 16; ++k) ldmatrix_x4(qf[k], qs + swizzled<HD>(warp * 16 + lane % 16, 2 * k + lane / 16));
    }
    const bf16* kt = ks + (it & 1) * kTile * HD;
    const bf16* vt = vs + (it & 1) * kTile * HD;

    // S = Q K^T: 16 rows x 64 keys per warp, as 8 blocks of 8 keys.
    float s[kTile / 8][4] = {};
#pragma unroll
    for (int kc = 0; kc < HD / 32; ++kc)
#pragma unroll
      for (int nb = 0; nb < kTile / 8; ++nb) {
        uint32_t b[4];
        ldmatrix_x4(b, kt + swizzled<HD>(nb * 8 + lane % 8, 4 * kc + lane / 8));
        mma_16816(s[nb], qf[2 * kc], b[0], b[1]);
        mma_16816(s[nb], qf[2 * kc + 1], b[2], b[3]);
      }

    // Online softmax; a row's 64 scores are spread over the 4 lanes of a quad.
    const int kv0 = it * kTile;
    float tile_max[2] = {row_max[0], row_max[1]};
#pragma unroll
    for (int nb = 0; nb < kTile / 8; ++nb)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = kv0 + nb * 8 + 2 * t + (e & 1), query = q_pos + 8 * (e / 2);
        s[nb][e] = key <= query && key < n_kv ? s[nb][e] * scale_log2 : -INFINITY;
        tile_max[e / 2] = fmaxf(tile_max[e / 2], s[nb][e]);
      }
    float alpha[2], part[2] = {0.0f, 0.0f};
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
      alpha[r] = exp2f(row_max[r] - tile_max[r]);
      row_max[r] = tile_max[r];
    }
#pragma unroll
    for (int nb = 0; nb < kTile / 8; ++nb)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[nb][e] = exp2f(s[nb][e] - row_max[e / 2]);
        part[e / 2] += s[nb][e];
      }
#pragma unroll
    for (int r = 0; r < 2; ++r) row_sum[r] = row_sum[r] * alpha[r] + part[r];  // quad-partial, reduced at the end
#pragma unroll
    for (int nd = 0; nd < HD / 8; ++nd)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[nd][e] *= alpha[e / 2];

    // O += P V: P's fragments are the score accumulators of two adjacent key blocks, rounded to bf16.
#pragma unroll
    for (int j = 0; j < kTile / 16; ++j) {
      const uint32_t a[4] = {pack_bf16x2(s[2 * j][0], s[2 * j][1]), pack_bf16x2(s[2 * j][2], s[2 * j][3]),
                             pack_bf16x2(s[2 * j + 1][0], s[2 * j + 1][1]), pack_bf16x2(s[2 * j + 1][2], s[2 * j + 1][3])};
#pragma unroll
      for (int nd = 0; nd < HD / 8; nd += 2) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, vt + swizzled<HD>(j * 16 + ((lane / 8) % 2) * 8 + lane % 8, nd + lane / 16));
        mma_16816(o[nd], a, b[0], b[1]);
        mma_16816(o[nd + 1], a, b[2], b[3]);
      }
    }
    __syncthreads();  // this stage is reloaded by the next iteration's prefetch
  }

  float inv[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float sum = row_sum[r];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    inv[r] = 1.0f / sum;
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = warp * 16 + g + 8 * r;
    if (row >= q_rows) continue;
    bf16* dst = out + (int64_t(token0 + row) * heads + h) * HD + 2 * t;
#pragma unroll
    for (int nd = 0; nd < HD / 8; ++nd)
      *reinterpret_cast<__nv_bfloat162*>(dst + nd * 8) =
          __floats2bfloat162_rn(o[nd][2 * r] * inv[r], o[nd][2 * r + 1] * inv[r]);
  }
}

template <int HD>
static void launch_prefill(const bf16* q, KvLayer cache, const AttnSeqs& seqs, int max_new_tokens, bf16* out, int heads,
                           int kv_heads, int block_tokens, float scale, cudaStream_t s) {
  static bool configured = false;
  if (!configured) {
    CUDA_CHECK(cudaFuncSetAttribute(prefill_kernel<HD>, cudaFuncAttributeMaxDynamicSharedMemorySize, prefill_smem<HD>()));
    configured = true;
  }
  const dim3 grid(ceil_div(max_new_tokens, kTile), heads, seqs.count);
  prefill_kernel<HD><<<grid, kPrefillThreads, prefill_smem<HD>(), s>>>(q, cache, seqs, out, heads, kv_heads, block_tokens, scale);
  CUDA_CHECK_LAUNCH();
}

void attention_prefill(const bf16* q, KvLayer cache, const AttnSeqs& seqs, int max_new_tokens, bf16* out, int heads,
                       int kv_heads, int head_dim, int block_tokens, float scale, cudaStream_t s) {
  if (seqs.count == 0) return;
  if (head_dim == 128) launch_prefill<128>(q, cache, seqs, max_new_tokens, out, heads, kv_heads, block_tokens, scale, s);
  else if (head_dim == 64) launch_prefill<64>(q, cache, seqs, max_new_tokens, out, heads, kv_heads, block_tokens, scale, s);
  else fail("prefill attention: head_dim " + std::to_string(head_dim) + " is not supported (64, 128)");
}

}  // namespace aidc
