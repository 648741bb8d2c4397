#pragma once
// Replays a request trace (workload.trace_file, read once by the scenario loader).
#include <limits>
#include <memory>

#include "workload/csv_input.hpp"
#include "workload/source.hpp"

namespace aidc {

class TraceSource final : public WorkloadSource {
 public:
  explicit TraceSource(std::shared_ptr<const std::vector<TraceRow>> rows) : rows_(std::move(rows)) {}
  double next_due() override {
    return next_ < rows_->size() ? (*rows_)[next_].arrival_s : std::numeric_limits<double>::infinity();
  }
  void take_due(double now, std::vector<SourceRequest>& due) override {
    for (; next_ < rows_->size() && (*rows_)[next_].arrival_s <= now; ++next_) {
      const TraceRow& row = (*rows_)[next_];
      due.push_back({row.session, row.prompt_tokens, row.output_tokens, -1});
    }
  }

 private:
  std::shared_ptr<const std::vector<TraceRow>> rows_;
  std::size_t next_ = 0;
};

}  // namespace aidc
