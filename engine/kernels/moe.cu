// Routed experts of DeepSeekMoE layers: the router (softmax top-k, group-limited top-k, V3 sigmoid
// with bias correction), a counting sort of (token, expert) pairs by expert, a grouped GEMM over the
// sorted pairs, and the weighted combine into the residual stream. Decode-sized steps skip the sort
// and use the grouped GEMV (gemv.cu). The CPU reference is route_token() and CpuModel::moe().
#include <mma.h>

#include <algorithm>
#include <climits>

#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {

namespace wmma = nvcuda::wmma;

constexpr int kRouteWarps = 4;
constexpr int kExpertsPerLane = kMoeMaxExperts / 32;

// Candidate order of the CPU reference's stable sort: higher value first, lower index on ties.
__device__ __forceinline__ bool ranks_before(float v, int e, float best_v, int best_e) {
  return v > best_v || (v == best_v && e < best_e);
}

__global__ void __launch_bounds__(kRouteWarps * 32) route_kernel(const float* __restrict__ logits,
                                                                 const bf16* __restrict__ bias, MoeRouting r,
                                                                 int n_tokens, const int* __restrict__ forced,
                                                                 int* expert_of_pair, float* weight_of_pair) {
  chain_start();
  const int lane = threadIdx.x % 32, t = blockIdx.x * kRouteWarps + threadIdx.x / 32;
  if (t >= n_tokens) return;  // whole warps leave together
  const float* row = logits + int64_t(t) * r.experts;
  float score[kExpertsPerLane], choice[kExpertsPerLane];
  auto expert = [&](int j) { return lane + 32 * j; };
  float peak = -INFINITY;
#pragma unroll
  for (int j = 0; j < kExpertsPerLane; ++j) {
    score[j] = expert(j) < r.experts ? row[expert(j)] : -INFINITY;
    peak = fmaxf(peak, score[j]);
  }
  if (r.sigmoid) {
#pragma unroll
    for (int j = 0; j < kExpertsPerLane; ++j) score[j] = expert(j) < r.experts ? 1.0f / (1.0f + expf(-score[j])) : 0.0f;
  } else {
    peak = warp_max(peak);
    float sum = 0;
#pragma unroll
    for (int j = 0; j < kExpertsPerLane; ++j) {
      score[j] = expert(j) < r.experts ? expf(score[j] - peak) : 0.0f;
      sum += score[j];
    }
    sum = warp_sum(sum);
#pragma unroll
    for (int j = 0; j < kExpertsPerLane; ++j) score[j] /= sum;
  }
#pragma unroll
  for (int j = 0; j < kExpertsPerLane; ++j)
    choice[j] = expert(j) < r.experts
                    ? score[j] + (r.sigmoid && bias ? __bfloat162float(bias[expert(j)]) : 0.0f)
                    : -INFINITY;

  if (r.group_limited) {
    // A group scores its best expert (V2) or the sum of its best two (V3); the topk_group best groups
    // stay, the others' experts drop to 0 (as the reference's masked_fill).
    const int per = r.experts / r.n_group;
    float group_score[kMoeMaxGroups];
    for (int g = 0; g < r.n_group; ++g) {
      float top1 = -INFINITY, top2 = -INFINITY;
#pragma unroll
      for (int j = 0; j < kExpertsPerLane; ++j) {
        if (expert(j) / per != g || expert(j) >= r.experts) continue;
        if (choice[j] > top1) top2 = top1, top1 = choice[j];
        else if (choice[j] > top2) top2 = choice[j];
      }
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) {
        const float other1 = __shfl_xor_sync(0xffffffffu, top1, o), other2 = __shfl_xor_sync(0xffffffffu, top2, o);
        top2 = fmaxf(fminf(top1, other1), fmaxf(top2, other2));
        top1 = fmaxf(top1, other1);
      }
      group_score[g] = r.sigmoid ? top1 + (per > 1 ? top2 : 0.0f) : top1;
    }
    unsigned kept = 0;
    for (int i = 0; i < r.topk_group; ++i) {
      int best = -1;
      for (int g = 0; g < r.n_group; ++g)
        if (!(kept >> g & 1u) && (best < 0 || group_score[g] > group_score[best])) best = g;
      kept |= 1u << best;
    }
#pragma unroll
    for (int j = 0; j < kExpertsPerLane; ++j)
      if (expert(j) < r.experts && !(kept >> (expert(j) / per) & 1u)) choice[j] = 0.0f;
  }

  // Top-k by repeated warp arg-max (or the forced experts); lane i keeps the i-th pick's weight.
  float mine = 0.0f;
  for (int i = 0; i < r.top_k; ++i) {
    float best_v = -INFINITY;
    int best_e = INT_MAX;
    if (forced) {
      best_e = forced[t * r.top_k + i];
    } else {
#pragma unroll
      for (int j = 0; j < kExpertsPerLane; ++j)
        if (expert(j) < r.experts && ranks_before(choice[j], expert(j), best_v, best_e))
          best_v = choice[j], best_e = expert(j);
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) {
        const float other_v = __shfl_xor_sync(0xffffffffu, best_v, o);
        const int other_e = __shfl_xor_sync(0xffffffffu, best_e, o);
        if (ranks_before(other_v, other_e, best_v, best_e)) best_v = other_v, best_e = other_e;
      }
    }
    float picked = 0.0f;
#pragma unroll
    for (int j = 0; j < kExpertsPerLane; ++j)
      if (expert(j) == best_e) picked = score[j], choice[j] = -INFINITY;
    picked = __shfl_sync(0xffffffffu, picked, best_e % 32);
    if (lane == i) mine = picked;
    if (lane == 0) expert_of_pair[t * r.top_k + i] = best_e;
  }
  const float sum = warp_sum(lane < r.top_k ? mine : 0.0f);
  if (lane < r.top_k) {
    if (r.normalise) mine /= sum + 1e-20f;
    if (r.scale_weights) mine *= r.scale;
    weight_of_pair[t * r.top_k + lane] = mine;
  }
}

void moe_route(const float* gate_logits, const bf16* correction_bias, const MoeRouting& r, int n_tokens,
               const int* forced_experts, int* expert_of_pair, float* weight_of_pair, cudaStream_t s) {
  require(r.experts <= kMoeMaxExperts && r.top_k <= 32 && r.top_k <= r.experts,
          "moe: the GPU router takes at most 256 experts and 32 per token");
  require(!r.group_limited || (r.n_group <= kMoeMaxGroups && r.experts % r.n_group == 0 && r.topk_group <= r.n_group),
          "moe: the GPU router takes at most 32 expert groups of equal size");
  launch_chained(route_kernel, ceil_div(n_tokens, kRouteWarps), kRouteWarps * 32, 0, s, gate_logits, correction_bias, r, n_tokens,
                forced_experts, expert_of_pair, weight_of_pair);
  CUDA_CHECK_LAUNCH();
}

// One block: pairs per expert, prefix sums, then each pair takes the next position of its expert.
// Positions inside an expert depend on atomics' order, which changes nothing: every output row is
// computed from its own input row alone.
__global__ void sort_kernel(const int* expert_of_pair, int n_pairs, int experts, MoeSorted out) {
  chain_start();
  __shared__ int count[kMoeMaxExperts], cursor[kMoeMaxExperts];
  for (int e = threadIdx.x; e < experts; e += blockDim.x) count[e] = 0;
  __syncthreads();
  for (int p = threadIdx.x; p < n_pairs; p += blockDim.x) atomicAdd(&count[expert_of_pair[p]], 1);
  __syncthreads();
  if (threadIdx.x == 0) {
    int rows = 0, tiles = 0;
    for (int e = 0; e < experts; ++e) {
      out.expert_begin[e] = cursor[e] = rows;
      out.tile_begin[e] = tiles;
      rows += count[e];
      tiles += ceil_div(count[e], kMoeTileRows);
    }
    out.expert_begin[experts] = rows;
    out.tile_begin[experts] = tiles;
  }
  __syncthreads();
  for (int p = threadIdx.x; p < n_pairs; p += blockDim.x) {
    const int at = atomicAdd(&cursor[expert_of_pair[p]], 1);
    out.sorted_pair[at] = p;
    out.position_of_pair[p] = at;
  }
}

void moe_sort(const int* expert_of_pair, int n_pairs, int experts, MoeSorted out, cudaStream_t s) {
  require(experts <= kMoeMaxExperts, "moe: at most 256 experts");
  launch_chained(sort_kernel, 1, 1024, 0, s, expert_of_pair, n_pairs, experts, out);
  CUDA_CHECK_LAUNCH();
}

// Every expert can end in one partial tile; the grid is sized for that, so it does not depend on the
// routing (CUDA graphs) and surplus blocks return at once.
int moe_max_tiles(int n_pairs, int experts) { return ceil_div(n_pairs, kMoeTileRows) + std::min(experts, n_pairs); }

constexpr int kGemmN = 128, kGemmK = 32, kGemmPad = 8, kGemmThreads = 256, kGemmStages = 4;
constexpr int kGemmStageValues = (kMoeTileRows + kGemmN) * (kGemmK + kGemmPad);
constexpr size_t kGemmSmemBytes = size_t(kGemmStages) * kGemmStageValues * 2 + (kGemmThreads / 32) * 16 * 16 * 4;

// Block: 64 sorted rows of one expert x 128 outputs; 8 warps as 2 x 4, each 32 x 32 in 2 x 2 WMMA
// tiles. K tiles of 32 go through a 4-stage cp.async ring: at decode-like sizes the block streams an
// expert's weights with few rows to reuse them on, so it needs several loads in flight to approach
// memory bandwidth. Rows past the expert's end load a valid row and are not stored.
template <typename Out>
__global__ void __launch_bounds__(kGemmThreads) grouped_gemm_kernel(const bf16* __restrict__ a, bool gather_tokens,
                                                                    int top_k, const bf16* __restrict__ w,
                                                                    int64_t expert_stride, MoeSorted sorted,
                                                                    int experts, Out* __restrict__ out, int n_out,
                                                                    int k_in) {
  chain_start();
  extern __shared__ __align__(128) unsigned char smem[];
  constexpr int ld = kGemmK + kGemmPad;
  bf16* ring = reinterpret_cast<bf16*>(smem);  // per stage: A [64][ld], then B [128][ld]
  float* stage_out = reinterpret_cast<float*>(smem + size_t(kGemmStages) * kGemmStageValues * 2);
  auto a_tile = [&](int s) { return ring + s * kGemmStageValues; };
  auto b_tile = [&](int s) { return ring + s * kGemmStageValues + kMoeTileRows * ld; };
  __shared__ int tile_expert;
  const int tile = blockIdx.x;
  if (threadIdx.x == 0) tile_expert = -1;
  __syncthreads();
  for (int e = threadIdx.x; e < experts; e += blockDim.x)
    if (tile >= sorted.tile_begin[e] && tile < sorted.tile_begin[e + 1]) tile_expert = e;
  __syncthreads();
  const int e = tile_expert;
  if (e < 0) return;
  const int row_begin = sorted.expert_begin[e] + (tile - sorted.tile_begin[e]) * kMoeTileRows;
  const int row_end = sorted.expert_begin[e + 1], n0 = blockIdx.y * kGemmN;
  const bf16* we = w + e * expert_stride;

  // Loaders: A 64 rows x 4 chunks of 8 values (one per thread), B 128 rows x 4 chunks (two per thread).
  const int chunk = threadIdx.x % 4, load_row = threadIdx.x / 4;
  const int a_pos = min(row_begin + load_row, row_end - 1);
  const bf16* a_src = a + int64_t(gather_tokens ? sorted.sorted_pair[a_pos] / top_k : a_pos) * k_in + chunk * 8;
  const bf16* b_src[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) b_src[i] = we + int64_t(min(n0 + load_row + 64 * i, n_out - 1)) * k_in + chunk * 8;
  const int k_tiles = k_in / kGemmK;
  auto load = [&](int kt) {  // always commits a group, empty past the end, so the wait count stays fixed
    if (kt < k_tiles) {
      const int s = kt % kGemmStages;
      cp_async16(a_tile(s) + load_row * ld + chunk * 8, a_src + kt * kGemmK);
#pragma unroll
      for (int i = 0; i < 2; ++i) cp_async16(b_tile(s) + (load_row + 64 * i) * ld + chunk * 8, b_src[i] + kt * kGemmK);
    }
    cp_async_commit();
  };

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, wm = warp / 4, wn = warp % 4;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
#pragma unroll
  for (int kt = 0; kt < kGemmStages - 1; ++kt) load(kt);
  for (int kt = 0; kt < k_tiles; ++kt) {
    cp_async_wait<kGemmStages - 2>();  // tile kt has landed
    __syncthreads();                   // ... for every thread, and tile kt - 1's stage is free
    load(kt + kGemmStages - 1);
    const bf16* as = a_tile(kt % kGemmStages);
    const bf16* bs = b_tile(kt % kGemmStages);
#pragma unroll
    for (int kk = 0; kk < kGemmK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> fb[2];
#pragma unroll
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], as + (wm * 32 + i * 16) * ld + kk, ld);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], bs + (wn * 32 + j * 16) * ld + kk, ld);
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
  }
  // Through a per-warp 16 x 16 stage: two lanes per row, eight values each.
  float* st = stage_out + warp * 16 * 16;
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      wmma::store_matrix_sync(st, acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
      const int r = lane / 2, c0 = (lane % 2) * 8;
      const int row = row_begin + wm * 32 + i * 16 + r, col = n0 + wn * 32 + j * 16 + c0;
      if (row < row_end)
        for (int c = 0; c < 8 && col + c < n_out; ++c) out[int64_t(row) * n_out + col + c] = static_cast<Out>(st[r * 16 + c0 + c]);
      __syncwarp();
    }
}

template <typename Out>
static void launch_grouped_gemm(dim3 grid, cudaStream_t s, const bf16* a, bool gather_tokens, int top_k, const bf16* w,
                                int64_t expert_stride, const MoeSorted& sorted, int experts, Out* out, int n_out,
                                int k_in) {
  static bool configured = false;  // once per instantiation: more than 48 KB of shared memory
  if (!configured) {
    CUDA_CHECK(cudaFuncSetAttribute(grouped_gemm_kernel<Out>, cudaFuncAttributeMaxDynamicSharedMemorySize, kGemmSmemBytes));
    configured = true;
  }
  launch_chained(grouped_gemm_kernel<Out>, grid, kGemmThreads, kGemmSmemBytes, s, a, gather_tokens, top_k, w, expert_stride, sorted,
                                                                      experts, out, n_out, k_in);
  CUDA_CHECK_LAUNCH();
}

void moe_grouped_gemm(const bf16* a, bool gather_tokens, int top_k, const bf16* w, int64_t expert_stride,
                      const MoeSorted& sorted, int experts, int n_pairs, void* out, bool out_is_float, int out_features,
                      int in_features, cudaStream_t s) {
  require(in_features % kGemmK == 0, "moe: expert input widths must be multiples of 32 on the GPU");
  const dim3 grid(moe_max_tiles(n_pairs, experts), ceil_div(out_features, kGemmN));
  if (out_is_float)
    launch_grouped_gemm(grid, s, a, gather_tokens, top_k, w, expert_stride, sorted, experts, static_cast<float*>(out),
                        out_features, in_features);
  else
    launch_grouped_gemm(grid, s, a, gather_tokens, top_k, w, expert_stride, sorted, experts, static_cast<bf16*>(out),
                        out_features, in_features);
}

__global__ void combine_kernel(const float* __restrict__ expert_out, const int* __restrict__ position_of_pair,
                               const float* __restrict__ weight_of_pair, float* __restrict__ x, int top_k, int hidden) {
  chain_start();
  const int t = blockIdx.x, i = blockIdx.y * blockDim.x + threadIdx.x;
  if (i >= hidden) return;
  float sum = 0.0f;
  for (int slot = 0; slot < top_k; ++slot) {
    const int pair = t * top_k + slot, at = position_of_pair[pair];
    sum = fmaf(weight_of_pair[pair], expert_out[int64_t(at) * hidden + i], sum);
  }
  x[int64_t(t) * hidden + i] += sum;
}

void moe_combine(const float* expert_out, const int* position_of_pair, const float* weight_of_pair, float* x,
                 int n_tokens, int top_k, int hidden, cudaStream_t s) {
  launch_chained(combine_kernel, dim3(n_tokens, ceil_div(hidden, 256)), 256, 0, s, expert_out, position_of_pair, weight_of_pair, x,
                                                                      top_k, hidden);
  CUDA_CHECK_LAUNCH();
}

}  // namespace aidc
