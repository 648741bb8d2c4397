#include "parallel/nccl_bench.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <sstream>
#include <thread>
#include <vector>

#include "common/error.h"
#include "parallel/nccl_communicator.h"
#include "profiler/report.h"

namespace aidc {
namespace {

void cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail(std::string("CUDA: ") + what + ": " + cudaGetErrorString(e));
}

struct Point {
  size_t bytes;
  double us, algbw_gbps, busbw_gbps;
};

// Enough repetitions for ~20 ms of traffic at 100 GB/s, between 5 and 50.
int repetitions(size_t bytes) { return static_cast<int>(std::clamp<size_t>((size_t(2) << 30) / bytes, 5, 50)); }

// Rank r's part: every rank runs the same collectives; rank 0 times them on its stream.
void rank_loop(const ncclUniqueId& group, int world, int rank, const NcclBenchOptions& o, std::vector<Point>& points) {
  cuda(cudaSetDevice(rank), "cudaSetDevice");
  cudaStream_t stream;
  cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  float* data = nullptr;
  cudaEvent_t start, end;
  cuda(cudaEventCreate(&start), "cudaEventCreate");
  cuda(cudaEventCreate(&end), "cudaEventCreate");
  {
    NcclCommunicator comm(group, world, rank, stream);
    cuda(cudaMalloc(&data, o.max_bytes), "cudaMalloc");
    cuda(cudaMemsetAsync(data, 0, o.max_bytes, stream), "cudaMemset");
    for (size_t bytes = o.min_bytes; bytes <= o.max_bytes; bytes *= 2) {
      const size_t count = bytes / sizeof(float);
      const int reps = repetitions(bytes);
      for (int i = 0; i < 3; ++i) comm.all_reduce_sum(data, count);  // warm, and the ranks lined up
      cuda(cudaEventRecord(start, stream), "cudaEventRecord");
      for (int i = 0; i < reps; ++i) comm.all_reduce_sum(data, count);
      cuda(cudaEventRecord(end, stream), "cudaEventRecord");
      cuda(cudaEventSynchronize(end), "cudaEventSynchronize");
      float ms = 0;
      cuda(cudaEventElapsedTime(&ms, start, end), "cudaEventElapsedTime");
      const double us = 1000.0 * ms / reps, algbw = bytes / (us * 1e-6) / 1e9;
      if (rank == 0) points.push_back({bytes, us, algbw, algbw * 2.0 * (world - 1) / world});
    }
  }
  cudaFree(data);
  cudaEventDestroy(start);
  cudaEventDestroy(end);
  cudaStreamDestroy(stream);
}

}  // namespace

int run_nccl_bench(const NcclBenchOptions& o) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess) devices = 0;
  require(o.gpus >= 2 && o.gpus <= devices, "nccl-bench: --gpus " + std::to_string(o.gpus) +
                                                 ": needs from 2 GPUs up to the " + std::to_string(devices) +
                                                 " this machine has");
  int nccl_version = 0;
  ncclGetVersion(&nccl_version);
  const ncclUniqueId group = NcclCommunicator::new_group_id();
  std::vector<Point> points;
  std::vector<std::exception_ptr> errors(o.gpus);
  std::vector<std::thread> threads;
  for (int r = 0; r < o.gpus; ++r)
    threads.emplace_back([&, r] {
      try {
        rank_loop(group, o.gpus, r, o, points);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (std::thread& t : threads) t.join();
  for (std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);

  cudaDeviceProp prop{};
  cuda(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  std::printf("NCCL %d all-reduce (fp32 sum, in place) over %d x %s, NVLS off; busbw = algbw * 2(n-1)/n\n", nccl_version,
              o.gpus, prop.name);
  std::printf("%12s %12s %12s %12s\n", "bytes", "time us", "algbw GB/s", "busbw GB/s");
  for (const Point& p : points) std::printf("%12zu %12.1f %12.2f %12.2f\n", p.bytes, p.us, p.algbw_gbps, p.busbw_gbps);
  if (!o.json_out.empty()) {
    std::ostringstream j;
    j << "{\n  \"gpu\": " << quoted(prop.name) << ",\n  \"gpus\": " << o.gpus << ",\n  \"nccl_version\": " << nccl_version
      << ",\n  \"date\": " << quoted(utc_now_iso8601()) << ",\n  \"command\": " << quoted(o.command)
      << ",\n  \"all_reduce\": [";
    for (size_t i = 0; i < points.size(); ++i) {
      const Point& p = points[i];
      j << (i ? "," : "") << "\n    {\"bytes\": " << p.bytes << ", \"time_us\": " << fmt_number(p.us)
        << ", \"algbw_gbps\": " << fmt_number(p.algbw_gbps) << ", \"busbw_gbps\": " << fmt_number(p.busbw_gbps) << "}";
    }
    j << "\n  ]\n}\n";
    write_text_file(o.json_out, j.str());
  }
  return 0;
}

}  // namespace aidc
