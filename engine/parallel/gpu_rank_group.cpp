#include "parallel/gpu_rank_group.h"

#include <string>

#include "common/error.h"
#include "parallel/nccl_communicator.h"

namespace aidc {

std::unique_ptr<RankGroup> gpu_rank_group(ShardPlan plan, const WeightSource& weights, const GpuOptions& options) {
  const int world = plan.world();
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess) devices = 0;
  require(world <= devices, "--backend gpu with " + std::to_string(world) + " ranks needs " + std::to_string(world) +
                                " CUDA devices (one a rank), and this machine has " + std::to_string(devices));
  const ncclUniqueId group = NcclCommunicator::new_group_id();
  return std::make_unique<RankGroup>(
      std::move(plan),
      [group, world](int rank) {
        require(cudaSetDevice(rank) == cudaSuccess, "rank " + std::to_string(rank) + ": no CUDA device " +
                                                        std::to_string(rank) + " for it");
        return std::make_unique<NcclCommunicator>(group, world, rank);
      },
      [&](const ModelRank& rank) {
        auto model = std::make_unique<GpuModel>(rank.plan.model(), weights, options, rank);
        static_cast<NcclCommunicator&>(rank.comm).set_stream(model->stream());  // connect() above made it
        return model;
      });
}

}  // namespace aidc
