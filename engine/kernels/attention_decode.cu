// Decode attention over the paged KV cache: one new query token per sequence. The context is cut
// into `splits` ranges (split-K, so small batches still fill the GPU); each block handles one
// (sequence, kv head, range) for all query heads sharing that kv head (GQA).
//
// A block reads its range once (flash decoding within the block): its threads form subgroups of
// HD/8 lanes, a subgroup takes one token row at a time with 8 dims per lane, and each subgroup walks
// its share of the tokens with several K and V rows in flight per lane, keeping an online softmax per
// query head (running max, running sum, output accumulator) in registers. Nothing in the token loop
// waits for the rest of the block, so one warp's loads overlap another's arithmetic; a two-pass form
// (all scores, a block barrier, the softmax, then all values) made every block alternate between
// loading and computing, and at large batch, where the blocks run as one wave, the whole GPU with
// them. The subgroups are merged through shared memory at the end.
//
// With one range the block writes the output. With several, each block writes its partial result
// (unnormalised output, max, sum) to the workspace and takes a ticket; the last block of a (sequence,
// kv head) to finish combines the ranges and writes the output, so no second kernel is needed. That
// block also clears what it combined and its ticket: the workspace is all zeros between calls (the
// caller zeroes it once), because calls of another batch size or split count lay the workspace out
// differently, and one call's ticket may sit where another call left a partial.
#include <cfloat>
#include <cuda/atomic>

#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {

constexpr int kDecodeThreads = 128;
constexpr int kMaxGroup = 8;           // query heads per kv head handled by one block
constexpr int kMaxSplitTokens = 1024;  // longest range of a block: long contexts split even at large batch,
                                       // so sequences of unequal length still spread evenly over the SMs

// Workspace layout: partial outputs [seq][split][head][head_dim], then max and sum [seq][split][head],
// then a ticket per (seq, kv head) (room for [seq][head]: kv_heads <= heads). All zeros between calls.
size_t decode_workspace_floats(int n_seqs, int heads, int head_dim, int splits) {
  return size_t(n_seqs) * splits * heads * (head_dim + 2) + size_t(n_seqs) * heads;
}

int decode_splits(int n_seqs, int kv_heads, int max_context, int sm_count) {
  const int by_occupancy = ceil_div(2 * sm_count, n_seqs * kv_heads);
  const int by_memory = ceil_div(max_context, kMaxSplitTokens);
  const int by_length = ceil_div(max_context, 64);  // a range shorter than 64 tokens is not worth a block
  return std::max(by_memory, std::min(by_occupancy, by_length));
}

// kGroup: the most query heads per kv head the instantiation handles (1 for MHA, 4, 8). Accumulators
// for more heads than the model has would cost registers, and with them the occupancy that keeps
// enough K/V loads in flight (kGroup 4 fits four blocks on an SM, kGroup 8 three).
template <int HD, int kGroup>
__global__ void __launch_bounds__(kDecodeThreads) decode_kernel(const bf16* __restrict__ q, KvLayer cache, AttnSeqs seqs,
                                                                bf16* __restrict__ out, float* work, int heads,
                                                                int kv_heads, int block_tokens, float scale) {
  chain_start();
  constexpr int kLanesPerToken = HD / 8;  // each lane holds 8 dims of a row
  constexpr int kSubgroups = kDecodeThreads / kLanesPerToken;
  // Tokens per lane whose K and V rows load together: 8 make a 64-token range (small batches, many
  // splits) a single round trip; with several heads the registers go to the accumulators instead.
  constexpr int kRowsInFlight = kGroup == 1 ? 8 : 4;
  constexpr int kTile = kSubgroups * kRowsInFlight;
  __shared__ __align__(16) float qs[kGroup][HD];
  __shared__ __align__(16) float sub_acc[kSubgroups][kGroup][HD];
  __shared__ float sub_max[kSubgroups][kGroup], sub_sum[kSubgroups][kGroup];
  __shared__ bool last_block;

  const int seq = blockIdx.z, kvh = blockIdx.y, split = blockIdx.x, splits = gridDim.x;
  const int group = heads / kv_heads;
  const int context = seqs.context[seq];
  const int per_split = ceil_div(context, splits);
  const int begin = split * per_split, end = min(context, begin + per_split), n = max(0, end - begin);
  const int* table = seqs.block_table + int64_t(seq) * seqs.table_stride;
  const int token_row = seqs.token_offset[seq];

  // Pre-scale q by scale * log2(e): the softmax then uses exp2.
  for (int i = threadIdx.x; i < group * HD; i += blockDim.x) {
    const int g = i / HD, d = i % HD;
    qs[g][d] = __bfloat162float(q[(int64_t(token_row) * heads + kvh * group + g) * HD + d]) * scale * 1.4426950409f;
  }
  __syncthreads();

  const int sub_lane = threadIdx.x % kLanesPerToken, subgroup = threadIdx.x / kLanesPerToken;
  const uint4* k_rows = reinterpret_cast<const uint4*>(cache.k);
  const uint4* v_rows = reinterpret_cast<const uint4*>(cache.v);
  // This lane's 8 dims of cached token `pos`, in uint4 units from the start of the K (or V) cache.
  auto lane_offset = [&](int pos) {
    const int block = table[pos / block_tokens];
    return ((int64_t(block) * kv_heads + kvh) * block_tokens + pos % block_tokens) * kLanesPerToken + sub_lane;
  };

  // Online softmax state per query head. The max starts finite, so the first rescale is exp2(0)
  // rather than exp2(-inf - -inf).
  float m[kGroup], l[kGroup], acc[kGroup][8];
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
    m[g] = -FLT_MAX;
    l[g] = 0.0f;
#pragma unroll
    for (int e = 0; e < 8; ++e) acc[g][e] = 0.0f;
  }

  // Token j of the range belongs to subgroup j % kSubgroups. Loop bounds are block-uniform so every
  // lane reaches the shuffles; rows past the range's end are zeros and get weight 0.
  for (int tile = 0; tile < n; tile += kTile) {
    uint4 k_raw[kRowsInFlight], v_raw[kRowsInFlight];
    bool valid[kRowsInFlight];
#pragma unroll
    for (int u = 0; u < kRowsInFlight; ++u) {
      const int j = tile + u * kSubgroups + subgroup;
      valid[u] = j < n;
      k_raw[u] = v_raw[u] = make_uint4(0, 0, 0, 0);
      if (valid[u]) {
        // Read once: cache in L2 only, leaving L1 to the block table.
        const int64_t at = lane_offset(begin + j);
        k_raw[u] = __ldcg(k_rows + at);
        v_raw[u] = __ldcg(v_rows + at);
      }
    }
#pragma unroll
    for (int g = 0; g < kGroup; ++g) {
      if (g >= group) break;  // block-uniform
      const float4 q_lo = *reinterpret_cast<const float4*>(&qs[g][sub_lane * 8]);
      const float4 q_hi = *reinterpret_cast<const float4*>(&qs[g][sub_lane * 8 + 4]);
      const float qf[8] = {q_lo.x, q_lo.y, q_lo.z, q_lo.w, q_hi.x, q_hi.y, q_hi.z, q_hi.w};
      float score[kRowsInFlight];
      float tile_max = m[g];
#pragma unroll
      for (int u = 0; u < kRowsInFlight; ++u) {
        float kf[8];
        unpack8(k_raw[u], kf);
        float dot = 0;
#pragma unroll
        for (int e = 0; e < 8; ++e) dot = fmaf(qf[e], kf[e], dot);
        // The xor butterfly adds the same pairs on every lane of the subgroup, so all of them get the
        // same sum, bit for bit, and keep the same running max and sum.
#pragma unroll
        for (int o = kLanesPerToken / 2; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
        score[u] = dot;
        if (valid[u]) tile_max = fmaxf(tile_max, dot);
      }
      const float rescale = exp2f(m[g] - tile_max);
      m[g] = tile_max;
      l[g] *= rescale;
#pragma unroll
      for (int e = 0; e < 8; ++e) acc[g][e] *= rescale;
#pragma unroll
      for (int u = 0; u < kRowsInFlight; ++u) {
        const float p = valid[u] ? exp2f(score[u] - tile_max) : 0.0f;
        l[g] += p;
        float vf[8];
        unpack8(v_raw[u], vf);
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[g][e] = fmaf(p, vf[e], acc[g][e]);
      }
    }
  }

  // Merge the subgroups, each rescaled to the block's max. A subgroup without tokens has max
  // -FLT_MAX and sums 0, and so does a block without tokens: the combine then gives it weight 0.
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
    if (g >= group) break;
    if (sub_lane == 0) {
      sub_max[subgroup][g] = m[g];
      sub_sum[subgroup][g] = l[g];
    }
    float4* to = reinterpret_cast<float4*>(&sub_acc[subgroup][g][sub_lane * 8]);
    to[0] = make_float4(acc[g][0], acc[g][1], acc[g][2], acc[g][3]);
    to[1] = make_float4(acc[g][4], acc[g][5], acc[g][6], acc[g][7]);
  }
  __syncthreads();
  float* partial = work;
  float2* max_sum = reinterpret_cast<float2*>(work + size_t(gridDim.z) * splits * heads * HD);
  for (int i = threadIdx.x; i < group * HD; i += blockDim.x) {
    const int g = i / HD, d = i % HD, h = kvh * group + g;
    float block_max = -FLT_MAX;
    for (int s = 0; s < kSubgroups; ++s) block_max = fmaxf(block_max, sub_max[s][g]);
    float sum = 0, value = 0;
    for (int s = 0; s < kSubgroups; ++s) {
      const float w = exp2f(sub_max[s][g] - block_max);
      sum += w * sub_sum[s][g];
      value += w * sub_acc[s][g][d];
    }
    if (splits == 1) {
      out[(int64_t(token_row) * heads + h) * HD + d] = __float2bfloat16_rn(value / sum);
    } else {
      const int64_t at = (int64_t(seq) * splits + split) * heads + h;
      partial[at * HD + d] = value;
      if (d == 0) max_sum[at] = make_float2(block_max, sum);
    }
  }
  if (splits == 1) return;

  // The last of the (sequence, kv head)'s blocks to arrive combines the ranges. The ticket's
  // acq_rel add publishes this block's partial (ordered before it by the barrier) and, in the last
  // block, makes every other block's visible. Those are read from L2 (__ldcg), never from an L1 line
  // this SM may hold from before they were written.
  unsigned* ticket = reinterpret_cast<unsigned*>(max_sum + size_t(gridDim.z) * splits * heads) + seq * kv_heads + kvh;
  __syncthreads();
  if (threadIdx.x == 0) {
    cuda::atomic_ref<unsigned, cuda::thread_scope_device> arrivals(*ticket);
    last_block = arrivals.fetch_add(1u, cuda::memory_order_acq_rel) == unsigned(splits - 1);
  }
  __syncthreads();
  if (!last_block) return;
  // Four dims per thread, so a split's partial is one 16-byte load; the split loops are unrolled so
  // that several of those loads are in flight (there may be tens of splits).
  for (int i = threadIdx.x; i < group * HD / 4; i += blockDim.x) {
    const int h = kvh * group + i / (HD / 4), d = i % (HD / 4) * 4;
    const int64_t first = int64_t(seq) * splits * heads + h;  // [seq][split 0][h]; the splits are `heads` apart
    float all_max = -FLT_MAX;
#pragma unroll 8
    for (int s = 0; s < splits; ++s) all_max = fmaxf(all_max, __ldcg(&max_sum[first + int64_t(s) * heads]).x);
    float4 num = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    float den = 0;
#pragma unroll 8
    for (int s = 0; s < splits; ++s) {
      const int64_t at = first + int64_t(s) * heads;
      const float2 stats = __ldcg(&max_sum[at]);
      float4* part = reinterpret_cast<float4*>(&partial[at * HD + d]);
      const float4 p = __ldcg(part);
      const float w = exp2f(stats.x - all_max);
      num.x += w * p.x;
      num.y += w * p.y;
      num.z += w * p.z;
      num.w += w * p.w;
      den += w * stats.y;
      *part = make_float4(0.0f, 0.0f, 0.0f, 0.0f);  // only this thread reads these four
    }
    __nv_bfloat162* to = reinterpret_cast<__nv_bfloat162*>(&out[(int64_t(token_row) * heads + h) * HD + d]);
    to[0] = __floats2bfloat162_rn(num.x / den, num.y / den);
    to[1] = __floats2bfloat162_rn(num.z / den, num.w / den);
  }
  __syncthreads();  // every thread has read the maxima and sums before they are cleared
  for (int i = threadIdx.x; i < splits * group; i += blockDim.x)
    max_sum[(int64_t(seq) * splits + i / group) * heads + kvh * group + i % group] = make_float2(0.0f, 0.0f);
  if (threadIdx.x == 0) *ticket = 0;
}

void attention_decode(const bf16* q, KvLayer cache, const AttnSeqs& seqs, bf16* out, float* workspace, int splits,
                      int heads, int kv_heads, int head_dim, int block_tokens, float scale, cudaStream_t s) {
  require(heads / kv_heads <= kMaxGroup, "decode attention: more than 8 query heads per kv head");
  if (seqs.count == 0) return;
  const dim3 grid(splits, kv_heads, seqs.count);
  const int group = heads / kv_heads;
  auto launch = [&](auto kernel) {
    launch_chained(kernel, grid, kDecodeThreads, 0, s, q, cache, seqs, out, workspace, heads, kv_heads, block_tokens,
                   scale);
  };
  if (head_dim == 128)
    launch(group == 1 ? decode_kernel<128, 1> : group <= 4 ? decode_kernel<128, 4> : decode_kernel<128, kMaxGroup>);
  else if (head_dim == 64)
    launch(group == 1 ? decode_kernel<64, 1> : group <= 4 ? decode_kernel<64, 4> : decode_kernel<64, kMaxGroup>);
  else fail("decode attention: head_dim " + std::to_string(head_dim) + " is not supported (64, 128)");
  CUDA_CHECK_LAUNCH();
}

}  // namespace aidc
