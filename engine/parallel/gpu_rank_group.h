#pragma once
// The CUDA backend as the ranks of a shard plan: rank r on device r, joined by NCCL (built with CUDA
// and NCCL only).
#include <memory>

#include "gpu/gpu_model.h"
#include "parallel/rank_group.h"

namespace aidc {

// Rank r builds its GpuModel on device r from its shard (dense models; GpuModel refuses the rest), its
// NCCL collectives ordered on the model's stream. World size 1 runs the whole model on device 0
// through the same path.
std::unique_ptr<RankGroup> gpu_rank_group(ShardPlan plan, const WeightSource& weights, const GpuOptions& options);

}  // namespace aidc
