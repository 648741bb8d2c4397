// Token sampling on the device: greedy (argmax) or temperature + top-p, following the rule of
// runtime/sampling.cpp. Every pass is spread over the whole row (one block per 4096-token chunk):
//   1. chunk argmax;
//   2-4. radix select of the top-p threshold on the bits of p = exp((x - max) / T) (positive floats
//        order as their bits), 10 bits a pass: each pass builds a mass histogram of the tokens that
//        share the bits chosen so far, and every block re-derives those bits from the earlier histograms;
//   5. kept mass per chunk;
//   6. one block per row finds the chunk, then the token, where the running kept mass passes u * kept.
// Masses are summed as 64-bit fixed point: integer sums are exact, so the result does not depend on
// the order of the atomics (a seeded draw repeats) and the threshold is exact up to the fixed-point step.
#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <string>

#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {
namespace {

using u64 = unsigned long long;

constexpr int kThreads = 256;
constexpr int kPerThread = 16;
constexpr int kChunk = kThreads * kPerThread;
constexpr int kMaxChunks = 64;   // vocab <= 262144; the draw gives each lane of a warp two chunks
constexpr int kMaxRows = 256;    // rows per launch group (the workspace is sized for one group)
constexpr int kDigitBits = 10;
constexpr int kBuckets = 1 << kDigitBits;
constexpr int kPasses = 3;       // p <= 1 has bit 30 clear: 30 bits, three digits

// Scratch shared by every call on a device (a __device__ variable is per device): calls on one device
// must not overlap in time (calls on one stream never do).
struct SampleWorkspace {
  float chunk_max[kMaxRows][kMaxChunks];
  int chunk_best[kMaxRows][kMaxChunks];
  u64 chunk_kept[kMaxRows][kMaxChunks];
  int chunk_last[kMaxRows][kMaxChunks];
  u64 hist[kMaxRows][kPasses][kBuckets];
};
__device__ SampleWorkspace g_work;

struct SampleRows {
  const float* logits;
  int vocab, chunks;
  float mass_scale;  // 2^shift with vocab * 2^shift < 2^63: a probability of 1 in fixed point
  SampleArgs args;   // this launch group's slice
};

// As the CPU rule: the float exp of the float quotient.
__device__ __forceinline__ float token_prob(float x, float top, float temperature) {
  return expf((x - top) / temperature);
}

__device__ __forceinline__ u64 fixed_mass(float p, float scale) { return __float2ull_rn(p * scale); }

__device__ __forceinline__ const float* row_of(const SampleRows& s, int r) {
  return s.logits + int64_t(s.args.rows[r]) * s.vocab;
}

// (value, index) with the larger value, the lower index on ties: the CPU argmax keeps the first best.
__device__ __forceinline__ void better(float& v, int& i, float ov, int oi) {
  if (ov > v || (ov == v && oi < i)) { v = ov; i = oi; }
}

__device__ __forceinline__ void warp_argmax(float& v, int& i) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) better(v, i, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, i, o));
}

// The row's max and argmax from the chunk results; every thread gets them.
__device__ void row_best(int r, int chunks, float& top, int& best) {
  __shared__ float sh_top;
  __shared__ int sh_best;
  if (threadIdx.x < 32) {
    float v = -FLT_MAX;
    int i = INT_MAX;
    for (int c = threadIdx.x; c < chunks; c += 32) better(v, i, g_work.chunk_max[r][c], g_work.chunk_best[r][c]);
    warp_argmax(v, i);
    if (threadIdx.x == 0) { sh_top = v; sh_best = i; }
  }
  __syncthreads();
  top = sh_top;
  best = sh_best;
  __syncthreads();
}

__device__ u64 block_sum_u64(u64 v) {
  __shared__ u64 part[kThreads / 32];
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = v;
  __syncthreads();
  u64 total = 0;
#pragma unroll
  for (int w = 0; w < kThreads / 32; ++w) total += part[w];
  __syncthreads();
  return total;
}

// Sum of v over threads before this one (ascending) or after it (descending), exclusive.
__device__ u64 block_exclusive_scan(u64 v, bool descending) {
  __shared__ u64 part[kThreads / 32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  u64 incl = v;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const u64 n = descending ? __shfl_down_sync(0xffffffffu, incl, o) : __shfl_up_sync(0xffffffffu, incl, o);
    if (descending ? lane + o < 32 : lane >= o) incl += n;
  }
  if (descending ? lane == 0 : lane == 31) part[warp] = incl;
  __syncthreads();
  u64 other = 0;
  for (int w = 0; w < kThreads / 32; ++w)
    if (descending ? w > warp : w < warp) other += part[w];
  __syncthreads();
  return other + incl - v;
}

// Replays the first `passes` digit choices from their histograms: the threshold's top bits (`prefix`)
// and the mass of the tokens already above it. Each digit is the largest whose tokens, with those
// above, still reach top_p of the total (the smallest most-probable set reaching top_p).
struct Selection {
  uint32_t prefix;
  u64 above;
};
__device__ Selection select_digits(int r, int passes, float top_p) {
  __shared__ int digit;
  __shared__ u64 digit_above;
  Selection s{0, 0};
  double need = 0;
  constexpr int kOwn = kBuckets / kThreads;
  u64 hists[kPasses][kOwn];  // all loads in flight at once: the rounds below wait on one another
#pragma unroll
  for (int k = 0; k < kPasses; ++k)
#pragma unroll
    for (int j = 0; j < kOwn; ++j) hists[k][j] = k < passes ? g_work.hist[r][k][threadIdx.x * kOwn + j] : 0;
#pragma unroll
  for (int k = 0; k < kPasses; ++k) {
    if (k == passes) break;
    const u64* h = hists[k];
    u64 own = 0;
#pragma unroll
    for (int j = 0; j < kOwn; ++j) own += h[j];
    // At least one fixed-point unit: with top_p <= 0 the rule still keeps the most probable token.
    if (k == 0) need = fmax(double(top_p) * double(block_sum_u64(own)), 1.0);
    const u64 suffix = block_exclusive_scan(own, true);  // mass of the buckets above this thread's
    if (threadIdx.x == 0) {
      digit = -1;
      digit_above = 0;
    }
    __syncthreads();
    // Masses above a bucket fall as the bucket rises: the answer is the largest candidate.
    int candidate = -1;
    u64 mass = suffix, candidate_above = 0;
    for (int j = kOwn - 1; j >= 0; --j) {
      if (double(s.above + mass + h[j]) >= need) {
        candidate = threadIdx.x * kOwn + j;
        candidate_above = mass;
        break;
      }
      mass += h[j];
    }
    if (candidate >= 0) atomicMax(&digit, candidate);
    __syncthreads();
    if (candidate >= 0 && candidate == digit) digit_above = candidate_above;
    __syncthreads();
    s.prefix = (s.prefix << kDigitBits) | uint32_t(max(digit, 0));
    s.above += digit_above;
    __syncthreads();
  }
  return s;
}

// The key of a probability: its bits, ordered as the (non-negative) floats.
__device__ __forceinline__ uint32_t prob_key(float p) { return __float_as_uint(p); }

__device__ __forceinline__ bool samples(const SampleRows& s, int r) { return s.args.temperature[r] > 0.0f; }
__device__ __forceinline__ bool trims(const SampleRows& s, int r) { return samples(s, r) && s.args.top_p[r] < 1.0f; }

// This thread's tokens of the block's chunk, strided by the block (coalesced); fn(index, logit).
template <typename F>
__device__ __forceinline__ void for_chunk(const SampleRows& s, const float* row, F fn) {
  const int base = blockIdx.x * kChunk + threadIdx.x;
  float x[kPerThread];
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) x[k] = base + k * kThreads < s.vocab ? row[base + k * kThreads] : -FLT_MAX;
#pragma unroll
  for (int k = 0; k < kPerThread; ++k)
    if (base + k * kThreads < s.vocab) fn(base + k * kThreads, x[k]);
}

// Grid (chunks, rows). Argmax per chunk; also clears the row's histograms for the passes that follow.
__global__ void __launch_bounds__(kThreads) chunk_argmax_kernel(SampleRows s) {
  const int r = blockIdx.y;
  for (int j = blockIdx.x * kThreads + threadIdx.x; j < kPasses * kBuckets; j += gridDim.x * kThreads)
    (&g_work.hist[r][0][0])[j] = 0;
  float best = -FLT_MAX;
  int index = INT_MAX;
  for_chunk(s, row_of(s, r), [&](int i, float x) { better(best, index, x, i); });
  __shared__ float sv[kThreads / 32];
  __shared__ int si[kThreads / 32];
  warp_argmax(best, index);
  if (threadIdx.x % 32 == 0) { sv[threadIdx.x / 32] = best; si[threadIdx.x / 32] = index; }
  __syncthreads();
  if (threadIdx.x < 32) {
    best = threadIdx.x < kThreads / 32 ? sv[threadIdx.x] : -FLT_MAX;
    index = threadIdx.x < kThreads / 32 ? si[threadIdx.x] : INT_MAX;
    warp_argmax(best, index);
    if (threadIdx.x == 0) {
      // A chunk of -inf (or NaN) logits still names a token, so the row's argmax is always a real index.
      g_work.chunk_max[r][blockIdx.x] = best;
      g_work.chunk_best[r][blockIdx.x] = index == INT_MAX ? blockIdx.x * kChunk : index;
    }
  }
}

// Grid (chunks, rows). Mass histogram of digit `pass` over the tokens whose earlier digits match.
__global__ void __launch_bounds__(kThreads) digit_histogram_kernel(SampleRows s, int pass) {
  const int r = blockIdx.y;
  if (!trims(s, r)) return;
  __shared__ u64 hist[kBuckets];
  for (int b = threadIdx.x; b < kBuckets; b += kThreads) hist[b] = 0;
  float top;
  int best;
  row_best(r, s.chunks, top, best);
  const float temperature = s.args.temperature[r];
  const Selection sel = select_digits(r, pass, s.args.top_p[r]);
  const int shift = (kPasses - 1 - pass) * kDigitBits;
  for_chunk(s, row_of(s, r), [&](int, float x) {
    const float p = token_prob(x, top, temperature);
    const uint32_t key = prob_key(p);
    if ((key >> (shift + kDigitBits)) == sel.prefix) atomicAdd(&hist[(key >> shift) % kBuckets], fixed_mass(p, s.mass_scale));
  });
  __syncthreads();
  for (int b = threadIdx.x; b < kBuckets; b += kThreads)
    if (hist[b]) atomicAdd(&g_work.hist[r][pass][b], hist[b]);
}

// The threshold key: tokens with key >= it are kept (all of them without top-p).
__device__ uint32_t threshold_key(const SampleRows& s, int r) {
  return trims(s, r) ? select_digits(r, kPasses, s.args.top_p[r]).prefix : 0u;
}

// Grid (chunks, rows). Kept mass and last kept token of each chunk.
__global__ void __launch_bounds__(kThreads) chunk_kept_kernel(SampleRows s) {
  const int r = blockIdx.y;
  if (!samples(s, r)) return;
  float top;
  int best;
  row_best(r, s.chunks, top, best);
  const float temperature = s.args.temperature[r];
  const uint32_t threshold = threshold_key(s, r);
  u64 kept = 0;
  int last = -1;
  for_chunk(s, row_of(s, r), [&](int i, float x) {
    const float p = token_prob(x, top, temperature);
    if (prob_key(p) >= threshold) {
      kept += fixed_mass(p, s.mass_scale);
      last = max(last, i);
    }
  });
  kept = block_sum_u64(kept);
  __shared__ int sh_last;
  if (threadIdx.x == 0) sh_last = -1;
  __syncthreads();
  atomicMax(&sh_last, last);
  __syncthreads();
  if (threadIdx.x == 0) {
    g_work.chunk_kept[r][blockIdx.x] = kept;
    g_work.chunk_last[r][blockIdx.x] = sh_last;
  }
}

// Grid (rows). Inverse CDF over the kept tokens in index order: the first whose running mass exceeds u * kept.
__global__ void __launch_bounds__(kThreads) draw_kernel(SampleRows s, int* out) {
  const int r = blockIdx.x;
  float top;
  int best;
  row_best(r, s.chunks, top, best);
  if (!samples(s, r)) {
    if (threadIdx.x == 0) out[r] = best;
    return;
  }
  __shared__ int chunk, last;
  __shared__ u64 before, target;
  if (threadIdx.x < 32) {  // lane l owns chunks 2l and 2l + 1 (kMaxChunks == 64)
    const int lane = threadIdx.x;
    u64 kept[2];
    int mine_last = best;
    for (int j = 0; j < 2; ++j) {
      const int c = 2 * lane + j;
      kept[j] = c < s.chunks ? g_work.chunk_kept[r][c] : 0;
      if (c < s.chunks) mine_last = max(mine_last, g_work.chunk_last[r][c]);
    }
    u64 incl = kept[0] + kept[1];
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const u64 n = __shfl_up_sync(0xffffffffu, incl, o);
      if (lane >= o) incl += n;
    }
    const u64 total = __shfl_sync(0xffffffffu, incl, 31);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) mine_last = max(mine_last, __shfl_xor_sync(0xffffffffu, mine_last, o));
    const u64 goal = u64(double(s.args.uniform[r]) * double(total));  // running > u * kept <=> running > floor(.)
    const unsigned passed = __ballot_sync(0xffffffffu, incl > goal);
    if (lane == 0) {
      chunk = -1;
      last = mine_last;  // the rule's answer when rounding leaves the target unreached
      target = goal;
    }
    __syncwarp();
    if (passed && lane == __ffs(passed) - 1) {
      const u64 start = incl - kept[0] - kept[1];
      chunk = start + kept[0] > goal ? 2 * lane : 2 * lane + 1;
      before = start + kept[0] > goal ? start : start + kept[0];
    }
  }
  __syncthreads();
  if (chunk < 0) {
    if (threadIdx.x == 0) out[r] = last;
    return;
  }
  const float* row = row_of(s, r);
  const float temperature = s.args.temperature[r];
  const uint32_t threshold = threshold_key(s, r);
  // Thread t owns kPerThread consecutive tokens of the chunk, so the scan follows index order.
  const int first = chunk * kChunk + threadIdx.x * kPerThread;
  u64 m[kPerThread], own = 0;
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {
    const int i = first + k;
    const float p = i < s.vocab ? token_prob(row[i], top, temperature) : 0.0f;
    m[k] = i < s.vocab && prob_key(p) >= threshold ? fixed_mass(p, s.mass_scale) : 0;
    own += m[k];
  }
  u64 running = before + block_exclusive_scan(own, false);
  __shared__ int found;
  if (threadIdx.x == 0) found = INT_MAX;
  __syncthreads();
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {
    running += m[k];
    if (m[k] > 0 && running > target) {
      atomicMin(&found, first + k);
      break;
    }
  }
  __syncthreads();
  if (threadIdx.x == 0) out[r] = found == INT_MAX ? last : found;
}

}  // namespace

void sample_tokens(const float* logits, int vocab, const SampleArgs& args, int n, int* out, cudaStream_t s) {
  if (n == 0) return;
  const int chunks = (vocab + kChunk - 1) / kChunk;
  require(chunks <= kMaxChunks, "sampling on the GPU: vocab " + std::to_string(vocab) + " is over " +
                                    std::to_string(kMaxChunks * kChunk));
  // Fixed-point unit: vocab tokens of mass <= 1 each sum below 2^63.
  int vocab_bits = 0;
  while ((1LL << vocab_bits) <= vocab) ++vocab_bits;
  const float mass_scale = std::ldexp(1.0f, 63 - vocab_bits);
  for (int first = 0; first < n; first += kMaxRows) {
    const int rows = std::min(kMaxRows, n - first);
    const SampleRows sr{logits, vocab, chunks, mass_scale,
                        SampleArgs{args.rows + first, args.temperature + first, args.top_p + first, args.uniform + first}};
    const dim3 grid(chunks, rows);
    chunk_argmax_kernel<<<grid, kThreads, 0, s>>>(sr);
    CUDA_CHECK_LAUNCH();
    for (int pass = 0; pass < kPasses; ++pass) {
      digit_histogram_kernel<<<grid, kThreads, 0, s>>>(sr, pass);
      CUDA_CHECK_LAUNCH();
    }
    chunk_kept_kernel<<<grid, kThreads, 0, s>>>(sr);
    CUDA_CHECK_LAUNCH();
    draw_kernel<<<rows, kThreads, 0, s>>>(sr, out + first);
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace aidc
