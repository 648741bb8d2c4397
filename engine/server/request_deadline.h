#pragma once
// A deadline on receiving each HTTP request. cpp-httplib bounds every read of a request (5 s) but not
// the whole, so a client that trickles a byte every few seconds (slowloris), or a body that never
// completes, would hold a connection thread for ever; as many such clients as threads would stop the
// server. Debian's httplib is a compiled library that hands no socket to the application, so the
// watchdog finds the server's connections itself (/proc/self/fd) and ends any that has spent longer
// than the limit delivering one request, or idling before the next; httplib then closes it.
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace aidc {

class RequestDeadline {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RequestDeadline(Clock::duration limit);
  ~RequestDeadline();
  RequestDeadline(const RequestDeadline&) = delete;
  RequestDeadline& operator=(const RequestDeadline&) = delete;

  // Starts watching the connections accepted on `port` (after the server has bound it).
  void watch(int port);
  // A handler got the whole request from the client at (addr, port): its answer may take its time.
  void request_read(const std::string& addr, int port);
  // An answer has been written: the connection waits for its next request, on the clock again.
  void answered(const std::string& addr, int port);
  // Connections shut for overrunning the limit so far.
  long long shut() const;

 private:
  using Peer = std::pair<std::string, int>;  // numeric address, port (as httplib's Request names them)
  static constexpr Clock::time_point kAnswering{};  // a handler runs or an answer is being written
  void run(int port);
  void check(int port);

  const Clock::duration limit_;
  const int null_fd_;  // /dev/null, put in place of a connection's socket to end it
  struct stat null_ {};
  std::vector<int> cut_fds_;  // descriptors pointed at /dev/null that httplib has not closed yet
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<Peer, Clock::time_point> reading_since_;  // every open connection: since when it has been reading
  long long shut_ = 0;
  std::thread thread_;
};

}  // namespace aidc
