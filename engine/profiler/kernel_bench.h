#pragma once
// `aidc-engine kernels` (GPU only): each kernel family of kernels/kernels.h timed alone at the shapes
// the served models run (deepseek-llm-7b, deepseek-moe-16b, DeepSeek-V2-Lite, V3's router), one table
// per family, so a change shows which kernel moved.
#include <string>
#include <vector>

namespace aidc {

struct KernelBenchOptions {
  std::vector<std::string> families;  // empty: all of kernel_bench_families()
  std::string json_out;               // empty: no file
  std::string command;                // the command line, recorded in the JSON
};

std::vector<std::string> kernel_bench_families();

// Prints a table per family (time, bytes moved, FLOPs, fraction of the limit: the larger of bytes
// over the copy peak and FLOPs over the GEMM peak) and writes the JSON; returns 0.
int run_kernel_bench(const KernelBenchOptions& options);

}  // namespace aidc
