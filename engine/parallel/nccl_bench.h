#pragma once
// `aidc-engine nccl-bench`: all-reduce bandwidth between this host's GPUs through the communicator
// the tensor-parallel ranks use (fp32 sums, rank r on device r, one thread each), in nccl-tests'
// terms: algorithm bandwidth = bytes / time; bus bandwidth = algbw * 2 (n - 1) / n, what each link
// carries in a ring all-reduce, comparable across GPU counts and with the links' rated bandwidth.
#include <string>

namespace aidc {

struct NcclBenchOptions {
  int gpus = 2;
  size_t min_bytes = 8 << 10, max_bytes = size_t(256) << 20;  // doubling from one to the other
  std::string json_out;  // empty: no file
  std::string command;   // the command line, recorded in the JSON
};

// Prints the table (and writes JSON); returns 0.
int run_nccl_bench(const NcclBenchOptions& options);

}  // namespace aidc
