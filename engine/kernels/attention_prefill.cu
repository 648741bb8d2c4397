// Causal prefill attention, FlashAttention-2 structure on mma.sync (m16n8k16, bf16 in, fp32
// accumulate): a block owns 128 query rows of one head (8 warps x 16 rows) and walks the sequence's
// keys in tiles of 64. With 128 rows per block (rather than 64) every K/V tile brought into shared
// memory serves twice as many queries, halving the L2 traffic and the copy work per FLOP. Scores,
// probabilities and the output accumulator stay in registers (the score accumulator's layout is the
// probability operand's layout, so P never goes through shared memory); K/V tiles are
// double-buffered through cp.async so the next tile loads while this one is multiplied, with one
// barrier per tile. Q fragments are re-read from shared memory rather than held in registers, so
// that a thread fits in 128 registers and two blocks (16 warps) share an SM where their tiles fit;
// at a value width of 128 the online softmax then goes 32 keys at a time for the same reason.
// Shared-memory rows are XOR-swizzled in 16-byte chunks so ldmatrix reads are conflict-free. A warp
// masks only the keys that may follow its first query, and skips those after its last one (a warp
// wholly past the sequence's new tokens computes nothing, but still joins every barrier and copy).
// The query/key width QK and the value width VD are template parameters, and where rows come from
// is the Rows policy: dense attention (QK = VD = head_dim, K/V in the paged cache) and MLA in the
// non-absorbed form (QK = nope + rope, VD = v_dim, K_nope and V expanded per head from the latent,
// the rope key shared from the latent cache). The CPU references are CpuModel::attention and
// CpuModel::mla_attention.
#include <cfloat>

#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {

constexpr int kQueryRows = 128;                          // query rows per block
constexpr int kKeys = 64;                                // keys per K/V tile
constexpr int kPrefillThreads = (kQueryRows / 16) * 32;  // one warp per 16 query rows

template <int QK, int VD>
constexpr size_t prefill_smem() {  // Q, then K and V double-buffered
  return size_t(kQueryRows + 2 * kKeys) * smem_width(QK) * sizeof(bf16) + size_t(2 * kKeys) * smem_width(VD) * sizeof(bf16);
}
// Two blocks per SM where their tiles fit in its 227 KB of shared memory (MLA's 192-wide keys do not).
template <int QK, int VD>
constexpr int prefill_blocks_per_sm() {
  return 2 * prefill_smem<QK, VD>() <= 227 * 1024 ? 2 : 1;
}

// 2^x on the special-function unit alone (exp2f adds a denormal fix-up around it): results below
// 2^-126 flush to zero, far below what a bf16 probability or the fp32 sums resolve.
__device__ __forceinline__ float exp2_ftz(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Dense attention's rows: q [T][heads][HD]; K and V in the paged cache (kv head of h: h / group).
struct DenseRows {
  const bf16* q;
  KvLayer cache;
  int heads, kv_heads, block_tokens;
  struct KvRow {
    const bf16 *k, *v;
  };
  // Chunk c (8 values) of token t's query for head h.
  template <int QK>
  __device__ const bf16* query(int t, int h, int c) const {
    return q + (int64_t(t) * heads + h) * QK + c * 8;
  }
  template <int QK>
  __device__ KvRow kv_row(const int* table, int pos, int h) const {
    // block * kv_heads + kv head fits in an int (the cache holds that many head slices); the rest is 64-bit.
    const int64_t at =
        (int64_t(table[pos / block_tokens] * kv_heads + h / (heads / kv_heads)) * block_tokens + pos % block_tokens) * QK;
    return {cache.k + at, cache.v + at};
  }
  __device__ const bf16* key(const KvRow& r, int c) const { return r.k + c * 8; }
  __device__ const bf16* value(const KvRow& r, int c) const { return r.v + c * 8; }
};

// MLA's rows in the non-absorbed form, for one sequence: the query is q_nope (from the q projection,
// rows of q_stride, heads of nope + rope values) then the rotated q_rope (mla_prepare's, in q_full
// after the rank values of each [heads][rank + rope] row); the key of position p is head h's K_nope
// (expanded[p][h][:nope]) then the shared rotated rope key (cache row p after its rank values); the
// value is expanded[p][h][nope:].
struct MlaRows {
  const bf16 *q, *q_full, *expanded, *cache;
  int q_stride, heads, nope, rope_dim, v_dim, rank, block_tokens;
  struct KvRow {
    const bf16 *kv, *rope;
  };
  template <int QK>
  __device__ const bf16* query(int t, int h, int c) const {
    const int nope_chunks = nope / 8;
    return c < nope_chunks ? q + int64_t(t) * q_stride + h * (nope + rope_dim) + c * 8
                           : q_full + (int64_t(t) * heads + h) * (rank + rope_dim) + rank + (c - nope_chunks) * 8;
  }
  template <int QK>
  __device__ KvRow kv_row(const int* table, int pos, int h) const {
    return {expanded + (int64_t(pos) * heads + h) * (nope + v_dim),
            cache + (int64_t(table[pos / block_tokens]) * block_tokens + pos % block_tokens) * (rank + rope_dim) + rank};
  }
  __device__ const bf16* key(const KvRow& r, int c) const {
    return c < nope / 8 ? r.kv + c * 8 : r.rope + (c - nope / 8) * 8;
  }
  __device__ const bf16* value(const KvRow& r, int c) const { return r.kv + nope + c * 8; }
};

template <int QK, int VD, class Rows>
__global__ void __launch_bounds__(kPrefillThreads, (prefill_blocks_per_sm<QK, VD>()))
    prefill_kernel(Rows rows, AttnSeqs seqs, bf16* __restrict__ out, int heads, float scale) {
  static_assert(QK % 16 == 0 && VD % 16 == 0, "mma steps of 16 columns");
  extern __shared__ __align__(128) unsigned char smem[];
  constexpr int QW = smem_width(QK), VW = smem_width(VD);
  bf16* qs = reinterpret_cast<bf16*>(smem);  // [128][QW]
  bf16* ks = qs + kQueryRows * QW;            // [2][64][QW]
  bf16* vs = ks + 2 * kKeys * QW;             // [2][64][VW]
  constexpr int kQkChunks = QK / 8, kVChunks = VD / 8;
  constexpr int kKRowBytes = QW * sizeof(bf16), kVRowBytes = VW * sizeof(bf16);
  // Keys per online-softmax step. With two blocks per SM and 128 value columns, the 64 output
  // accumulators leave room in 128 registers for the scores of 32 keys, not 64, without spilling.
  constexpr int kStepKeys = VD >= 128 && prefill_blocks_per_sm<QK, VD>() == 2 ? 32 : kKeys;

  // Tiles in reverse order: the last query tiles see the most keys, so they start first.
  const int seq = blockIdx.z, h = blockIdx.y, row0 = (gridDim.x - 1 - blockIdx.x) * kQueryRows;
  const int n_new = seqs.n_new[seq];
  if (row0 >= n_new) return;
  const int context = seqs.context[seq], start = context - n_new;
  const int token0 = seqs.token_offset[seq] + row0;
  const int q_rows = min(kQueryRows, n_new - row0);
  const int* table = seqs.block_table + int64_t(seq) * seqs.table_stride;
  const int n_kv = start + row0 + q_rows;  // keys visible to the block's last query

  // Copies: thread i moves chunks i % 4 + 4 k of row i / 4 (of each 64 rows), so that four neighbouring
  // threads read 64 contiguous bytes per instruction and a K/V row costs one address lookup.
  static_assert(kPrefillThreads == 4 * kKeys, "four threads copy each row of a K/V tile");
  const int copy_row = threadIdx.x / 4, copy_chunk = threadIdx.x % 4;
  // Rows past the sequence's new tokens are zeros: their scores stay finite, and they are not written.
#pragma unroll
  for (int r = copy_row; r < kQueryRows; r += kKeys) {
    const int t = token0 + min(r, q_rows - 1);
#pragma unroll
    for (int c = copy_chunk; c < kQkChunks; c += 4)
      cp_async16_zfill(qs + swizzled<QW>(r, c), rows.template query<QK>(t, h, c), r < q_rows);
  }
  auto load_kv = [&](int kv0, int stage) {
    const int pos = kv0 + copy_row;
    const bool valid = pos < n_kv;  // rows past the visible keys are zeros (masked, or seen only by unwritten rows)
    const typename Rows::KvRow row = rows.template kv_row<QK>(table, valid ? pos : 0, h);
#pragma unroll
    for (int c = copy_chunk; c < kQkChunks; c += 4)
      cp_async16_zfill(ks + stage * kKeys * QW + swizzled<QW>(copy_row, c), rows.key(row, c), valid);
#pragma unroll
    for (int c = copy_chunk; c < kVChunks; c += 4)
      cp_async16_zfill(vs + stage * kKeys * VW + swizzled<VW>(copy_row, c), rows.value(row, c), valid);
    cp_async_commit();
  };
  load_kv(0, 0);  // one group with Q

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int warp_rows = min(16, q_rows - warp * 16);  // none for a warp wholly past the new tokens
  const int warp_first = start + row0 + warp * 16;     // positions of the warp's first and last query rows
  const int warp_last = warp_first + warp_rows - 1;
  const int q_pos = warp_first + g;  // rows g and g + 8 of the warp
  // Tiles holding a key visible to one of the warp's rows.
  const int warp_tiles = warp_rows > 0 ? warp_last / kKeys + 1 : 0;
  // Plain (unswizzled) byte addresses of the lane's ldmatrix rows, lanes 8 m .. 8 m + 7 addressing
  // matrix m, the matrices in the order of the mma fragments: Q rows lane % 16 of the warp, chunk
  // lane / 16 (+ 2 per 16 columns); K keys (lane / 16) * 8 + lane % 8, chunk (lane / 8) % 2 (two
  // 8-key blocks per load); V keys ((lane / 8) % 2) * 8 + lane % 8, chunk lane / 16 (transposed: two
  // 8-column blocks per load).
  auto swizzle = [&](unsigned plain, int column_bytes) { return lane_swizzled(plain, column_bytes, lane); };
  const unsigned q_lane = smem_address(qs) + (warp * 16 + lane % 16) * kKRowBytes + (lane / 16) * 16;
  const unsigned k_lane = smem_address(ks) + ((lane / 16) * 8 + lane % 8) * kKRowBytes + (lane / 8) % 2 * 16;
  const unsigned v_lane = smem_address(vs) + ((lane / 8) % 2 * 8 + lane % 8) * kVRowBytes + (lane / 16) * 16;
  const float scale_log2 = scale * 1.4426950409f;
  float o[VD / 8][4] = {};
  // Running maximum in log2-scaled units; finite from the start, so exp2 never sees -inf - -inf.
  float row_max[2] = {-1e30f, -1e30f}, row_sum[2] = {0.0f, 0.0f};

  const int n_tiles = ceil_div(n_kv, kKeys);
  for (int it = 0; it < n_tiles; ++it) {
    cp_async_wait<0>();
    // Tile `it` is now visible to all warps, and all have finished tile it - 1, whose stage is refilled next.
    __syncthreads();
    if (it + 1 < n_tiles) load_kv((it + 1) * kKeys, (it + 1) & 1);
    // Every key of the tile follows the warp's last query; the warp still took part in the barrier and
    // the copy, which every thread of the block reaches at the same statement.
    if (it >= warp_tiles) continue;
#pragma unroll
    for (int step = 0; step < kKeys / kStepKeys; ++step) {
      const int key0 = it * kKeys + step * kStepKeys;
      if (key0 > warp_last) break;  // every key of the step follows the warp's last query
      const int stage_key = (it & 1) * kKeys + step * kStepKeys;  // the step's first row in ks / vs
      const unsigned kt = k_lane + stage_key * kKRowBytes, vt = v_lane + stage_key * kVRowBytes;

      // S = Q K^T: 16 rows x kStepKeys keys per warp (blocks of 8 keys), one 16-column step at a time.
      float s[kStepKeys / 8][4] = {};
#pragma unroll
      for (int k = 0; k < QK / 16; ++k) {
        uint32_t a[4];
        ldmatrix_x4(a, swizzle(q_lane, k * 32));
        const unsigned k_at = swizzle(kt, k * 32);
#pragma unroll
        for (int nb = 0; nb < kStepKeys / 8; nb += 2) {
          uint32_t b[4];  // keys of blocks nb, then nb + 1
          ldmatrix_x4(b, k_at + nb * 8 * kKRowBytes);
          mma_16816(s[nb], a, b[0], b[1]);
          mma_16816(s[nb + 1], a, b[2], b[3]);
        }
      }

      // Causal mask, only where the step's last key follows the warp's first query. Key
      // key0 + 8 nb + 2 t + (e & 1) against query q_pos + 8 (e / 2): constants per element.
      if (key0 + kStepKeys - 1 > warp_first) {
        const int reach = q_pos - key0 - 2 * t;
#pragma unroll
        for (int nb = 0; nb < kStepKeys / 8; ++nb)
#pragma unroll
          for (int e = 0; e < 4; ++e)
            if (nb * 8 + (e & 1) - 8 * (e / 2) > reach) s[nb][e] = -INFINITY;
      }

      // Online softmax; a row's scores are spread over the 4 lanes of a quad. The scale is folded
      // into the exponent (one FMA per score): max(scale * s) = scale * max(s), as scale > 0.
      float step_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
      for (int nb = 0; nb < kStepKeys / 8; ++nb)
#pragma unroll
        for (int e = 0; e < 4; ++e) step_max[e / 2] = fmaxf(step_max[e / 2], s[nb][e]);
      float alpha[2], part[2] = {0.0f, 0.0f};
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        step_max[r] = fmaxf(step_max[r], __shfl_xor_sync(0xffffffffu, step_max[r], 1));
        step_max[r] = fmaxf(step_max[r], __shfl_xor_sync(0xffffffffu, step_max[r], 2));
        const float new_max = fmaxf(row_max[r], step_max[r] * scale_log2);
        alpha[r] = exp2_ftz(row_max[r] - new_max);
        row_max[r] = new_max;
      }
#pragma unroll
      for (int nb = 0; nb < kStepKeys / 8; ++nb)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          s[nb][e] = exp2_ftz(fmaf(s[nb][e], scale_log2, -row_max[e / 2]));
          part[e / 2] += s[nb][e];
        }
#pragma unroll
      for (int r = 0; r < 2; ++r) row_sum[r] = row_sum[r] * alpha[r] + part[r];  // quad-partial, reduced at the end
      // Once no maximum in the warp moves (alpha exactly 1), the rescale is skipped: the common case
      // after the first keys.
      if (__any_sync(0xffffffffu, alpha[0] != 1.0f || alpha[1] != 1.0f)) {
#pragma unroll
        for (int nd = 0; nd < VD / 8; ++nd)
#pragma unroll
          for (int e = 0; e < 4; ++e) o[nd][e] *= alpha[e / 2];
      }

      // O += P V: P's fragments are the score accumulators of two adjacent key blocks, rounded to bf16.
#pragma unroll
      for (int j = 0; j < kStepKeys / 16; ++j) {
        const uint32_t a[4] = {pack_bf16x2(s[2 * j][0], s[2 * j][1]), pack_bf16x2(s[2 * j][2], s[2 * j][3]),
                               pack_bf16x2(s[2 * j + 1][0], s[2 * j + 1][1]),
                               pack_bf16x2(s[2 * j + 1][2], s[2 * j + 1][3])};
#pragma unroll
        for (int nd = 0; nd < VD / 8; nd += 2) {
          uint32_t b[4];  // columns of blocks nd, then nd + 1
          ldmatrix_x4_trans(b, swizzle(vt, nd * 16) + j * 16 * kVRowBytes);
          mma_16816(o[nd], a, b[0], b[1]);
          mma_16816(o[nd + 1], a, b[2], b[3]);
        }
      }
    }
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
    bf16* dst = out + (int64_t(token0 + row) * heads + h) * VD + 2 * t;
#pragma unroll
    for (int nd = 0; nd < VD / 8; ++nd)
      *reinterpret_cast<__nv_bfloat162*>(dst + nd * 8) =
          __floats2bfloat162_rn(o[nd][2 * r] * inv[r], o[nd][2 * r + 1] * inv[r]);
  }
}

template <int QK, int VD, class Rows>
static void launch_prefill(const Rows& rows, const AttnSeqs& seqs, int max_new_tokens, bf16* out, int heads, float scale,
                           cudaStream_t s) {
  static bool configured = false;
  if (!configured) {
    CUDA_CHECK(cudaFuncSetAttribute(prefill_kernel<QK, VD, Rows>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    prefill_smem<QK, VD>()));
    configured = true;
  }
  const dim3 grid(ceil_div(max_new_tokens, kQueryRows), heads, seqs.count);
  prefill_kernel<QK, VD, Rows><<<grid, kPrefillThreads, prefill_smem<QK, VD>(), s>>>(rows, seqs, out, heads, scale);
  CUDA_CHECK_LAUNCH();
}

void attention_prefill(const bf16* q, KvLayer cache, const AttnSeqs& seqs, int max_new_tokens, bf16* out, int heads,
                       int kv_heads, int head_dim, int block_tokens, float scale, cudaStream_t s) {
  if (seqs.count == 0) return;
  const DenseRows rows{q, cache, heads, kv_heads, block_tokens};
  if (head_dim == 128) launch_prefill<128, 128>(rows, seqs, max_new_tokens, out, heads, scale, s);
  else if (head_dim == 64) launch_prefill<64, 64>(rows, seqs, max_new_tokens, out, heads, scale, s);
  else fail("prefill attention: head_dim " + std::to_string(head_dim) + " is not supported (64, 128)");
}

// The head dims instantiated: DeepSeek V2 and V3 (nope 128, rope 64, v 128) and the tiny test models.
bool mla_prefill_supported(int nope, int rope_dim, int v_dim) {
  return (nope == 128 && rope_dim == 64 && v_dim == 128) || (nope == 32 && rope_dim == 16 && v_dim == 32);
}

void mla_prefill_attention(const MlaPrefill& m, const AttnSeqs& seq, int max_new_tokens, bf16* out, float scale,
                           cudaStream_t s) {
  if (seq.count == 0) return;
  require(seq.count == 1, "MLA prefill attention: one sequence per launch (its keys are expanded for it alone)");
  require(mla_prefill_supported(m.nope, m.rope_dim, m.v_dim),
          "MLA prefill attention: qk_nope/qk_rope/v head dims " + std::to_string(m.nope) + "/" +
              std::to_string(m.rope_dim) + "/" + std::to_string(m.v_dim) + " are not supported (128/64/128, 32/16/32)");
  const MlaRows rows{m.q, m.q_full, m.expanded, m.cache, m.q_stride, m.heads, m.nope, m.rope_dim, m.v_dim, m.rank,
                     m.block_tokens};
  if (m.nope == 128) launch_prefill<192, 128>(rows, seq, max_new_tokens, out, m.heads, scale, s);
  else launch_prefill<48, 32>(rows, seq, max_new_tokens, out, m.heads, scale, s);
}

}  // namespace aidc
