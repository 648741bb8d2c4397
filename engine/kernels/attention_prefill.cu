// Causal prefill attention, flash style: a block owns 64 query rows of one head and walks the
// sequence's paged K/V in tiles of 64 tokens through shared memory, with an online softmax, so the
// score matrix never reaches device memory. Q K^T and P V run on the tensor cores (WMMA, bf16 in,
// fp32 accumulate). Each warp owns 16 query rows, so only the K/V tiles need block barriers.
#include <mma.h>

#include <cfloat>

#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {

namespace wmma = nvcuda::wmma;
constexpr int kTile = 64;
constexpr int kPrefillThreads = 128;

template <int HD>
constexpr size_t prefill_smem() {
  return 3 * kTile * HD * sizeof(bf16) + kTile * kTile * (sizeof(float) + sizeof(bf16)) + kTile * HD * sizeof(float) +
         2 * kTile * sizeof(float);
}

template <int HD>
__global__ void __launch_bounds__(kPrefillThreads) prefill_kernel(const bf16* __restrict__ q, KvLayer cache, AttnSeqs seqs,
                                                                  bf16* __restrict__ out, int heads, int kv_heads,
                                                                  int block_tokens, float scale) {
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* qs = reinterpret_cast<bf16*>(smem);      // [64][HD]
  bf16* ks = qs + kTile * HD;                     // [64][HD]
  bf16* vs = ks + kTile * HD;                     // [64][HD]
  float* ss = reinterpret_cast<float*>(vs + kTile * HD);  // [64][64] scores
  bf16* ps = reinterpret_cast<bf16*>(ss + kTile * kTile); // [64][64] probabilities
  float* os = reinterpret_cast<float*>(ps + kTile * kTile);  // [64][HD] output accumulator
  float* row_max = os + kTile * HD;
  float* row_sum = row_max + kTile;

  const int seq = blockIdx.z, h = blockIdx.y, tile = blockIdx.x;
  const int n_new = seqs.n_new[seq];
  if (tile * kTile >= n_new) return;
  const int context = seqs.context[seq], start = context - n_new;
  const int token0 = seqs.token_offset[seq] + tile * kTile;
  const int q_rows = min(kTile, n_new - tile * kTile);
  const int kvh = h / (heads / kv_heads);
  const int* table = seqs.block_table + int64_t(seq) * seqs.table_stride;
  constexpr int kVecs = HD / 8;
  const uint4 zero = make_uint4(0, 0, 0, 0);

  for (int i = threadIdx.x; i < kTile * kVecs; i += blockDim.x) {
    const int r = i / kVecs, c = i % kVecs;
    reinterpret_cast<uint4*>(qs)[i] =
        r < q_rows ? *reinterpret_cast<const uint4*>(q + (int64_t(token0 + r) * heads + h) * HD + c * 8) : zero;
  }
  for (int i = threadIdx.x; i < kTile * HD; i += blockDim.x) os[i] = 0.0f;
  for (int i = threadIdx.x; i < kTile; i += blockDim.x) {
    row_max[i] = -FLT_MAX;
    row_sum[i] = 0.0f;
  }

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int n_kv = start + tile * kTile + q_rows;  // keys visible to the tile's last query
  const float scale_log2 = scale * 1.4426950409f;

  for (int kv0 = 0; kv0 < n_kv; kv0 += kTile) {
    __syncthreads();  // previous tile fully consumed (and, first time, Q/O initialised)
    for (int i = threadIdx.x; i < kTile * kVecs; i += blockDim.x) {
      const int row = i / kVecs, c = i % kVecs, pos = kv0 + row;
      uint4 kv = zero, vv = zero;
      if (pos < n_kv) {
        const int64_t at = ((int64_t(table[pos / block_tokens]) * kv_heads + kvh) * block_tokens + pos % block_tokens) * HD + c * 8;
        kv = *reinterpret_cast<const uint4*>(cache.k + at);
        vv = *reinterpret_cast<const uint4*>(cache.v + at);
      }
      reinterpret_cast<uint4*>(ks)[i] = kv;
      reinterpret_cast<uint4*>(vs)[i] = vv;
    }
    __syncthreads();

    // S = Q K^T for this warp's 16 rows.
    for (int n = 0; n < kTile / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
#pragma unroll
      for (int k = 0; k < HD / 16; ++k) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> b;
        wmma::load_matrix_sync(a, qs + warp * 16 * HD + k * 16, HD);
        wmma::load_matrix_sync(b, ks + n * 16 * HD + k * 16, HD);
        wmma::mma_sync(acc, a, b, acc);
      }
      wmma::store_matrix_sync(ss + warp * 16 * kTile + n * 16, acc, kTile, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax, one row at a time across the warp: lane owns columns lane and lane + 32, so
    // shared-memory accesses are consecutive (a lane-per-row layout hits one bank 32 times).
    for (int i = 0; i < 16; ++i) {
      const int row = warp * 16 + i, q_pos = start + tile * kTile + row;
      float s0 = -FLT_MAX, s1 = -FLT_MAX;
      if (kv0 + lane <= q_pos && kv0 + lane < n_kv) s0 = ss[row * kTile + lane] * scale_log2;
      if (kv0 + lane + 32 <= q_pos && kv0 + lane + 32 < n_kv) s1 = ss[row * kTile + lane + 32] * scale_log2;
      const float old_max = row_max[row];
      const float new_max = fmaxf(old_max, warp_max(fmaxf(s0, s1)));
      const float p0 = s0 == -FLT_MAX ? 0.0f : exp2f(s0 - new_max), p1 = s1 == -FLT_MAX ? 0.0f : exp2f(s1 - new_max);
      ps[row * kTile + lane] = __float2bfloat16_rn(p0);
      ps[row * kTile + lane + 32] = __float2bfloat16_rn(p1);
      const float alpha = exp2f(old_max - new_max);
      const float sum = warp_sum(p0 + p1);  // also orders every lane's read of row_max before the write
      for (int d = lane; d < HD; d += 32) os[row * HD + d] *= alpha;
      if (lane == 0) {
        row_max[row] = new_max;
        row_sum[row] = row_sum[row] * alpha + sum;
      }
    }
    __syncwarp();

    // O += P V for this warp's rows.
    for (int n = 0; n < HD / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, os + warp * 16 * HD + n * 16, HD, wmma::mem_row_major);
#pragma unroll
      for (int k = 0; k < kTile / 16; ++k) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> b;
        wmma::load_matrix_sync(a, ps + warp * 16 * kTile + k * 16, kTile);
        wmma::load_matrix_sync(b, vs + k * 16 * HD + n * 16, HD);
        wmma::mma_sync(acc, a, b, acc);
      }
      wmma::store_matrix_sync(os + warp * 16 * HD + n * 16, acc, HD, wmma::mem_row_major);
    }
    __syncwarp();
  }

  for (int i = lane; i < 16 * HD; i += 32) {
    const int row = warp * 16 + i / HD, d = i % HD;
    if (row < q_rows) out[(int64_t(token0 + row) * heads + h) * HD + d] = __float2bfloat16_rn(os[row * HD + d] / row_sum[row]);
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
