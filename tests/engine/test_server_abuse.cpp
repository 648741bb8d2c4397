// `aidc-engine serve --backend cpu` under load and abuse (issue 17): the real server soaked by the real
// wrk (Debian package) on loopback while slow and malformed clients hit it on raw sockets. It must
// answer every wrk request with 200 while the queue has room, answer bad requests with 4xx, drop slow
// clients within its request deadline, keep its memory flat, and refuse load beyond its queue with 503.
// AIDC_SOAK_SECONDS sets the soak's length (20 s here; scripts/soak.sh runs it longer and prints figures).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine_test_support.h"
#include "server_process.h"

namespace aidc {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The server's request deadline (engine/server/server.cpp, kRequestReadLimit) plus its watchdog's
// half-second period and scheduling slack on a loaded 2-core machine.
constexpr auto kDropWithin = 10s + 3s;
// Room in the server: --max-seqs 8 running + --max-queue 24 waiting. wrk keeps one request per
// connection in flight, so 16 connections never find the queue full and 40 always do; both stay below
// the 8 + 24 + 16 connection threads (more connections than threads would wait for one).
const std::vector<std::string> kServerOptions = {"--max-seqs", "8", "--max-queue", "24"};
constexpr int kSteadyConnections = 16;
constexpr int kOverloadConnections = 40;
// RSS may grow by this much over the soak (thread stacks touched, allocator pools): no leak per request.
constexpr long kRssGrowthBoundKb = 32 * 1024;

int soak_seconds() {
  const char* s = std::getenv("AIDC_SOAK_SECONDS");
  return s ? std::max(12, std::atoi(s)) : 20;  // at least the request deadline, so slow clients are dropped
}

long rss_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

struct WrkRun {
  std::string output;
  long long requests = -1;
  double requests_per_second = 0;
  long long socket_errors = 0;
  std::map<int, long long> statuses;  // from the script's done()
};

WrkRun wrk(int port, int connections, int seconds) {
  const std::string command = "wrk -t2 -c" + std::to_string(connections) + " -d" + std::to_string(seconds) +
                              "s --timeout 10s -s " + test::data("wrk_completions.lua") + " http://127.0.0.1:" +
                              std::to_string(port) + "/v1/completions";
  WrkRun run;
  run.output = test::run_command(command).output;
  std::smatch m;
  if (std::regex_search(run.output, m, std::regex("([0-9]+) requests in"))) run.requests = std::stoll(m[1]);
  if (std::regex_search(run.output, m, std::regex("Requests/sec: *([0-9.]+)"))) run.requests_per_second = std::stod(m[1]);
  if (std::regex_search(run.output, m, std::regex("Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)")))
    for (int i = 1; i <= 4; ++i) run.socket_errors += std::stoll(m[i]);
  if (std::regex_search(run.output, m, std::regex("statuses:([ 0-9=]*)"))) {
    const std::string list = m[1];
    const std::regex pair("([0-9]+)=([0-9]+)");
    for (std::sregex_iterator it(list.begin(), list.end(), pair), end; it != end; ++it)
      run.statuses[std::stoi((*it)[1])] = std::stoll((*it)[2]);
  }
  return run;
}

// A raw client: what a library would never send.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  // False once the server has hung up (MSG_NOSIGNAL: no SIGPIPE for this process).
  bool send_bytes(const std::string& bytes) {
    return !hung_up() && send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // True once the server has closed its end; what it answered before is kept for received().
  bool hung_up() {
    char buffer[4096];
    for (;;) {
      const ssize_t n = recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n > 0) {
        received_.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    }
  }
  // What the server sent since the last call (collected while checking for a hang-up).
  std::string received() { return std::exchange(received_, {}); }
  // The answer's status line, or "" when the server hangs up (or says nothing) within `wait`.
  std::string status_line(std::chrono::seconds wait) {
    std::string answer;
    for (auto until = Clock::now() + wait; Clock::now() < until && answer.find("\r\n") == std::string::npos;) {
      pollfd p{fd_, POLLIN, 100};
      if (poll(&p, 1, 100) <= 0) continue;
      char buffer[512];
      const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      answer.append(buffer, static_cast<std::size_t>(n));
    }
    const auto eol = answer.find("\r\n");
    return eol == std::string::npos ? "" : answer.substr(0, eol);
  }

 private:
  int fd_;
  bool connected_ = false;
  std::string received_;
};

// Sends `head`, then `trickle` one byte a second (its last byte repeated once it runs out; nothing if
// empty) until the server hangs up; how long it kept the connection (`give_up` if it never did).
Clock::duration kept_for(int port, const std::string& head, const std::string& trickle, Clock::duration give_up) {
  RawClient c(port);
  const auto start = Clock::now();
  if (!c.connected() || !c.send_bytes(head)) return Clock::now() - start;
  auto next_byte = start + 1s;
  for (std::size_t i = 0; Clock::now() - start < give_up; std::this_thread::sleep_for(100ms)) {
    if (c.hung_up()) return Clock::now() - start;
    if (trickle.empty() || Clock::now() < next_byte) continue;
    if (!c.send_bytes(std::string(1, trickle[std::min(i++, trickle.size() - 1)]))) return Clock::now() - start;
    next_byte += 1s;
  }
  return give_up;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Waits (at most `limit`) until /metrics shows no request running or waiting: requests whose clients
// left (wrk's at the end of a run) still run to their end, as a non-streamed request does.
bool drained(int port, Clock::duration limit) {
  const std::regex busy("vllm:num_requests_(running|waiting)\\{[^}]*\\} [1-9]");
  for (const auto until = Clock::now() + limit; Clock::now() < until; std::this_thread::sleep_for(200ms)) {
    RawClient c(port);
    if (!c.send_bytes("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) continue;
    for (const auto answered_by = Clock::now() + 5s; !c.hung_up() && Clock::now() < answered_by;)
      std::this_thread::sleep_for(10ms);
    const std::string metrics = c.received();
    if (metrics.find("vllm:num_requests_waiting") != std::string::npos && !std::regex_search(metrics, busy)) return true;
  }
  return false;
}

TEST(ServerUnderAbuse, WrkSoakWithSlowAndMalformedClients) {
  if (test::run_command("wrk --version").output.find("wrk ") != 0)
    GTEST_SKIP() << "wrk is not installed (Debian package wrk; scripts/setup.sh installs it)";
  const fs::path dir = fs::temp_directory_path() / ("aidc-abuse-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  test::ServerProcess server(test::data("tiny-llama.json"), kServerOptions, dir / "server.log");
  const int port = server.port();
  ASSERT_GT(port, 0) << server.log();

  const WrkRun warm = wrk(port, kSteadyConnections, 3);
  ASSERT_GT(warm.requests, 0) << warm.output;
  const long rss_before = rss_kb(server.pid());

  // The soak, with every abusive client below at the same time, and RSS sampled throughout.
  const int soak_s = soak_seconds();
  WrkRun soak;
  std::thread load([&] { soak = wrk(port, kSteadyConnections, soak_s); });
  std::atomic<bool> soaking{true};
  const auto soak_start = Clock::now();
  std::vector<std::pair<double, long>> rss_samples;  // (s into the soak, kB)
  std::thread sampler([&] {
    for (; soaking; std::this_thread::sleep_for(250ms)) rss_samples.emplace_back(seconds(Clock::now() - soak_start), rss_kb(server.pid()));
  });

  // Slow clients, each on a thread of its own: the server must hang up on them within its deadline.
  const std::string request_line = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  std::vector<std::pair<std::string, Clock::duration>> slow(12);
  std::vector<std::thread> slow_clients;
  for (std::size_t i = 0; i < slow.size(); ++i) {
    slow_clients.emplace_back([&, i] {
      const Clock::duration give_up = kDropWithin + 10s;
      if (i < 8) {  // slowloris: headers one byte a second, never ending
        slow[i] = {"headers trickled", kept_for(port, "POST /v1/comp", "letions HTTP/1.1\r\nX-Slow: aaaaaa", give_up)};
      } else if (i < 10) {  // a body that never completes: one byte a second of the 100 000 announced
        slow[i] = {"body trickled", kept_for(port, request_line + "Content-Length: 100000\r\n\r\n{\"prompt\": [", "1,", give_up)};
      } else if (i < 11) {  // a body that stops: nothing more after its first bytes
        slow[i] = {"body stalled", kept_for(port, request_line + "Content-Length: 1000\r\n\r\n{\"pro", "", give_up)};
      } else {  // header lines as fast as the server takes them, never ending
        RawClient c(port);
        const auto start = Clock::now();
        const std::string lines = [] {
          std::string l;
          for (int k = 0; k < 1000; ++k) l += "X-Flood: " + std::string(100, 'f') + "\r\n";
          return l;
        }();
        c.send_bytes(request_line);
        while (Clock::now() - start < give_up && c.send_bytes(lines)) {
        }
        slow[i] = {"header flood", Clock::now() - start};
      }
    });
  }

  // Malformed clients: each gets a 4xx answer (a JSON error body, checked in test_server.cpp).
  const std::string nested = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  const char tls_hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not HTTP\r\n\r\n";  // HTTPS to an HTTP port
  const std::vector<std::pair<std::string, std::string>> malformed = {
      {"garbage bytes", std::string(tls_hello, sizeof tls_hello - 1)},
      {"a 100 kB header line", "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100'000, 'a') + "\r\n\r\n"},
      {"invalid JSON", request_line + "Content-Length: 9\r\n\r\n{not json"},
      {"Content-Length shorter than the body", request_line + "Content-Length: 5\r\n\r\n{\"prompt\": [1, 2], \"max_tokens\": 2}"},
      {"Content-Length of 100 GB", request_line + "Content-Length: 100000000000\r\n\r\n{"},
      {"negative Content-Length", request_line + "Content-Length: -5\r\n\r\n{"},
      {"JSON nested a million deep", request_line + "Content-Length: " + std::to_string(nested.size() + 12) +
                                         "\r\n\r\n{\"prompt\": " + nested + "}"},
      {"a request line of 100 kB", "GET /" + std::string(100'000, 'p') + " HTTP/1.1\r\n\r\n"},
  };
  for (int round = 0; round < 3; ++round) {
    for (const auto& [what, bytes] : malformed) {
      RawClient c(port);
      ASSERT_TRUE(c.connected());
      c.send_bytes(bytes);
      const std::string status = c.status_line(10s);
      EXPECT_TRUE(std::regex_match(status, std::regex("HTTP/1\\.1 4[0-9][0-9] .*"))) << what << ": '" << status << "'";
    }
  }

  for (std::thread& t : slow_clients) t.join();
  const double abuse_end_s = seconds(Clock::now() - soak_start);
  load.join();
  soaking = false;
  sampler.join();
  for (const auto& [what, kept] : slow)
    EXPECT_LT(kept, kDropWithin) << what << ": the server kept the connection " << seconds(kept) << " s";

  // Every soak request answered 200, none failed on the socket, while all of the above went on.
  ASSERT_GT(soak.requests, 0) << soak.output;
  EXPECT_EQ(soak.socket_errors, 0) << soak.output;
  EXPECT_EQ(soak.statuses, (std::map<int, long long>{{200, soak.requests}})) << soak.output;

  // Beyond the queue: 503, and nothing else but 200.
  WrkRun overload = wrk(port, kOverloadConnections, 3);
  EXPECT_GT(overload.statuses[503], 0) << overload.output;
  EXPECT_GT(overload.statuses[200], 0) << overload.output;
  EXPECT_EQ(overload.statuses[200] + overload.statuses[503], overload.requests) << overload.output;
  EXPECT_EQ(overload.socket_errors, 0) << overload.output;

  // Still serving, memory back where it was, and a clean exit that reports the dropped clients.
  ASSERT_TRUE(drained(port, 120s)) << "the overload's requests did not finish";
  const WrkRun after = wrk(port, kSteadyConnections, 2);
  EXPECT_EQ(after.statuses, (std::map<int, long long>{{200, after.requests}})) << after.output;
  std::this_thread::sleep_for(1s);  // the watchdog hands freed memory back within a second
  const long rss_after = rss_kb(server.pid());
  EXPECT_LE(rss_after - rss_before, kRssGrowthBoundKb) << "RSS before " << rss_before << " kB, after " << rss_after;
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(30s), 0) << server.log();
  std::smatch cut;
  const std::string log = server.log();
  ASSERT_TRUE(std::regex_search(log, cut, std::regex("stopped \\(([0-9]+) connections cut"))) << log;
  EXPECT_GE(std::stoi(cut[1]), static_cast<int>(slow.size()) - 1) << log;  // the stalled body may end by httplib's own read timeout

  long peak = 0, calm_min = 0, calm_max = 0;  // calm: after the slow clients were dropped
  std::string timeline;                        // MB at each tenth of the soak
  int tenth = 0;
  for (const auto& [t, kb] : rss_samples) {
    peak = std::max(peak, kb);
    if (t > abuse_end_s + 1) {
      calm_min = calm_min ? std::min(calm_min, kb) : kb;
      calm_max = std::max(calm_max, kb);
    }
    if (tenth <= 10 && t >= tenth * soak_s / 10.0) {
      timeline += std::to_string(kb / 1024) + " ";
      ++tenth;
    }
  }
  std::printf("soak: %d s, %lld requests (%.0f/s), %lld non-200, socket errors %lld; overload: %lld x 200, %lld x 503\n",
              soak_s, soak.requests, soak.requests_per_second, soak.requests - soak.statuses[200], soak.socket_errors,
              overload.statuses[200], overload.statuses[503]);
  std::printf("soak: RSS %ld kB after warm-up, %ld kB peak (the header flood), %ld kB at the end\n", rss_before, peak,
              rss_after);
  if (calm_max > 0)
    std::printf("soak: RSS %ld..%ld kB from %.0f s, once the slow and malformed clients were done\n", calm_min, calm_max,
                abuse_end_s + 1);
  std::printf("soak: RSS (MB) at each tenth of the soak: %s\n", timeline.c_str());
  for (const auto& [what, kept] : slow) std::printf("soak: %s: dropped after %.1f s\n", what.c_str(), seconds(kept));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace aidc
