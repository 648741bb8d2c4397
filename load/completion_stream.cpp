#include "load/completion_stream.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/common/json_parse.hpp"

namespace aidc::load {
namespace {

// Server-sent events: `data: ...` lines, events separated by a blank line (LF or CRLF).
class EventParser {
 public:
  explicit EventParser(StreamResult& result, const CompletionStream::Clock& clock) : r_(result), clock_(clock) {}

  bool feed(const char* data, std::size_t size) {
    buffer_.append(data, size);
    std::size_t start = 0;
    while (true) {
      const std::size_t lf = buffer_.find("\n\n", start), crlf = buffer_.find("\r\n\r\n", start);
      const std::size_t end = std::min(lf, crlf);
      if (end == std::string::npos) break;
      if (!event(buffer_.substr(start, end - start))) return false;
      start = end + (end == lf ? 2 : 4);
    }
    buffer_.erase(0, start);
    return true;
  }

  bool done() const { return done_ && finish_reason_; }

 private:
  bool event(const std::string& text) {
    std::string payload;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t eol = text.find('\n', pos);
      if (eol == std::string::npos) eol = text.size();
      std::string line = text.substr(pos, eol - pos);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("data:", 0) == 0) payload += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
      pos = eol + 1;
    }
    if (payload.empty()) return true;  // a comment or keep-alive
    ++r_.events;
    if (payload == "[DONE]") {
      done_ = true;
      return true;
    }
    const auto chunk = parse_json(payload, false);
    if (chunk.is_discarded() || !chunk.is_object()) return fail("malformed event: " + payload.substr(0, 120));
    if (chunk.contains("error")) return fail("error event: " + chunk["error"].dump().substr(0, 200));
    const auto choices = chunk.find("choices");
    if (choices != chunk.end() && choices->is_array() && !choices->empty()) {
      const double now = clock_();
      if (r_.token_times.empty()) r_.first_token_s = now;
      r_.token_times.push_back(now);
      const auto& reason = (*choices)[0].value("finish_reason", nlohmann::json());
      if (!reason.is_null()) finish_reason_ = true;
    }
    const auto usage = chunk.find("usage");
    if (usage != chunk.end() && usage->is_object()) r_.completion_tokens = usage->value("completion_tokens", -1);
    return true;
  }

  bool fail(const std::string& why) {
    r_.error = why;
    return false;
  }

  StreamResult& r_;
  const CompletionStream::Clock& clock_;
  std::string buffer_;
  bool done_ = false, finish_reason_ = false;
};

}  // namespace

CompletionStream::CompletionStream(const std::string& url, Clock clock) : client_(url), clock_(std::move(clock)) {
  if (!client_.is_valid()) throw std::invalid_argument("not an http:// URL: " + url);
  client_.set_keep_alive(true);
  client_.set_tcp_nodelay(true);  // a request goes out at once, not after the last one's ACK (server.cpp)
  client_.set_connection_timeout(5);
  client_.set_read_timeout(24 * 3600);  // the run's own deadline cancels a request that takes too long
}

StreamResult CompletionStream::post(const std::string& body, std::uint64_t session) {
  StreamResult result;
  EventParser parser(result, clock_);
  std::string error_body;
  httplib::Request request;
  request.method = "POST";
  request.path = "/v1/completions";
  request.body = body;
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}, {"X-Session-Id", std::to_string(session)}};
  request.response_handler = [&](const httplib::Response& response) {
    result.http_status = response.status;
    if (response.has_header("X-Aidc-Replica")) result.replica = std::atoi(response.get_header_value("X-Aidc-Replica").c_str());
    return true;
  };
  request.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
    if (result.http_status != 200) {
      if (error_body.size() < 300) error_body.append(data, std::min<std::size_t>(size, 300));
      return true;
    }
    return parser.feed(data, size);
  };
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  const bool sent = client_.send(request, response, error);
  result.finish_s = clock_();
  if (result.http_status != 200) {
    result.error = result.http_status == 0 ? "no response: " + httplib::to_string(error)
                                           : "HTTP " + std::to_string(result.http_status) + ": " + error_body.substr(0, 300);
  } else if (!sent && result.error.empty()) {
    result.error = "stream cut after " + std::to_string(result.token_times.size()) + " tokens: " + httplib::to_string(error);
  } else if (sent && !parser.done()) {
    result.error = "stream ended without a finish_reason and [DONE]";
  }
  result.finished = sent && result.error.empty();
  return result;
}

std::string served_model(const std::string& url) {
  httplib::Client client(url);
  if (!client.is_valid()) throw std::invalid_argument("not an http:// URL: " + url);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  const auto response = client.Get("/v1/models");
  if (!response) throw std::runtime_error("GET " + url + "/v1/models: " + httplib::to_string(response.error()));
  if (response->status != 200) throw std::runtime_error("GET " + url + "/v1/models: HTTP " + std::to_string(response->status));
  const auto models = parse_json(response->body, false);
  if (models.is_discarded() || !models.contains("data") || !models["data"].is_array() || models["data"].empty() ||
      !models["data"][0].contains("id") || !models["data"][0]["id"].is_string())
    throw std::runtime_error("GET " + url + "/v1/models: no model id in the answer");
  return models["data"][0]["id"].get<std::string>();
}

}  // namespace aidc::load
