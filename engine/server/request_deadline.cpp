#include "server/request_deadline.h"

#include <dirent.h>
#include <malloc.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

namespace aidc {
namespace {

// The numeric address and port of a socket's local end or peer, as httplib's getnameinfo writes them.
bool endpoint(int fd, bool peer, std::string& addr, int& port) {
  sockaddr_storage a{};
  socklen_t size = sizeof a;
  if ((peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&a), &size) : getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size)) != 0)
    return false;
  char host[NI_MAXHOST], service[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&a), size, host, sizeof host, service, sizeof service,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return false;
  addr = host;
  port = std::atoi(service);
  return true;
}

}  // namespace

RequestDeadline::RequestDeadline(Clock::duration limit) : limit_(limit), null_fd_(open("/dev/null", O_RDONLY | O_CLOEXEC)) {
  if (null_fd_ >= 0) fstat(null_fd_, &null_);
}

RequestDeadline::~RequestDeadline() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (null_fd_ >= 0) close(null_fd_);
}

void RequestDeadline::watch(int port) { thread_ = std::thread([this, port] { run(port); }); }

void RequestDeadline::request_read(const std::string& addr, int port) {
  std::lock_guard<std::mutex> lock(mutex_);
  reading_since_[{addr, port}] = kAnswering;
}

void RequestDeadline::answered(const std::string& addr, int port) {
  std::lock_guard<std::mutex> lock(mutex_);
  reading_since_[{addr, port}] = Clock::now();
}

long long RequestDeadline::shut() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return shut_;
}

void RequestDeadline::run(int port) {
  std::unique_lock<std::mutex> lock(mutex_);
  // Twice a second: a connection is cut between limit and limit + 0.5 s.
  while (!wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; })) {
    check(port);
    // A cut connection's thread has let go of its descriptor (httplib closes it after freeing the
    // request): what it held (a flood of header lines: hundreds of MB) is free, but glibc keeps small
    // freed blocks for reuse, and RSS grew by that much with each flood. Give it back.
    const auto released = std::erase_if(cut_fds_, [this](int fd) {
      struct stat st {};
      return fstat(fd, &st) != 0 || st.st_dev != null_.st_dev || st.st_ino != null_.st_ino;
    });
    if (released == 0) continue;
    lock.unlock();
    malloc_trim(0);
    lock.lock();
  }
}

void RequestDeadline::check(int port) {
  const Clock::time_point now = Clock::now();
  std::set<Peer> open;
  DIR* fds = opendir("/proc/self/fd");
  if (!fds) return;
  while (const dirent* entry = readdir(fds)) {
    const int fd = std::atoi(entry->d_name);
    struct stat st {};
    if (entry->d_name[0] == '.' || fd == dirfd(fds) || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    Peer peer;
    int local_port = 0;
    std::string local_addr;
    if (!endpoint(fd, false, local_addr, local_port) || local_port != port || !endpoint(fd, true, peer.first, peer.second))
      continue;  // not a connection accepted on the server's port (the listening socket has no peer)
    open.insert(peer);
    // First seen: delivering its first request (unless a handler has already taken that).
    Clock::time_point& since = reading_since_.try_emplace(peer, now).first->second;
    if (since != kAnswering && now - since > limit_) {
      // The descriptor held this peer a moment ago. shutdown() wakes a read blocked on it; a client
      // still sending (a flood of header lines) would keep it fed, so the number is then pointed at
      // /dev/null, where httplib's next read fails and its close() releases the number. The socket
      // itself closes with its last descriptor.
      shutdown(fd, SHUT_RDWR);
      if (null_fd_ >= 0 && dup2(null_fd_, fd) == fd) cut_fds_.push_back(fd);
      since = kAnswering;
      ++shut_;
    }
  }
  closedir(fds);
  std::erase_if(reading_since_, [&](const auto& entry) { return !open.count(entry.first); });
}

}  // namespace aidc
