#pragma once
// What the weight-streaming GEMVs (gemv.cu for bf16 weights, fp8.cu for fp8 block-scaled ones) share:
// which two rows a warp owns and how lane 0 stores them, and the SwiGLU epilogue that gemv_mma.cu
// forms as well.
#include <type_traits>

#include "kernels/common.cuh"

namespace aidc {

// silu(gate) * up from the values the swiglu kernel would read: the projections rounded to bf16.
__device__ __forceinline__ float swiglu_of_stored(float gate, float up) {
  const float g = __bfloat162float(__float2bfloat16_rn(gate)), u = __bfloat162float(__float2bfloat16_rn(up));
  return g / (1.0f + __expf(-g)) * u;
}

// Warp `pair` owns rows 2 pair and 2 pair + 1, or with swiglu_out (gate rows then up rows, [2F][in])
// gate row `pair` and up row F + pair. `rows`: how many of the two exist.
__device__ __forceinline__ void owned_rows(int pair, int out_features, bool swiglu_out, int (&row)[2], int& rows) {
  if (swiglu_out) {
    row[0] = pair;
    row[1] = out_features / 2 + pair;
    rows = pair < out_features / 2 ? 2 : 0;
  } else {
    row[0] = 2 * pair;
    row[1] = row[0] + 1;
    rows = max(0, min(2, out_features - row[0]));
  }
}

// Lane 0's store of the warp's summed rows for T tokens. With swiglu_out: y[t][pair] = silu(gate) * up
// (rows of F). Otherwise y[t][row] (+)= acc; with `combine` (fp32 rows, the MoE combine fused in)
// y[t][row] += combine_weight * acc, by atomics.
template <int T, typename Out, bool Accumulate>
__device__ __forceinline__ void store_owned_rows(const float (&acc)[2][T], Out* y, int pair, const int (&row)[2], int rows,
                                                 int out_features, bool swiglu_out, bool combine, float combine_weight) {
  if (swiglu_out) {
#pragma unroll
    for (int t = 0; t < T; ++t) y[int64_t(t) * (out_features / 2) + pair] = static_cast<Out>(swiglu_of_stored(acc[0][t], acc[1][t]));
    return;
  }
#pragma unroll
  for (int r = 0; r < 2; ++r)
#pragma unroll
    for (int t = 0; t < T; ++t) {
      if (r >= rows) continue;
      Out* dst = y + int64_t(t) * out_features + row[r];
      if constexpr (std::is_same_v<Out, float>) {
        if (combine) {
          atomicAdd(dst, combine_weight * acc[r][t]);
          continue;
        }
      }
      if constexpr (Accumulate) *dst = static_cast<Out>(static_cast<float>(*dst) + acc[r][t]);
      else *dst = static_cast<Out>(acc[r][t]);
    }
}

}  // namespace aidc
