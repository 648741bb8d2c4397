// Deterministic random weights generated on the device: a 7B model's 14 GB would take minutes on the
// host. The hash is common/numeric.h's, so the CPU reference draws identical values.
#include "common/numeric.h"
#include "kernels/common.cuh"
#include "kernels/kernels.h"

namespace aidc {

__global__ void fill_random_kernel(bf16* out, int64_t n, uint64_t stream, float scale, float offset, RandomWindow w) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t at = w.first + (i / w.width) * w.pitch + i % w.width;
    out[i] = __float2bfloat16_rn(offset + scale * hash_uniform(stream, static_cast<uint64_t>(at)));
  }
}

void fill_random_bf16(bf16* out, int64_t n, uint64_t stream, float scale, float offset, const RandomWindow& window,
                      cudaStream_t s) {
  const int blocks = static_cast<int>(std::min<int64_t>((n + 255) / 256, 65536));
  fill_random_kernel<<<blocks, 256, 0, s>>>(out, n, stream, scale, offset, window);
  CUDA_CHECK_LAUNCH();
}

void fill_random_bf16(bf16* out, int64_t n, uint64_t stream, float scale, float offset, cudaStream_t s) {
  fill_random_bf16(out, n, stream, scale, offset, RandomWindow{0, std::max<int64_t>(n, 1), std::max<int64_t>(n, 1)}, s);
}

}  // namespace aidc
