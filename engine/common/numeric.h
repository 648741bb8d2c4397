#pragma once
// Host-side bf16 conversion and the seeded hash that makes random weights identical on CPU and GPU.
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define AIDC_HD __host__ __device__ inline
#else
#define AIDC_HD inline
#endif

namespace aidc {

AIDC_HD float bf16_bits_to_float(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even, as the GPU's __float2bfloat16 does.
AIDC_HD uint16_t float_to_bf16_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

AIDC_HD float round_to_bf16(float f) { return bf16_bits_to_float(float_to_bf16_bits(f)); }

AIDC_HD float fp16_bits_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // subnormal: renormalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) { mant <<= 1; --exp; }
      u = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  memcpy(&f, &u, 4);
  return f;
}

// splitmix64 finaliser: a counter-based generator, so any element can be drawn independently.
AIDC_HD uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Uniform in [-1, 1), a function of (stream, index) only.
AIDC_HD float hash_uniform(uint64_t stream, uint64_t index) {
  uint64_t r = mix64(stream ^ mix64(index));
  return static_cast<float>(r >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

// Uniform in [0, 1) for sampling.
AIDC_HD float hash_unit(uint64_t stream, uint64_t index) {
  return static_cast<float>(mix64(stream ^ mix64(index)) >> 40) * (1.0f / 16777216.0f);
}

}  // namespace aidc
