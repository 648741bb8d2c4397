#include "cpu/fp8_reference.h"

#include "common/fp8.h"
#include "core/model/config.hpp"

namespace aidc::ref {

std::vector<float> dequantize_fp8(const uint8_t* codes, const float* scales, int64_t rows, int64_t cols,
                                  bool bf16_output) {
  const int64_t grid_cols = (cols + kFp8BlockSize - 1) / kFp8BlockSize;
  std::vector<float> w(size_t(rows) * cols);
  for (int64_t o = 0; o < rows; ++o)
    for (int64_t i = 0; i < cols; ++i) {
      const float v = e4m3_to_float(codes[o * cols + i]) * scales[(o / kFp8BlockSize) * grid_cols + i / kFp8BlockSize];
      w[o * cols + i] = bf16_output ? round_to_bf16(v) : v;
    }
  return w;
}

void fp8_gemv(const uint8_t* w, const float* scales, const float* x, float* y, int n_tokens, int out_features,
              int in_features) {
  const int grid_cols = (in_features + kFp8BlockSize - 1) / kFp8BlockSize;
  for (int t = 0; t < n_tokens; ++t)
    for (int o = 0; o < out_features; ++o) {
      float sum = 0;
      for (int b = 0; b < grid_cols; ++b) {
        float block = 0;
        for (int i = b * kFp8BlockSize; i < in_features && i < (b + 1) * kFp8BlockSize; ++i)
          block += e4m3_to_float(w[int64_t(o) * in_features + i]) * x[int64_t(t) * in_features + i];
        sum += scales[(o / kFp8BlockSize) * grid_cols + b] * block;
      }
      y[int64_t(t) * out_features + o] = sum;
    }
}

}  // namespace aidc::ref
