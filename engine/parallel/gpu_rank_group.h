#pragma once
// The CUDA backend as the ranks of a shard plan: rank r on device r, joined by NCCL (built with CUDA
// and NCCL only).
#include <memory>

#include "gpu/gpu_model.h"
#include "parallel/rank_group.h"

namespace aidc {

// World size 1 runs the whole model on device 0 through the group (the path every world size takes).
// A larger world is refused, naming what is missing: GpuModel takes no shard yet.
std::unique_ptr<RankGroup> gpu_rank_group(ShardPlan plan, const WeightSource& weights, const GpuOptions& options);

}  // namespace aidc
