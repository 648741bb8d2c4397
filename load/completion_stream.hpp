#pragma once
// One streamed `POST /v1/completions` to an OpenAI-compatible server (aidc-engine serve, vLLM,
// SGLang), timed on the caller's clock: the first token and every server-sent event after it.
#include <httplib.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace aidc::load {

struct StreamResult {
  int http_status = 0;    // 0: no HTTP response at all
  bool finished = false;  // a finish_reason and `data: [DONE]` arrived: the answer is whole
  std::string error;      // why not, when not finished
  double first_token_s = std::numeric_limits<double>::quiet_NaN();
  double finish_s = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> token_times;  // each event that carried a token, the first one included
  int completion_tokens = -1;       // from the final `usage` when the server sends one
  int replica = -1;                 // the X-Aidc-Replica response header (aidc haproxy-config sets it)
  long long events = 0;             // server-sent events received
};

// One keep-alive connection; one request at a time. `cancel` may be called from another thread.
class CompletionStream {
 public:
  using Clock = std::function<double()>;
  CompletionStream(const std::string& url, Clock clock);
  // `session` goes in X-Session-Id, the key a consistent-hash balancer routes on.
  StreamResult post(const std::string& body, std::uint64_t session);
  void cancel() { client_.stop(); }

 private:
  httplib::Client client_;
  Clock clock_;
};

// GET /v1/models: the first model id the server serves; throws std::runtime_error when it cannot tell.
std::string served_model(const std::string& url);

}  // namespace aidc::load
