#pragma once
// `aidc-engine bench` and `aidc-engine profile` (GPU only).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gpu/gpu_model.h"
#include "parallel/rank_group.h"
#include "core/model/config.hpp"
#include "model/weights.h"

namespace aidc {

struct BenchOptions {
  std::string model_path;
  std::vector<int> batches{1, 8, 32, 64};
  int context = 512;                       // cached tokens per sequence in decode runs
  std::vector<int> prefill_tokens{512, 2048, 4096};
  int decode_steps = 30;
  int gemv_max_tokens = GpuOptions{}.gemv_max_tokens;
  int gemv_mma_max_tokens = GpuOptions{}.gemv_mma_max_tokens;
  std::string json_out;                    // empty: no file
  std::string command;                     // the command line, recorded in outputs
  // Above 1: the model's ranks on that many GPUs (GpuModels in a rank group made by make_group, which
  // the NCCL build supplies), stepping together; a step's time is the slowest rank's.
  int tensor_parallel = 1;
  std::function<std::unique_ptr<RankGroup>(ShardPlan plan, const GpuOptions& options)> make_group;
};

// Prints a table to stdout and writes JSON; returns 0.
int run_bench(const ModelConfig& config, const WeightSource& weights, const BenchOptions& options);

struct ProfileOptions {
  std::string model_path;
  std::string out;                         // calibration YAML path
  std::string command;
};

int run_profile(const ModelConfig& config, const WeightSource& weights, const ProfileOptions& options);

}  // namespace aidc
