// Tensor/expert parallel on the GPU path (issue 16) at world size 1, the size one device allows: the
// NCCL communicator against sums written out by hand, and the CUDA backend run through the rank group
// giving what it gives alone. Without a device every test skips.
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <cstdlib>

#include "common/error.h"
#include "engine_test_support.h"
#include "parallel/gpu_rank_group.h"
#include "parallel/nccl_communicator.h"

namespace aidc {
namespace {

#define REQUIRE_GPU() \
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device"

TEST(EngineParallelGpu, NcclCollectivesOfOneRank) {
  REQUIRE_GPU();
  NcclCommunicator comm(NcclCommunicator::new_group_id(), 1, 0);
  EXPECT_STREQ(std::getenv("NCCL_NVLS_ENABLE"), "0");
  const std::vector<float> host{1.5f, -2.0f, 3.25f};
  float *data = nullptr, *gathered = nullptr;
  ASSERT_EQ(cudaMalloc(&data, 3 * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&gathered, 3 * sizeof(float)), cudaSuccess);
  cudaMemcpy(data, host.data(), 3 * sizeof(float), cudaMemcpyHostToDevice);
  comm.all_reduce_sum(data, 3);
  comm.all_gather(data, gathered, 3);
  std::vector<float> reduced(3), all(3);
  cudaMemcpy(reduced.data(), data, 3 * sizeof(float), cudaMemcpyDeviceToHost);  // default stream: after NCCL's
  cudaMemcpy(all.data(), gathered, 3 * sizeof(float), cudaMemcpyDeviceToHost);
  cudaFree(data);
  cudaFree(gathered);
  EXPECT_EQ(reduced, host);  // one rank: the sum is itself
  EXPECT_EQ(all, host);
}

// The rank group of one GPU rank (NCCL joined, the model built on the rank's thread) gives the logits
// of the same GpuModel built directly.
TEST(EngineParallelGpu, RankGroupOfOneMatchesTheModelAlone) {
  REQUIRE_GPU();
  for (const char* name : {"tiny-llama", "tiny-deepseek-v2"}) {
    SCOPED_TRACE(name);
    const ModelConfig c = test::tiny(name);
    GpuOptions o;
    o.max_batch_tokens = 64;
    o.max_seqs = 4;
    o.max_logit_rows = 64;
    o.max_context = 64;
    o.kv_blocks = 8;
    const std::vector<int> tokens = test::prompt(19, c.vocab);
    GpuModel alone(c, WeightSource::random(6), o);
    const std::vector<float> want = test::run_logits(alone, tokens, 19);
    std::unique_ptr<RankGroup> group = gpu_rank_group(ShardPlan(c, {1, 1}), WeightSource::random(6), o);
    EXPECT_LT(test::rel_error(test::run_logits(*group, tokens, 19), want), 1e-6);
  }
}

TEST(EngineParallelGpu, MoreThanOneRankIsRefusedSayingWhatIsMissing) {
  try {
    gpu_rank_group(ShardPlan(test::tiny("tiny-llama"), {2, 1}), WeightSource::random(6), GpuOptions{});
    ADD_FAILURE() << "a GPU world of 2 was accepted";
  } catch (const EngineError& e) {
    EXPECT_NE(std::string(e.what()).find("GpuModel::load_weights"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace aidc
