#pragma once
// A model run as the ranks of a shard plan, in lockstep, behind the one Backend interface the engine
// and the server drive: each call runs on every rank's own thread (a GPU rank keeps its device current
// there) and returns when all are done. Ranks hold identical full logits after a forward, so rank 0
// answers logits, sampling and routing traces. World size 1 runs through the same path. A rank's
// error is rethrown to the caller; since every rank sees the same input, a bad one fails them all
// before any collective (one rank failing alone would leave the others waiting in it).
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "parallel/communicator.h"
#include "parallel/shard_plan.h"
#include "runtime/batch.h"

namespace aidc {

class RankGroup final : public Backend {
 public:
  // Called on rank r's thread, in this order: connect(r) joins the group (collective: all ranks at
  // once), make(rank) builds the rank's backend from its shard.
  using Connect = std::function<std::unique_ptr<Communicator>(int rank)>;
  using MakeRank = std::function<std::unique_ptr<Backend>(const ModelRank& rank)>;
  RankGroup(ShardPlan plan, const Connect& connect, const MakeRank& make);
  ~RankGroup() override;
  RankGroup(const RankGroup&) = delete;
  RankGroup& operator=(const RankGroup&) = delete;

  const ShardPlan& plan() const { return plan_; }
  const ModelConfig& config() const override { return plan_.model(); }
  int kv_blocks() const override { return kv_blocks_; }
  int kv_block_tokens() const override { return kv_block_tokens_; }
  void forward(const StepBatch& batch) override;
  std::vector<float> logits() override;
  std::vector<int> sample(const std::vector<SampleRequest>& requests) override;
  void force_routing(ExpertChoices experts) override;
  void record_routing(bool on) override;
  ExpertChoices routing_trace() override;
  // Runs task(r, rank r's backend) on every rank's thread (its device current), e.g. to wait for
  // each device when timing steps.
  void each_rank(const std::function<void(int rank, Backend& model)>& task);

 private:
  struct Rank {
    std::unique_ptr<Communicator> comm;
    std::unique_ptr<Backend> model;
  };
  // Runs task(r) on the thread of every rank (or of rank 0 alone); rethrows the first rank's error.
  void on_ranks(const std::function<void(int)>& task, bool rank0_only = false);
  void worker(int rank);
  void release();  // destroys the ranks on their threads, then ends the threads

  ShardPlan plan_;
  std::vector<Rank> ranks_;
  int kv_blocks_ = 0, kv_block_tokens_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::function<void(int)> task_;
  std::vector<bool> busy_;
  std::vector<std::exception_ptr> errors_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// The CPU reference run as the ranks of `plan`: threads of this process joined by the in-process
// communicator.
std::unique_ptr<RankGroup> cpu_rank_group(ShardPlan plan, const WeightSource& weights, int kv_blocks, int block_tokens);

}  // namespace aidc
