#pragma once
// Collectives between GPU ranks through NCCL (built only with CUDA and NCCL): one communicator per
// rank, on device memory, ordered on the stream given. NVLink multicast (NVLS) stays off: it is set
// to 0 in the environment before any communicator is made (as is NCCL_GRAPH_REGISTER, unless set).
#include <cuda_runtime.h>
#include <nccl.h>

#include "parallel/communicator.h"

namespace aidc {

class NcclCommunicator final : public Communicator {
 public:
  // A new group's identity, made once and handed to every rank (threads here; processes would pass it).
  static ncclUniqueId new_group_id();
  // Joins the group as `rank` on the current device: every rank of `world` must call it at once.
  NcclCommunicator(const ncclUniqueId& group, int world, int rank, cudaStream_t stream = nullptr);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  // The stream later collectives are ordered on (a GpuModel's, once it exists).
  void set_stream(cudaStream_t stream) { stream_ = stream; }
  int world() const override { return world_; }
  int rank() const override { return rank_; }
  // Enqueued on the stream; the result is there for work later on that stream.
  void all_reduce_sum(float* data, size_t count) override;
  void all_gather(const float* send, float* recv, size_t count) override;

 private:
  ncclComm_t comm_ = nullptr;
  int world_, rank_;
  cudaStream_t stream_;
};

}  // namespace aidc
