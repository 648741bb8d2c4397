#pragma once
// What bench, profile and the kernel micro-benchmarks measure the same way: GPU time of a repeated
// call, mean board power while it repeats, and the device's own copy and GEMM peaks (so every
// fraction of peak compares like with like, in the same process).
#include <cuda_runtime.h>

#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace aidc {

constexpr double kPowerWindowMs = 100;

double median(std::vector<double> v);

// Median over `outer` samples of the mean GPU time of `inner` back-to-back calls, after a warm-up.
double time_us(cudaStream_t s, const std::function<void()>& f, int inner = 10, int outer = 5);

// Mean instantaneous power while `f` (about `us` long) runs back to back for the power window (NaN
// without NVML).
double power_w(cudaStream_t s, const std::function<void()>& f, double us);

struct Peaks {
  std::string gpu;
  int sms = 0;
  double memory_gib = 0, copy_gbps = 0, gemm_tflops = 0, idle_w = std::numeric_limits<double>::quiet_NaN();
  double gemm_fp8_tflops = 0;  // cuBLASLt e4m3 x e4m3 -> bf16, fp32 accumulate, 8192^3
};

// Copy bandwidth (2 GiB device to device, read + write), cuBLAS bf16 GEMM and cuBLASLt fp8 GEMM (8192^3)
// on device 0.
Peaks measure_peaks();

}  // namespace aidc
