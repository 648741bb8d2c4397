#pragma once
// The server's one engine thread. Engine is not thread-safe, so one thread owns it: it takes new
// requests and aborts from a mutex-protected inbox, steps the engine while there is work, and posts
// each iteration's tokens to per-request channels that HTTP threads wait on. The engine thread never
// waits on an HTTP thread: a channel's lock is held only to append or swap out tokens.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "runtime/engine.h"
#include "server/metrics.h"
#include "tokenizer/tokenizer.h"

namespace aidc {

using Clock = std::chrono::steady_clock;

// How a request ended, as its HTTP thread sees it.
enum class Ending { Running, Stop, Length, Aborted, Rejected };

// One request's mailbox between the engine thread and the HTTP thread serving it.
class RequestChannel {
 public:
  struct Taken {
    Ending ending = Ending::Running;
    std::string rejection;  // Rejected: why the engine refused it
  };
  // Waits until a token came or the request ended (or, with until_admitted, the engine admitted it),
  // or `deadline` passed; moves the new tokens to the end of `tokens`. Returns the state after that.
  Taken take(std::vector<int>& tokens, Clock::time_point deadline, bool until_admitted = false);

 private:
  friend class EngineLoop;
  void admit();
  void post(int token, Ending ending);
  void end(Ending ending, std::string rejection = {});

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int> tokens_;  // posted, not yet taken
  bool admitted_ = false;
  Ending ending_ = Ending::Running;
  std::string rejection_;
};

// A request as the HTTP side hands it over.
struct Job {
  Generation generation;              // id set by EngineLoop::submit
  std::vector<std::string> stop;      // stop strings (need the tokenizer): the request ends on the token completing one
  Clock::time_point arrival;          // when the HTTP request arrived (latency metrics)
};

class EngineLoop {
 public:
  // `tokenizer` may be null (token-id requests only). `max_waiting`: requests queued and not yet
  // scheduled beyond which submit() refuses.
  // `step_log`: a CSV file that gets one row per engine iteration (when it started and ended, what it
  // ran), for holding the simulator's step-time model against real serving; empty: none.
  EngineLoop(Engine& engine, ServingMetrics& metrics, const Tokenizer* tokenizer, std::size_t max_waiting,
             const std::string& step_log = {});
  ~EngineLoop();
  EngineLoop(const EngineLoop&) = delete;
  EngineLoop& operator=(const EngineLoop&) = delete;

  // Null when the queue is full; else the request's channel, its id in `id`.
  std::shared_ptr<RequestChannel> submit(Job job, std::uint64_t& id);
  // Ends a request early (client gone, timeout); its channel ends as Aborted.
  void abort(std::uint64_t id);

 private:
  struct Command {
    bool is_abort = false;
    std::uint64_t id = 0;
    Job job;
    std::shared_ptr<RequestChannel> channel;
  };
  // A request inside the engine, as only the engine thread sees it.
  struct Live {
    std::shared_ptr<RequestChannel> channel;
    Clock::time_point arrival, last_token;
    int prompt_tokens = 0;
    int generated = 0;
    std::vector<std::string> stop;
    std::unique_ptr<Tokenizer::Stream> text_stream;  // only with stop strings
    std::string text;
  };

  void run();
  void apply(std::vector<Command>& commands);
  void finish(std::uint64_t id, Live& live, Ending ending, Outcome outcome, Clock::time_point now);
  bool completes_stop_string(Live& live, int token) const;
  void publish();
  void log_step(Clock::time_point start, Clock::time_point end);

  Engine& engine_;
  ServingMetrics& metrics_;
  const Tokenizer* tokenizer_;
  const std::size_t max_waiting_;

  std::mutex inbox_mutex_;
  std::condition_variable inbox_changed_;
  std::vector<Command> inbox_;
  std::size_t inbox_jobs_ = 0;  // submissions in inbox_
  std::size_t waiting_ = 0;     // taken from the inbox and not yet scheduled, as of the last publish
  bool stopping_ = false;
  std::uint64_t next_id_ = 1;

  struct Delivery {
    std::shared_ptr<RequestChannel> channel;
    int token = 0;
    Ending ending = Ending::Running;
  };

  std::unordered_map<std::uint64_t, Live> live_;  // engine thread only
  IterationStats stats_;                          // engine thread only
  std::vector<Delivery> deliveries_;              // this iteration's tokens, posted after the metrics (engine thread)
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> step_log_{nullptr, &std::fclose};  // engine thread only
  Clock::time_point started_ = Clock::now();
  std::thread thread_;
};

}  // namespace aidc
