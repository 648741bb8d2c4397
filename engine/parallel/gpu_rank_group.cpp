#include "parallel/gpu_rank_group.h"

#include <string>

#include "common/error.h"
#include "parallel/nccl_communicator.h"

namespace aidc {

std::unique_ptr<RankGroup> gpu_rank_group(ShardPlan plan, const WeightSource& weights, const GpuOptions& options) {
  const int world = plan.world();
  // What remains of issue 16 on the GPU: the plan, the NCCL communicator and the lockstep group exist
  // and the CPU reference runs sharded through them; GpuModel does not yet load a shard or all-reduce.
  require(world == 1, "--backend gpu with tensor parallel " + std::to_string(plan.spec().tensor) + ", expert parallel " +
                          std::to_string(plan.spec().expert) +
                          ": not available yet. The shard plan, the NCCL communicator and the lockstep rank group "
                          "exist (the CPU backend runs sharded: --backend cpu), but GpuModel::load_weights still lays "
                          "out whole tensors and its forward has no all-reduce after o_proj/down_proj/MoE nor a "
                          "vocab all-gather (docs/engine.md, Tensor and expert parallel)");
  const ncclUniqueId group = NcclCommunicator::new_group_id();
  return std::make_unique<RankGroup>(
      std::move(plan),
      [group, world](int rank) {
        require(cudaSetDevice(rank) == cudaSuccess, "rank " + std::to_string(rank) + ": no CUDA device " +
                                                        std::to_string(rank) + " for it");
        return std::make_unique<NcclCommunicator>(group, world, rank);
      },
      [&](const ModelRank& rank) { return std::make_unique<GpuModel>(rank.plan.model(), weights, options); });
}

}  // namespace aidc
