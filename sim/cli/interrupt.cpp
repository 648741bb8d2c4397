#include "cli/interrupt.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cstdio>

namespace aidc::cli {

InterruptHandler::InterruptHandler(std::function<void(const char*)> stop) : stop_(std::move(stop)) {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, &previous_);
  watcher_ = std::thread([this] {
    int signal = 0;
    while (sigwait(&signals_, &signal) != 0) {
    }
    if (done_) return;  // the destructor's wake-up
    stop_(signal == SIGINT ? "SIGINT" : "SIGTERM");
    std::fflush(stderr);
    _exit(128 + signal);
  });
}

InterruptHandler::~InterruptHandler() {
  done_ = true;
  pthread_kill(watcher_.native_handle(), SIGTERM);
  watcher_.join();
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

}  // namespace aidc::cli
