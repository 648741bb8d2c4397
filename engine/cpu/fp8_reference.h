#pragma once
// Plain CPU references of the fp8 kernels (kernels/fp8.cu): DeepSeek-V3's block dequantisation and
// the fp8 GEMV. Weights are e4m3 codes [out][in] (common/fp8.h) with fp32 scales
// [ceil(out/128)][ceil(in/128)]; inputs are floats holding bf16 values; arithmetic is fp32 loops.
// The loader dequantises with dequantize_fp8 (WeightSource::read), so CpuModel runs an fp8
// checkpoint on exactly these values. No CUDA.
#include <cstdint>
#include <vector>

namespace aidc::ref {

// w[o][i] = e4m3(codes[o][i]) * scales[o / 128][i / 128] in fp32 (DeepSeek-V3 inference/kernel.py
// weight_dequant); with bf16_output, each value rounded to bf16 (fp8.cu's dequantize_fp8 into a bf16 scratch).
std::vector<float> dequantize_fp8(const uint8_t* codes, const float* scales, int64_t rows, int64_t cols,
                                  bool bf16_output = false);

// fp8_gemv: y[t][o] = sum over 128-column blocks b of scales[o / 128][b] * (sum_{i in b} e4m3(w[o][i]) x[t][i]),
// x [T][in], y [T][out], fp32. (The kernel scales each 16-column chunk's partial sum: equal up to fp32 rounding.)
void fp8_gemv(const uint8_t* w, const float* scales, const float* x, float* y, int n_tokens, int out_features,
              int in_features);

}  // namespace aidc::ref
