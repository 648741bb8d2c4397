#include "server/engine_loop.h"

#include <algorithm>

#include "common/error.h"

namespace aidc {
namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

RequestChannel::Taken RequestChannel::take(std::vector<int>& tokens, Clock::time_point deadline, bool until_admitted) {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, deadline, [&] {
    return !tokens_.empty() || ending_ != Ending::Running || (until_admitted && admitted_);
  });
  tokens.insert(tokens.end(), tokens_.begin(), tokens_.end());
  tokens_.clear();
  return {ending_, rejection_};
}

void RequestChannel::admit() {
  {
    std::lock_guard lock(mutex_);
    admitted_ = true;
  }
  changed_.notify_one();
}

void RequestChannel::post(int token, Ending ending) {
  {
    std::lock_guard lock(mutex_);
    tokens_.push_back(token);
    ending_ = ending;
  }
  changed_.notify_one();
}

void RequestChannel::end(Ending ending, std::string rejection) {
  {
    std::lock_guard lock(mutex_);
    ending_ = ending;
    rejection_ = std::move(rejection);
  }
  changed_.notify_one();
}

EngineLoop::EngineLoop(Engine& engine, ServingMetrics& metrics, const Tokenizer* tokenizer, std::size_t max_waiting,
                       const std::string& step_log)
    : engine_(engine), metrics_(metrics), tokenizer_(tokenizer), max_waiting_(max_waiting) {
  if (!step_log.empty()) {
    step_log_.reset(std::fopen(step_log.c_str(), "w"));
    require(step_log_ != nullptr, "--step-log " + step_log + ": cannot open for writing");
    // Times in seconds since the server started; the gap before a step is host time outside the engine.
    std::fputs("start_s,end_s,sequences,prefill_sequences,prefill_tokens,decode_sequences,decode_context_tokens\n",
               step_log_.get());
  }
  thread_ = std::thread([this] { run(); });
}

EngineLoop::~EngineLoop() {
  {
    std::lock_guard lock(inbox_mutex_);
    stopping_ = true;
  }
  inbox_changed_.notify_one();
  thread_.join();
}

std::shared_ptr<RequestChannel> EngineLoop::submit(Job job, std::uint64_t& id) {
  auto channel = std::make_shared<RequestChannel>();
  {
    std::lock_guard lock(inbox_mutex_);
    if (inbox_jobs_ + waiting_ >= max_waiting_) return nullptr;
    id = next_id_++;
    job.generation.id = id;
    inbox_.push_back({false, id, std::move(job), channel});
    ++inbox_jobs_;
  }
  inbox_changed_.notify_one();
  return channel;
}

void EngineLoop::abort(std::uint64_t id) {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.push_back({true, id, {}, nullptr});
  }
  inbox_changed_.notify_one();
}

void EngineLoop::run() {
  std::vector<Command> commands;
  for (;;) {
    {
      std::unique_lock lock(inbox_mutex_);
      inbox_changed_.wait(lock, [&] { return stopping_ || !inbox_.empty() || !engine_.idle(); });
      if (stopping_) break;
      commands.swap(inbox_);
      waiting_ += inbox_jobs_;  // counted as waiting until publish() counts the scheduler's queue
      inbox_jobs_ = 0;
    }
    apply(commands);
    commands.clear();
    if (!engine_.idle()) {
      const Clock::time_point step_start = Clock::now();
      const std::vector<TokenEvent>& events = engine_.step();
      const Clock::time_point now = Clock::now();
      if (step_log_) log_step(step_start, now);
      for (const TokenEvent& event : events) {
        Live& live = live_.at(event.id);
        if (live.generated == 0) {
          stats_.time_to_first_token.push_back(seconds(now - live.arrival));
          stats_.prompt_tokens += live.prompt_tokens;
        } else {
          stats_.inter_token_latency.push_back(seconds(now - live.last_token));
        }
        live.last_token = now;
        ++live.generated;
        ++stats_.generation_tokens;
        Ending ending = event.finish == FinishReason::Stop     ? Ending::Stop
                        : event.finish == FinishReason::Length ? Ending::Length
                                                               : Ending::Running;
        if (ending == Ending::Running && !live.stop.empty() && completes_stop_string(live, event.token)) {
          engine_.abort(event.id);  // before the next step: no token is generated past the stop string
          ending = Ending::Stop;
        }
        deliveries_.push_back({live.channel, event.token, ending});
        if (ending != Ending::Running)
          finish(event.id, live, ending, ending == Ending::Stop ? Outcome::Stop : Outcome::Length, now);
      }
    }
    publish();  // first: a client holding its answer finds it counted in /metrics
    for (Delivery& d : deliveries_) d.channel->post(d.token, d.ending);
    deliveries_.clear();
  }
  for (auto& [id, live] : live_) live.channel->end(Ending::Aborted);
}

void EngineLoop::log_step(Clock::time_point start, Clock::time_point end) {
  int prefill_sequences = 0, prefill_tokens = 0, decode_sequences = 0;
  long long decode_context = 0;
  for (const SeqChunk& seq : engine_.last_batch().seqs) {
    // One new token at a position past the prompt is a decode; anything else prefills (or recomputes).
    if (seq.n_tokens == 1 && seq.start_pos > 0) {
      ++decode_sequences;
      decode_context += seq.start_pos + 1;
    } else {
      ++prefill_sequences;
      prefill_tokens += seq.n_tokens;
    }
  }
  std::fprintf(step_log_.get(), "%.6f,%.6f,%zu,%d,%d,%d,%lld\n", seconds(start - started_), seconds(end - started_),
               engine_.last_batch().seqs.size(), prefill_sequences, prefill_tokens, decode_sequences, decode_context);
}

void EngineLoop::apply(std::vector<Command>& commands) {
  for (Command& c : commands) {
    if (c.is_abort) {
      auto it = live_.find(c.id);
      if (it == live_.end()) continue;  // already finished
      engine_.abort(c.id);
      finish(c.id, it->second, Ending::Aborted, Outcome::Abort, Clock::now());
      continue;
    }
    Live live;
    live.channel = c.channel;
    live.arrival = c.job.arrival;
    live.prompt_tokens = static_cast<int>(c.job.generation.prompt.size());
    live.stop = std::move(c.job.stop);
    if (!live.stop.empty() && tokenizer_) live.text_stream = std::make_unique<Tokenizer::Stream>(tokenizer_->stream());
    try {
      engine_.submit(std::move(c.job.generation));
    } catch (const EngineError& e) {
      c.channel->end(Ending::Rejected, e.what());
      continue;
    }
    c.channel->admit();
    live_.emplace(c.id, std::move(live));
  }
}

void EngineLoop::finish(std::uint64_t id, Live& live, Ending ending, Outcome outcome, Clock::time_point now) {
  if (ending == Ending::Aborted) live.channel->end(Ending::Aborted);
  else stats_.e2e_latency.push_back(seconds(now - live.arrival));
  ++stats_.finished[static_cast<std::size_t>(outcome)];
  live_.erase(id);
}

bool EngineLoop::completes_stop_string(Live& live, int token) const {
  if (!live.text_stream || token >= tokenizer_->vocab_size()) return false;  // ids past the tokenizer: no text
  const std::size_t before = live.text.size();
  live.text += live.text_stream->next(token);
  for (const std::string& s : live.stop) {
    // Only matches that end in the new text: earlier ones would have stopped the request already.
    const std::size_t from = before >= s.size() ? before - s.size() + 1 : 0;
    if (live.text.find(s, from) != std::string::npos) return true;
  }
  return false;
}

void EngineLoop::publish() {
  const Scheduler& s = engine_.scheduler();
  SchedulerGauges g;
  g.running = static_cast<long long>(s.running());
  g.waiting = static_cast<long long>(s.waiting());
  g.kv_cache_usage = s.kv_blocks_total() > 0 ? double(s.kv_blocks_used()) / double(s.kv_blocks_total()) : 0.0;
  g.preemptions = s.preemptions();
  metrics_.record(stats_, g);
  stats_.clear();
  std::lock_guard lock(inbox_mutex_);
  waiting_ = s.waiting();
}

}  // namespace aidc
