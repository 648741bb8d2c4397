#include "parallel/rank_group.h"

#include <algorithm>
#include <utility>

#include "cpu/cpu_model.h"
#include "parallel/in_process_communicator.h"

namespace aidc {

RankGroup::RankGroup(ShardPlan plan, const Connect& connect, const MakeRank& make)
    : plan_(std::move(plan)), ranks_(plan_.world()), busy_(plan_.world()), errors_(plan_.world()) {
  for (int r = 0; r < plan_.world(); ++r) threads_.emplace_back(&RankGroup::worker, this, r);
  try {
    on_ranks([&](int r) {
      ranks_[r].comm = connect(r);
      ranks_[r].model = make(ModelRank{plan_, r, *ranks_[r].comm});
    });
  } catch (...) {
    release();  // no destructor runs for a constructor that throws
    throw;
  }
  // The cache every rank can index: a rank sizing its own from free memory may have a few blocks less.
  kv_blocks_ = ranks_[0].model->kv_blocks();
  for (const Rank& r : ranks_) kv_blocks_ = std::min(kv_blocks_, r.model->kv_blocks());
  kv_block_tokens_ = ranks_[0].model->kv_block_tokens();
}

RankGroup::~RankGroup() { release(); }

void RankGroup::release() {
  // Each rank's backend, then its communicator, go on its own thread (its device current), then the
  // threads. Nothing may escape a destructor.
  try {
    on_ranks([&](int r) {
      ranks_[r].model.reset();
      ranks_[r].comm.reset();
    });
  } catch (...) {
  }
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void RankGroup::worker(int rank) {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || busy_[rank]; });
    if (stop_) return;
    lock.unlock();
    std::exception_ptr error;
    try {
      task_(rank);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    errors_[rank] = error;
    busy_[rank] = false;
    done_.notify_all();
  }
}

void RankGroup::on_ranks(const std::function<void(int)>& task, bool rank0_only) {
  std::unique_lock lock(mutex_);
  task_ = task;
  for (size_t r = 0; r < busy_.size(); ++r) busy_[r] = r == 0 || !rank0_only;
  wake_.notify_all();
  done_.wait(lock, [&] { return std::none_of(busy_.begin(), busy_.end(), [](bool b) { return b; }); });
  for (std::exception_ptr& e : errors_)
    if (e) std::rethrow_exception(std::exchange(e, nullptr));
}

void RankGroup::forward(const StepBatch& batch) {
  on_ranks([&](int r) { ranks_[r].model->forward(batch); });
}

std::vector<float> RankGroup::logits() {
  std::vector<float> out;
  on_ranks([&](int) { out = ranks_[0].model->logits(); }, true);
  return out;
}

std::vector<int> RankGroup::sample(const std::vector<SampleRequest>& requests) {
  std::vector<int> out;
  on_ranks([&](int) { out = ranks_[0].model->sample(requests); }, true);
  return out;
}

void RankGroup::each_rank(const std::function<void(int, Backend&)>& task) {
  on_ranks([&](int r) { task(r, *ranks_[r].model); });
}

void RankGroup::force_routing(ExpertChoices experts) {
  on_ranks([&](int r) { ranks_[r].model->force_routing(experts); });
}

void RankGroup::record_routing(bool on) {
  on_ranks([&](int r) { ranks_[r].model->record_routing(on); });
}

ExpertChoices RankGroup::routing_trace() {
  ExpertChoices out;  // every rank routed alike; each hands its trace over (and so clears it)
  on_ranks([&](int r) {
    ExpertChoices trace = ranks_[r].model->routing_trace();
    if (r == 0) out = std::move(trace);
  });
  return out;
}

std::unique_ptr<RankGroup> cpu_rank_group(ShardPlan plan, const WeightSource& weights, int kv_blocks,
                                          int block_tokens) {
  auto comms = std::make_shared<std::vector<std::unique_ptr<Communicator>>>(in_process_communicators(plan.world()));
  return std::make_unique<RankGroup>(
      std::move(plan), [comms](int r) { return std::move((*comms)[r]); },
      [&](const ModelRank& rank) {
        return std::make_unique<CpuModel>(rank.plan.model(), weights, kv_blocks, block_tokens, false, rank);
      });
}

}  // namespace aidc
