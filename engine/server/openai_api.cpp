#include "server/openai_api.h"

#include <algorithm>
#include <limits>

#include "core/common/json_parse.hpp"

namespace aidc {
namespace {

using nlohmann::json;

// A value as an error message quotes it: scalars as JSON, shortened; arrays and objects by kind
// (dumping them is recursive: a deeply nested body would overflow the stack).
std::string shown(const json& v) {
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  constexpr std::size_t kLongest = 80;
  const std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return text.size() <= kLongest ? text : text.substr(0, kLongest) + "...";
}

const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

long long integer(const json& v, const std::string& name, long long min, long long max) {
  if (!v.is_number_integer()) throw bad_request("field '" + name + "' must be an integer, got " + shown(v));
  const long long x = v.get<long long>();
  if (v.is_number_unsigned() && v.get<unsigned long long>() > static_cast<unsigned long long>(max))
    throw bad_request("field '" + name + "' must be at most " + std::to_string(max) + ", got " + shown(v));
  if (x < min || x > max)
    throw bad_request("field '" + name + "' must be from " + std::to_string(min) + " to " + std::to_string(max) +
                      ", got " + shown(v));
  return x;
}

double number(const json& v, const std::string& name) {
  if (!v.is_number()) throw bad_request("field '" + name + "' must be a number, got " + shown(v));
  return v.get<double>();
}

bool boolean(const json& v, const std::string& name) {
  if (!v.is_boolean()) throw bad_request("field '" + name + "' must be true or false, got " + shown(v));
  return v.get<bool>();
}

const std::string& string(const json& v, const std::string& name) {
  if (!v.is_string()) throw bad_request("field '" + name + "' must be a string, got " + shown(v));
  return v.get_ref<const std::string&>();
}

std::vector<int> token_ids(const json& v, const std::string& name) {
  std::vector<int> ids;
  for (std::size_t i = 0; i < v.size(); ++i)
    ids.push_back(static_cast<int>(
        integer(v[i], name + "[" + std::to_string(i) + "]", 0, std::numeric_limits<int>::max())));
  return ids;
}

const Tokenizer& tokenizer_for_text(const ServedModel& model, const std::string& what) {
  if (!model.tokenizer)
    throw bad_request(what + " needs a tokenizer and this server has none (no tokenizer.json; start it with "
                             "--tokenizer PATH): send the prompt as an array of token ids");
  return *model.tokenizer;
}

std::vector<int> completion_prompt(const json& prompt, const ServedModel& model) {
  const std::string one = "field 'prompt' must be a string, an array of token ids, or a list holding one of those";
  if (prompt.is_string())
    return tokenizer_for_text(model, "a text prompt").encode(prompt.get_ref<const std::string&>(), true);
  if (!prompt.is_array()) throw bad_request(one + ", got " + shown(prompt));
  if (prompt.size() == 1 && (prompt[0].is_string() || prompt[0].is_array())) {
    if (prompt[0].is_string()) return completion_prompt(prompt[0], model);
    return token_ids(prompt[0], "prompt[0]");
  }
  if (!prompt.empty() && !prompt[0].is_number())
    throw bad_request("one prompt per request: " + one);
  return token_ids(prompt, "prompt");
}

std::string message_content(const json& content, const std::string& name) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw bad_request("field '" + name + "' must be a string or an array of text parts");
  std::string text;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const std::string part = name + "[" + std::to_string(i) + "]";
    const json* type = content[i].is_object() ? field(content[i], "type") : nullptr;
    if (!type || string(*type, part + ".type") != "text")
      throw bad_request("field '" + part + "' must be a text part ({\"type\": \"text\", \"text\": ...})");
    const json* t = field(content[i], "text");
    if (!t) throw bad_request("field '" + part + ".text' is missing");
    text += string(*t, part + ".text");
  }
  return text;
}

std::vector<int> chat_prompt(const json& messages, const ServedModel& model) {
  const Tokenizer& tokenizer = tokenizer_for_text(model, "chat");
  if (!model.chat->refusal().empty()) throw bad_request(model.chat->refusal());
  if (!messages.is_array() || messages.empty()) throw bad_request("field 'messages' must be a non-empty array");
  std::vector<ChatMessage> list;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string name = "messages[" + std::to_string(i) + "]";
    if (!messages[i].is_object()) throw bad_request("field '" + name + "' must be an object");
    const json* role = field(messages[i], "role");
    const json* content = field(messages[i], "content");
    if (!role || !content) throw bad_request("field '" + name + "' needs 'role' and 'content'");
    ChatMessage m{string(*role, name + ".role"), message_content(*content, name + ".content")};
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
      throw bad_request("field '" + name + ".role' must be system, user or assistant, got '" + m.role + "'");
    list.push_back(std::move(m));
  }
  return tokenizer.encode(model.chat->render(list), false);  // the rendered template holds bos itself
}

// vLLM's `skip_special_tokens` default: the eos and other special tokens add no text.
std::string decode_piece(Tokenizer::Stream& stream, const Tokenizer& tokenizer, int token) {
  return token < tokenizer.vocab_size() ? stream.next(token) : std::string();  // ids past the tokenizer: no text
}

}  // namespace

ApiError bad_request(const std::string& message) { return ApiError(400, "invalid_request_error", message); }

json error_body(const ApiError& e) { return {{"error", {{"message", e.what()}, {"type", e.type}, {"code", e.status}}}}; }

ApiRequest parse_request(Api api, const std::string& body, const ServedModel& model) {
  json j;
  try {
    j = parse_json(body);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number past double (1e400)
    throw bad_request(std::string("malformed JSON: ") + e.what());
  }
  if (!j.is_object()) throw bad_request("the request body must be a JSON object");
  if (const json* m = field(j, "model"); m && string(*m, "model") != model.name)
    throw ApiError(404, "not_found_error", "the model " + shown(*m) + " does not exist; this server serves '" +
                                               model.name + "'");
  ApiRequest r;
  r.api = api;
  if (api == Api::Completions) {
    const json* prompt = field(j, "prompt");
    if (!prompt) throw bad_request("field 'prompt' is missing");
    r.prompt = completion_prompt(*prompt, model);
  } else {
    const json* messages = field(j, "messages");
    if (!messages) throw bad_request("field 'messages' is missing");
    r.prompt = chat_prompt(*messages, model);
  }
  const int context = model.max_context;
  // OpenAI's defaults: 16 tokens for completions; for chat, as many as the context leaves (as vLLM).
  r.max_tokens = api == Api::Completions ? 16 : std::max(1, context - static_cast<int>(r.prompt.size()));
  for (const char* name : {"max_tokens", "max_completion_tokens"})
    if (const json* v = field(j, name)) r.max_tokens = static_cast<int>(integer(*v, name, 1, std::numeric_limits<int>::max()));
  if (const json* v = field(j, "temperature")) {
    // Sampling divides by it as a float: beyond the float range it became infinity (fuzz_http).
    const double temperature = number(*v, "temperature");
    if (!(temperature >= 0 && temperature <= std::numeric_limits<float>::max()))
      throw bad_request("field 'temperature' must be from 0 to " + std::to_string(std::numeric_limits<float>::max()) +
                        ", got " + shown(*v));
    r.sampling.temperature = static_cast<float>(temperature);
  }
  if (const json* v = field(j, "top_p")) {
    r.sampling.top_p = static_cast<float>(number(*v, "top_p"));
    if (!(r.sampling.top_p > 0 && r.sampling.top_p <= 1)) throw bad_request("field 'top_p' must be in (0, 1], got " + shown(*v));
  }
  if (const json* v = field(j, "seed")) {
    r.sampling.seed = static_cast<std::uint64_t>(integer(*v, "seed", std::numeric_limits<long long>::min(),
                                                         std::numeric_limits<long long>::max()));
    r.has_seed = true;
  }
  if (const json* v = field(j, "stop")) {
    if (v->is_string()) r.stop.push_back(v->get<std::string>());
    else if (v->is_array())
      for (std::size_t i = 0; i < v->size(); ++i) r.stop.push_back(string((*v)[i], "stop[" + std::to_string(i) + "]"));
    else throw bad_request("field 'stop' must be a string or an array of strings, got " + shown(*v));
    if (std::any_of(r.stop.begin(), r.stop.end(), [](const std::string& s) { return s.empty(); }))
      throw bad_request("field 'stop' holds an empty string");
    if (!r.stop.empty()) tokenizer_for_text(model, "field 'stop' (stop strings)");
  }
  if (const json* v = field(j, "stop_token_ids")) {
    if (!v->is_array()) throw bad_request("field 'stop_token_ids' must be an array of token ids, got " + shown(*v));
    r.stop_token_ids = token_ids(*v, "stop_token_ids");
  }
  if (const json* v = field(j, "ignore_eos")) r.ignore_eos = boolean(*v, "ignore_eos");
  if (const json* v = field(j, "stream")) r.stream = boolean(*v, "stream");
  if (const json* v = field(j, "stream_options")) {
    if (!v->is_object()) throw bad_request("field 'stream_options' must be an object, got " + shown(*v));
    if (const json* u = field(*v, "include_usage")) r.include_usage = boolean(*u, "stream_options.include_usage");
  }
  if (const json* v = field(j, "n"); v && integer(*v, "n", 1, std::numeric_limits<int>::max()) != 1)
    throw bad_request("field 'n': one choice per request is supported");
  if (const json* v = field(j, "best_of"); v && integer(*v, "best_of", 1, std::numeric_limits<int>::max()) != 1)
    throw bad_request("field 'best_of': one candidate per request is supported");
  if (const json* v = field(j, "echo"); v && boolean(*v, "echo")) throw bad_request("field 'echo' is not supported");
  if (const json* v = field(j, "logprobs"); v && !(v->is_boolean() && !v->get<bool>()))
    throw bad_request("field 'logprobs' is not supported");
  return r;
}

OutputText::OutputText(const Tokenizer* tokenizer, std::vector<std::string> stop)
    : tokenizer_(tokenizer), stop_(std::move(stop)) {
  if (tokenizer_) stream_.emplace(tokenizer_->stream());
  for (const std::string& s : stop_) hold_ = std::max(hold_, s.size() - 1);
}

void OutputText::add(int token) {
  if (stream_) text_ += decode_piece(*stream_, *tokenizer_, token);
}

std::string OutputText::take(bool final) {
  if (final && stream_) text_ += stream_->flush();
  std::size_t end = final ? text_.size() : text_.size() - std::min(hold_, text_.size());
  while (end > sent_ && end < text_.size() && (static_cast<unsigned char>(text_[end]) & 0xC0) == 0x80)
    --end;  // never split a character (the hold-back counts bytes)
  for (const std::string& s : stop_) end = std::min(end, text_.find(s));
  if (end <= sent_) return {};
  std::string out = text_.substr(sent_, end - sent_);
  sent_ = end;
  return out;
}

const char* finish_reason(Ending ending) { return ending == Ending::Length ? "length" : "stop"; }

json usage(const Completion& c) {
  return {{"prompt_tokens", c.prompt_tokens},
          {"completion_tokens", c.completion_tokens},
          {"total_tokens", c.prompt_tokens + c.completion_tokens}};
}

namespace {

json choice(const Completion& c, const std::string& text, const std::vector<int>& tokens, Ending ending, bool streamed,
            bool first) {
  json ch = {{"index", 0}, {"token_ids", tokens}, {"logprobs", nullptr}};
  ch["finish_reason"] = ending == Ending::Running ? json(nullptr) : json(finish_reason(ending));
  if (c.api == Api::Completions) {
    ch["text"] = text;
  } else {
    json message = {{"content", text}};
    if (!streamed || first) message["role"] = "assistant";
    ch[streamed ? "delta" : "message"] = message;
  }
  return ch;
}

json envelope(const Completion& c, bool streamed) {
  const char* object = c.api == Api::Completions ? "text_completion" : streamed ? "chat.completion.chunk" : "chat.completion";
  return {{"id", c.id}, {"object", object}, {"created", c.created}, {"model", c.model}};
}

}  // namespace

json response_body(const Completion& c, const std::string& text, const std::vector<int>& tokens, Ending ending) {
  json body = envelope(c, false);
  body["choices"] = json::array({choice(c, text, tokens, ending, false, true)});
  body["usage"] = usage(c);
  return body;
}

json stream_chunk(const Completion& c, const std::string& text, const std::vector<int>& tokens, Ending ending, bool first) {
  json body = envelope(c, true);
  body["choices"] = json::array({choice(c, text, tokens, ending, true, first)});
  return body;
}

json usage_chunk(const Completion& c) {
  json body = envelope(c, true);
  body["choices"] = json::array();
  body["usage"] = usage(c);
  return body;
}

std::string to_text(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string server_sent_event(const json& data) { return "data: " + to_text(data) + "\n\n"; }

}  // namespace aidc
