#pragma once
// RoPE (halves layout, as HF Llama) and the store of q, k, v: shared by rope_qkv_kernel and the
// decode GEMV's qkv epilogue, so both paths write exactly the same values.
#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {

// Rotary pair (d, d + head_dim / 2) of head `head` (q heads, then k heads, then v heads) of token t:
// a and b are the projection's values as stored in bf16; adds the bias, rotates q and k, and writes q
// to q_out, k and v into the paged cache.
__device__ __forceinline__ void store_qkv_pair(const QkvRope& r, int t, int head, int d, float a, float b) {
  const int hd = r.head_dim, half = hd / 2;
  if (r.bias) {
    a += __bfloat162float(r.bias[head * hd + d]);
    b += __bfloat162float(r.bias[head * hd + d + half]);
  }
  const int slot = r.slots[t], block = slot / r.block_tokens, offset = slot % r.block_tokens;
  auto cache_index = [&](int kvh, int i) {
    return ((int64_t(block) * r.kv_heads + kvh) * r.block_tokens + offset) * hd + i;
  };
  if (head >= r.heads + r.kv_heads) {
    const int kvh = head - r.heads - r.kv_heads;
    r.cache.v[cache_index(kvh, d)] = __float2bfloat16_rn(a);
    r.cache.v[cache_index(kvh, d + half)] = __float2bfloat16_rn(b);
    return;
  }
  float sn, cs;
  sincosf(static_cast<float>(r.positions[t]) * r.inv_freq[d], &sn, &cs);
  cs *= r.scale;
  sn *= r.scale;
  const bf16 ra = __float2bfloat16_rn(a * cs - b * sn), rb = __float2bfloat16_rn(b * cs + a * sn);
  bf16* dst = head < r.heads ? r.q_out + (int64_t(t) * r.heads + head) * hd : r.cache.k + cache_index(head - r.heads, 0);
  dst[d] = ra;
  dst[d + half] = rb;
}

}  // namespace aidc
