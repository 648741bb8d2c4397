#include "parallel/in_process_communicator.h"

#include <algorithm>
#include <barrier>

#include "common/error.h"

namespace aidc {
namespace {

// What the ranks share: a barrier and, per rank, the buffer it offers to the current collective.
struct Rendezvous {
  explicit Rendezvous(int world) : barrier(world), offered(world), counts(world) {}
  std::barrier<> barrier;
  std::vector<const float*> offered;
  std::vector<size_t> counts;
};

class InProcessCommunicator final : public Communicator {
 public:
  InProcessCommunicator(std::shared_ptr<Rendezvous> shared, int rank) : shared_(std::move(shared)), rank_(rank) {}
  int world() const override { return static_cast<int>(shared_->offered.size()); }
  int rank() const override { return rank_; }

  void all_reduce_sum(float* data, size_t count) override {
    offer(data, count);
    std::vector<float> sum(shared_->offered[0], shared_->offered[0] + count);
    for (int r = 1; r < world(); ++r)
      for (size_t i = 0; i < count; ++i) sum[i] += shared_->offered[r][i];
    shared_->barrier.arrive_and_wait();  // nobody overwrites its buffer while another still reads it
    std::copy(sum.begin(), sum.end(), data);
  }

  void all_gather(const float* send, float* recv, size_t count) override {
    offer(send, count);
    for (int r = 0; r < world(); ++r) std::copy_n(shared_->offered[r], count, recv + r * count);
    shared_->barrier.arrive_and_wait();
  }

 private:
  // Publishes this rank's buffer and waits for the others'; the counts must agree (a bug otherwise,
  // seen by every rank alike, so all of them throw and none waits forever).
  void offer(const float* data, size_t count) {
    shared_->offered[rank_] = data;
    shared_->counts[rank_] = count;
    shared_->barrier.arrive_and_wait();
    for (size_t c : shared_->counts)
      if (c != count) {
        shared_->barrier.arrive_and_wait();
        fail("internal: ranks called a collective with different counts");
      }
  }

  std::shared_ptr<Rendezvous> shared_;
  int rank_;
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> in_process_communicators(int world) {
  require(world >= 1, "internal: a communicator group needs at least one rank");
  auto shared = std::make_shared<Rendezvous>(world);
  std::vector<std::unique_ptr<Communicator>> out;
  for (int r = 0; r < world; ++r) out.push_back(std::make_unique<InProcessCommunicator>(shared, r));
  return out;
}

}  // namespace aidc
