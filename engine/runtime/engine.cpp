#include "runtime/engine.h"

#include <algorithm>

#include "common/error.h"

namespace aidc {

Engine::Engine(Backend& backend, SchedulerLimits limits)
    : backend_(backend), scheduler_([&] {
        limits.kv_block_tokens = backend.kv_block_tokens();
        limits.kv_blocks = backend.kv_blocks();
        limits.max_context = std::min(limits.max_context, backend.config().max_position);
        return limits;
      }()) {}

void Engine::submit(Generation generation) {
  const std::string name = "request " + std::to_string(generation.id);
  require(!generation.prompt.empty(), name + ": empty prompt");
  require(generation.max_new_tokens > 0,
          name + ": max_new_tokens must be at least 1, got " + std::to_string(generation.max_new_tokens));
  require(!contents_.count(generation.id), name + ": id already in the engine");
  const int vocab = backend_.config().vocab;
  for (int token : generation.prompt)
    require(token >= 0 && token < vocab,
            name + ": token " + std::to_string(token) + " is outside the vocabulary (0.." + std::to_string(vocab - 1) + ")");
  Request request;
  request.id = generation.id;
  request.session = generation.id;
  request.prompt_tokens = static_cast<int>(generation.prompt.size());
  request.max_output_tokens = generation.max_new_tokens;
  if (scheduler_.can_never_fit(request)) {
    const long long tokens = static_cast<long long>(request.prompt_tokens) + request.max_output_tokens;
    const SchedulerLimits& l = scheduler_.limits();
    fail(name + ": " + std::to_string(tokens) + " tokens (prompt + max_new_tokens) exceed the context of " +
         std::to_string(l.max_context) + " tokens or the KV cache of " +
         std::to_string(l.kv_blocks * l.kv_block_tokens) + " tokens");
  }
  const std::uint64_t id = generation.id;
  contents_.emplace(id, Content{std::move(generation), {}, submitted_++});
  scheduler_.add(request);
}

bool Engine::abort(std::uint64_t id) {
  if (!scheduler_.abort(id)) return false;
  contents_.erase(id);
  return true;
}

void Engine::on_finished(const Request& request) {
  auto it = contents_.find(request.id);
  if (collect_finished_) {
    const std::vector<int>& stops = it->second.generation.stop_tokens;
    const std::vector<int>& output = it->second.output;
    const bool stopped = std::find(stops.begin(), stops.end(), output.back()) != stops.end();
    finished_.push_back({request.id, std::move(it->second.output), stopped ? FinishReason::Stop : FinishReason::Length});
  }
  contents_.erase(it);
}

const std::vector<TokenEvent>& Engine::step() {
  events_.clear();
  if (scheduler_.idle()) return events_;
  const std::vector<ScheduledSequence>& scheduled = scheduler_.schedule(*this);
  batch_.tokens.clear();
  batch_.seqs.clear();
  std::vector<SampleRequest> draws;
  std::vector<Content*> sampled;
  for (std::size_t s = 0; s < scheduled.size(); ++s) {
    const ScheduledSequence& seq = scheduled[s];
    Content& content = contents_.at(seq.request->id);
    const std::vector<int>& prompt = content.generation.prompt;
    const int prompt_size = static_cast<int>(prompt.size());
    for (int pos = seq.start; pos < seq.start + seq.tokens; ++pos)  // after a preemption, generated tokens too
      batch_.tokens.push_back(pos < prompt_size ? prompt[static_cast<std::size_t>(pos)]
                                                : content.output[static_cast<std::size_t>(pos - prompt_size)]);
    SeqChunk chunk;
    chunk.start_pos = seq.start;
    chunk.n_tokens = seq.tokens;
    chunk.blocks = *seq.blocks;
    batch_.seqs.push_back(std::move(chunk));
    if (seq.samples) {
      draws.push_back({static_cast<int>(s), content.generation.sampling, static_cast<uint64_t>(content.output.size())});
      sampled.push_back(&content);
    }
  }
  if (batch_.seqs.empty()) return events_;
  backend_.forward(batch_);
  const std::vector<int> next = backend_.sample(draws);
  std::vector<std::uint64_t> stopped;
  for (std::size_t i = 0; i < sampled.size(); ++i) {
    Content& content = *sampled[i];
    content.output.push_back(next[i]);
    const std::vector<int>& stops = content.generation.stop_tokens;
    FinishReason finish = FinishReason::None;
    if (std::find(stops.begin(), stops.end(), next[i]) != stops.end()) {
      finish = FinishReason::Stop;
      stopped.push_back(content.generation.id);
    } else if (static_cast<int>(content.output.size()) >= content.generation.max_new_tokens) {
      finish = FinishReason::Length;
    }
    events_.push_back({content.generation.id, next[i], finish});
  }
  scheduler_.update_from_output(*this, stopped);
  return events_;
}

std::vector<Finished> Engine::run_all() {
  collect_finished_ = true;
  finished_.clear();
  std::unordered_map<std::uint64_t, std::uint64_t> order;
  for (const auto& [id, content] : contents_) order[id] = content.order;
  while (!idle()) step();
  collect_finished_ = false;
  std::sort(finished_.begin(), finished_.end(),
            [&](const Finished& a, const Finished& b) { return order.at(a.id) < order.at(b.id); });
  return std::move(finished_);
}

}  // namespace aidc
