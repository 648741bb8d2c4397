#include "profiler/device_peaks.h"

#include <cublas_v2.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "common/error.h"
#include "gpu/gpu_model.h"
#include "kernels/common.cuh"
#include "profiler/nvml.h"

namespace aidc {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double time_us(cudaStream_t s, const std::function<void()>& f, int inner, int outer) {
  f();
  CUDA_CHECK(cudaStreamSynchronize(s));
  cudaEvent_t a, b;
  CUDA_CHECK(cudaEventCreate(&a));
  CUDA_CHECK(cudaEventCreate(&b));
  std::vector<double> samples;
  for (int o = 0; o < outer; ++o) {
    CUDA_CHECK(cudaEventRecord(a, s));
    for (int i = 0; i < inner; ++i) f();
    CUDA_CHECK(cudaEventRecord(b, s));
    CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    samples.push_back(1000.0 * ms / inner);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return median(samples);
}

double power_w(cudaStream_t s, const std::function<void()>& f, double us) {
  if (!Nvml::instance().available()) return std::numeric_limits<double>::quiet_NaN();
  const int reps = std::max(1, static_cast<int>(kPowerWindowMs * 1000 / std::max(us, 1.0)));
  PowerSampler sampler;
  sampler.start();
  for (int i = 0; i < reps; ++i) f();
  CUDA_CHECK(cudaStreamSynchronize(s));
  return sampler.stop().value_or(std::numeric_limits<double>::quiet_NaN());
}

Peaks measure_peaks() {
  require(cuda_device_available(), "no CUDA device: bench and profile measure a GPU, and this machine has none");
  Peaks p;
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  p.gpu = prop.name;
  p.sms = prop.multiProcessorCount;
  p.memory_gib = prop.totalGlobalMem / (1024.0 * 1024 * 1024);
  cudaStream_t s;
  CUDA_CHECK(cudaStreamCreate(&s));
  {
    PowerSampler idle;
    idle.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    p.idle_w = idle.stop().value_or(std::numeric_limits<double>::quiet_NaN());
  }
  // Copy: 2 GiB, random contents, bytes read + written.
  const size_t bytes = size_t(2) << 30;
  bf16 *src, *dst;
  CUDA_CHECK(cudaMalloc(&src, bytes));
  CUDA_CHECK(cudaMalloc(&dst, bytes));
  fill_random_bf16(src, bytes / 2, 1, 1.0f, 0.0f, s);
  const double copy_us = time_us(s, [&] { CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s)); }, 5, 5);
  p.copy_gbps = 2.0 * bytes / (copy_us * 1e-6) / 1e9;
  CUDA_CHECK(cudaFree(src));
  CUDA_CHECK(cudaFree(dst));
  // GEMM: 8192^3 bf16, fp32 accumulate, random data.
  const int n = 8192;
  bf16 *a, *b, *c;
  CUDA_CHECK(cudaMalloc(&a, size_t(n) * n * 2));
  CUDA_CHECK(cudaMalloc(&b, size_t(n) * n * 2));
  CUDA_CHECK(cudaMalloc(&c, size_t(n) * n * 2));
  fill_random_bf16(a, int64_t(n) * n, 2, 1.0f, 0.0f, s);
  fill_random_bf16(b, int64_t(n) * n, 3, 1.0f, 0.0f, s);
  cublasHandle_t h;
  cublasCreate(&h);
  cublasSetStream(h, s);
  const float one = 1.0f, zero = 0.0f;
  const double gemm_us = time_us(s, [&] {
    if (cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, a, CUDA_R_16BF, n, b, CUDA_R_16BF, n, &zero, c, CUDA_R_16BF, n,
                     CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) != CUBLAS_STATUS_SUCCESS)
      throw std::runtime_error("cuBLAS peak GEMM failed");
  }, 5, 5);
  p.gemm_tflops = 2.0 * n * n * double(n) / (gemm_us * 1e-6) / 1e12;
  cublasDestroy(h);
  CUDA_CHECK(cudaFree(a));
  CUDA_CHECK(cudaFree(b));
  CUDA_CHECK(cudaFree(c));
  CUDA_CHECK(cudaStreamDestroy(s));
  return p;
}

}  // namespace aidc
