#include "runtime/scheduler.h"

#include <algorithm>

#include "common/error.h"

namespace aidc {

BlockAllocator::BlockAllocator(int blocks) {
  for (int b = blocks - 1; b >= 0; --b) free_.push_back(b);
}

std::vector<int> BlockAllocator::take(int n) {
  require(n <= free_blocks(), "KV cache: out of blocks");
  std::vector<int> out(free_.end() - n, free_.end());
  free_.resize(free_.size() - n);
  return out;
}

void BlockAllocator::give_back(const std::vector<int>& blocks) { free_.insert(free_.end(), blocks.begin(), blocks.end()); }

Engine::Engine(Backend& backend, SchedulerLimits limits)
    : backend_(backend), limits_(limits), blocks_(backend.kv_blocks()) {}

void Engine::submit(Request request) {
  require(!request.prompt.empty(), "request " + std::to_string(request.id) + ": empty prompt");
  const int need = static_cast<int>(request.prompt.size()) + request.max_new_tokens;
  const int blocks = (need + backend_.kv_block_tokens() - 1) / backend_.kv_block_tokens();
  require(blocks <= backend_.kv_blocks(), "request " + std::to_string(request.id) + ": " + std::to_string(need) +
                                              " tokens exceed the whole KV cache");
  waiting_.emplace_back(submitted_++, std::move(request));
}

int Engine::tokens_of(const Running& r) const {
  return static_cast<int>(r.req.prompt.size() + r.req.output.size());
}

StepBatch Engine::step() {
  const int bt = backend_.kv_block_tokens();
  // Admit waiting requests (FCFS) while blocks and running slots last.
  while (!waiting_.empty() && static_cast<int>(running_.size()) < limits_.max_running) {
    Request& req = waiting_.front().second;
    const int need = (static_cast<int>(req.prompt.size()) + req.max_new_tokens + bt - 1) / bt;
    if (need > blocks_.free_blocks()) break;
    Running r{std::move(req), blocks_.take(need), 0, waiting_.front().first};
    waiting_.pop_front();
    running_.push_back(std::move(r));
  }
  StepBatch batch;
  std::vector<Running*> members;
  int budget = limits_.max_batch_tokens;
  auto add = [&](Running& r, int n) {
    SeqChunk chunk;
    chunk.start_pos = r.cached;
    chunk.n_tokens = n;
    chunk.blocks.assign(r.blocks.begin(), r.blocks.begin() + (r.cached + n + bt - 1) / bt);
    for (int i = 0; i < n; ++i) {
      const int pos = r.cached + i;
      const int psize = static_cast<int>(r.req.prompt.size());
      batch.tokens.push_back(pos < psize ? r.req.prompt[pos] : r.req.output[pos - psize]);
    }
    batch.seqs.push_back(std::move(chunk));
    members.push_back(&r);
    budget -= n;
  };
  for (Running& r : running_)  // decodes first: one token each
    if (r.cached >= static_cast<int>(r.req.prompt.size()) && budget > 0) add(r, 1);
  for (Running& r : running_) {  // then prefill chunks
    const int left = static_cast<int>(r.req.prompt.size()) - r.cached;
    if (left > 0 && budget > 0) add(r, std::min(left, budget));
  }
  if (batch.seqs.empty()) return batch;
  backend_.forward(batch);

  std::vector<SampleRequest> draws;
  std::vector<Running*> sampled;
  for (size_t s = 0; s < members.size(); ++s) {
    Running& r = *members[s];
    r.cached += batch.seqs[s].n_tokens;
    if (r.cached == tokens_of(r)) {  // the chunk ended at the newest token: its logits give the next one
      draws.push_back({static_cast<int>(s), r.req.sampling, static_cast<uint64_t>(r.req.output.size())});
      sampled.push_back(&r);
    }
  }
  std::vector<int> next = backend_.sample(draws);
  for (size_t i = 0; i < sampled.size(); ++i) {
    Request& req = sampled[i]->req;
    req.output.push_back(next[i]);
    const bool stop = std::find(req.stop_tokens.begin(), req.stop_tokens.end(), next[i]) != req.stop_tokens.end();
    req.finished = stop || static_cast<int>(req.output.size()) >= req.max_new_tokens;
  }
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->req.finished) {
      blocks_.give_back(it->blocks);
      done_.push_back(std::move(it->req));
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
  return batch;
}

std::vector<Request> Engine::run_all() {
  while (!idle()) step();
  std::vector<Request> out = done_;
  std::sort(out.begin(), out.end(), [](const Request& a, const Request& b) { return a.id < b.id; });
  return out;
}

}  // namespace aidc
