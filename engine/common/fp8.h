#pragma once
// fp8 e4m3 (OCP "E4M3FN", DeepSeek-V3's weight format): sign, 4 exponent bits with bias 7, 3 mantissa
// bits; no infinities, S.1111.111 (0x7F, 0xFF) is NaN, so the largest finite value is 1.75 * 2^8 = 448;
// exponent field 0 holds the subnormals m * 2^-9. Written out plainly so the loader, the CPU reference
// and the random weights of both backends decode and encode the same way (the GEMV kernels use the
// hardware conversion, tested against these).
#include <cmath>
#include <cstdint>

#include "common/numeric.h"  // AIDC_HD

namespace aidc {

constexpr float kE4m3Max = 448.0f;

AIDC_HD float e4m3_to_float(uint8_t code) {
  const int exponent = (code >> 3) & 0xF, mantissa = code & 0x7;
  const float sign = code & 0x80 ? -1.0f : 1.0f;
  if (exponent == 0xF && mantissa == 0x7) return NAN;
  if (exponent == 0) return sign * ldexpf(static_cast<float>(mantissa), -9);
  return sign * ldexpf(1.0f + mantissa / 8.0f, exponent - 7);
}

// Round to nearest, ties to even, saturating at +-448 (as the GPU's __nv_cvt_float_to_fp8 with
// __NV_SATFINITE); NaN -> 0x7F.
AIDC_HD uint8_t float_to_e4m3(float f) {
  if (f != f) return 0x7F;
  const uint8_t sign = f < 0 ? 0x80 : 0;
  const float a = fabsf(f);
  if (a >= kE4m3Max) return sign | 0x7E;
  if (a < ldexpf(1.0f, -6)) return sign | static_cast<uint8_t>(rintf(a * 512.0f));  // 8 (2^-6) is code 0x08
  int e2 = 0;
  frexpf(a, &e2);                                       // a = fr * 2^e2, fr in [0.5, 1)
  int exponent = e2 - 1;                                // a / 2^exponent in [1, 2)
  int mantissa = static_cast<int>(rintf((ldexpf(a, -exponent) - 1.0f) * 8.0f));
  if (mantissa == 8) mantissa = 0, ++exponent;
  return sign | static_cast<uint8_t>(((exponent + 7) << 3) | mantissa);
}

}  // namespace aidc
