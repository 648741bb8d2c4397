#pragma once
// SIGINT and SIGTERM stop a command cleanly. They are blocked in every thread and taken by a thread of
// their own, which runs `stop` (free to take locks and remove files, unlike a signal handler) and then
// ends the process with 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM, as shells report.
#include <atomic>
#include <csignal>
#include <functional>
#include <thread>

namespace aidc::cli {

class InterruptHandler {
 public:
  // Construct before any other thread starts, so that every thread inherits the blocked signals.
  explicit InterruptHandler(std::function<void(const char* signal_name)> stop);
  ~InterruptHandler();
  InterruptHandler(const InterruptHandler&) = delete;
  InterruptHandler& operator=(const InterruptHandler&) = delete;

 private:
  std::function<void(const char*)> stop_;
  sigset_t signals_{}, previous_{};
  std::atomic<bool> done_{false};
  std::thread watcher_;
};

}  // namespace aidc::cli
