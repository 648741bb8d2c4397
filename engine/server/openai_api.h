#pragma once
// The OpenAI-compatible request and response bodies: /v1/completions and /v1/chat/completions
// requests checked field by field (an ApiError names the field and what it expected), and the
// response, stream-chunk and error bodies.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/batch.h"
#include "server/chat_template.h"
#include "server/engine_loop.h"
#include "tokenizer/tokenizer.h"

namespace aidc {

// An answer other than 200: the HTTP status, OpenAI's error type and the message.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string type, const std::string& message)
      : std::runtime_error(message), status(status), type(std::move(type)) {}
  int status;
  std::string type;
};

ApiError bad_request(const std::string& message);
// {"error":{"message","type","code"}}; code: the HTTP status.
nlohmann::json error_body(const ApiError& e);

// What the server serves, as requests are checked against it.
struct ServedModel {
  std::string name;
  const Tokenizer* tokenizer = nullptr;  // null: token-id prompts only
  const ChatTemplate* chat = nullptr;    // null exactly when tokenizer is
  int max_context = 0;
};

enum class Api { Completions, Chat };

struct ApiRequest {
  Api api = Api::Completions;
  std::vector<int> prompt;
  int max_tokens = 16;
  SamplingParams sampling;
  bool has_seed = false;
  std::vector<std::string> stop;
  std::vector<int> stop_token_ids;
  bool ignore_eos = false;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with the usage
};

// Throws ApiError (400, or 404 for a model this server does not serve).
ApiRequest parse_request(Api api, const std::string& body, const ServedModel& model);

// The text a client sees for a request's tokens: decoded incrementally and cut before the first
// stop string. While tokens still come, text that may yet become a stop string is held back.
class OutputText {
 public:
  OutputText(const Tokenizer* tokenizer, std::vector<std::string> stop);
  void add(int token);
  // The text not yet taken that can be sent now (all of it once `final`).
  std::string take(bool final);

 private:
  const Tokenizer* tokenizer_;
  std::optional<Tokenizer::Stream> stream_;
  std::vector<std::string> stop_;
  std::size_t hold_ = 0;  // longest stop string - 1
  std::string text_;
  std::size_t sent_ = 0;
};

// One answer's identity and its token counts.
struct Completion {
  Api api = Api::Completions;
  std::string id;  // cmpl-N / chatcmpl-N
  std::int64_t created = 0;
  std::string model;
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

const char* finish_reason(Ending ending);  // "stop", "length"
nlohmann::json usage(const Completion& c);
// The whole non-streamed answer.
nlohmann::json response_body(const Completion& c, const std::string& text, const std::vector<int>& tokens, Ending ending);
// One stream chunk: `text` and `tokens` new since the last; `ending` Running until the last.
nlohmann::json stream_chunk(const Completion& c, const std::string& text, const std::vector<int>& tokens, Ending ending,
                            bool first);
// The chunk with the usage and no choices (stream_options.include_usage).
nlohmann::json usage_chunk(const Completion& c);
// JSON text; invalid UTF-8 (never from the tokenizer, which substitutes U+FFFD) is replaced, not thrown on.
std::string to_text(const nlohmann::json& body);
std::string server_sent_event(const nlohmann::json& data);

}  // namespace aidc
