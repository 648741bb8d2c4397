#include "profiler/device_peaks.h"

#include <cublasLt.h>
#include <cublas_v2.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "common/error.h"
#include "common/fp8.h"
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

// Dense fp8 GEMM peak: the "TN" layout Hopper's fp8 tensor cores take (both operands K-major), random
// e4m3 operands (every scale 1), bf16 output, fp32 accumulation. TFLOP/s.
static double measure_fp8_gemm_tflops(int n, cudaStream_t s) {
  auto lt_check = [](cublasStatus_t status, const char* what) {
    if (status != CUBLAS_STATUS_SUCCESS) throw std::runtime_error(std::string("cuBLASLt fp8 peak: ") + what + " failed");
  };
  uint8_t *a, *b;
  bf16* c;
  float* unit_scales;
  void* workspace;
  const size_t workspace_bytes = 32u << 20;
  CUDA_CHECK(cudaMalloc(&a, size_t(n) * n));
  CUDA_CHECK(cudaMalloc(&b, size_t(n) * n));
  CUDA_CHECK(cudaMalloc(&c, size_t(n) * n * 2));
  CUDA_CHECK(cudaMalloc(&unit_scales, 4));
  CUDA_CHECK(cudaMalloc(&workspace, workspace_bytes));
  fill_random_fp8(a, unit_scales, int64_t(n) * n, 1, 4, kE4m3Max, s);  // the scale written is 1
  fill_random_fp8(b, unit_scales, int64_t(n) * n, 1, 5, kE4m3Max, s);
  cublasLtHandle_t lt;
  lt_check(cublasLtCreate(&lt), "cublasLtCreate");
  cublasLtMatmulDesc_t desc;
  lt_check(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
  const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
  lt_check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof transpose), "TRANSA");
  lt_check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof keep), "TRANSB");
  cublasLtMatrixLayout_t la, lb, lc;
  lt_check(cublasLtMatrixLayoutCreate(&la, CUDA_R_8F_E4M3, n, n, n), "layout A");
  lt_check(cublasLtMatrixLayoutCreate(&lb, CUDA_R_8F_E4M3, n, n, n), "layout B");
  lt_check(cublasLtMatrixLayoutCreate(&lc, CUDA_R_16BF, n, n, n), "layout C");
  cublasLtMatmulPreference_t preference;
  lt_check(cublasLtMatmulPreferenceCreate(&preference), "preference");
  lt_check(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes,
                                                sizeof workspace_bytes),
           "workspace preference");
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  lt_check(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, lc, preference, 1, &heuristic, &found), "heuristic");
  require(found > 0, "cuBLASLt offers no fp8 GEMM on this device (fp8 needs compute capability 8.9 or later)");
  const float one = 1.0f, zero = 0.0f;
  const double us = time_us(s, [&] {
    lt_check(cublasLtMatmul(lt, desc, &one, a, la, b, lb, &zero, c, lc, c, lc, &heuristic.algo, workspace, workspace_bytes, s),
             "cublasLtMatmul");
  }, 5, 5);
  cublasLtMatmulPreferenceDestroy(preference);
  cublasLtMatrixLayoutDestroy(la);
  cublasLtMatrixLayoutDestroy(lb);
  cublasLtMatrixLayoutDestroy(lc);
  cublasLtMatmulDescDestroy(desc);
  cublasLtDestroy(lt);
  for (void* p : {static_cast<void*>(a), static_cast<void*>(b), static_cast<void*>(c), static_cast<void*>(unit_scales), workspace})
    CUDA_CHECK(cudaFree(p));
  return 2.0 * n * n * double(n) / (us * 1e-6) / 1e12;
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
  p.gemm_fp8_tflops = measure_fp8_gemm_tflops(n, s);
  CUDA_CHECK(cudaStreamDestroy(s));
  return p;
}

}  // namespace aidc
