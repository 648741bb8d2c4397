#include "parallel/nccl_communicator.h"

#include <cstdlib>
#include <mutex>
#include <string>

#include "common/error.h"

namespace aidc {
namespace {

void check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) fail(std::string("NCCL: ") + what + ": " + ncclGetErrorString(r));
}

// Before NCCL first reads its environment, once per process (setenv is not safe against itself on
// several threads): NVLink multicast off; and, unless the user set it, no registration of the buffers
// of collectives captured in CUDA graphs (GpuModel's decode graphs), so a capture holds the
// collectives alone. Their messages are a step's residual rows, at most a few MB.
void disable_nvls() {
  static std::once_flag once;
  std::call_once(once, [] {
    setenv("NCCL_NVLS_ENABLE", "0", 1);
    setenv("NCCL_GRAPH_REGISTER", "0", 0);
  });
}

}  // namespace

ncclUniqueId NcclCommunicator::new_group_id() {
  disable_nvls();
  ncclUniqueId id;
  check(ncclGetUniqueId(&id), "ncclGetUniqueId");
  return id;
}

NcclCommunicator::NcclCommunicator(const ncclUniqueId& group, int world, int rank, cudaStream_t stream)
    : world_(world), rank_(rank), stream_(stream) {
  disable_nvls();
  check(ncclCommInitRank(&comm_, world, group, rank), "ncclCommInitRank");
}

NcclCommunicator::~NcclCommunicator() { ncclCommDestroy(comm_); }

void NcclCommunicator::all_reduce_sum(float* data, size_t count) {
  check(ncclAllReduce(data, data, count, ncclFloat, ncclSum, comm_, stream_), "ncclAllReduce");
}

void NcclCommunicator::all_gather(const float* send, float* recv, size_t count) {
  check(ncclAllGather(send, recv, count, ncclFloat, comm_, stream_), "ncclAllGather");
}

}  // namespace aidc
