// The server's request path on arbitrary bytes: a POST body for /v1/completions or /v1/chat/completions
// (the first byte picks which) through parse_request, as `aidc-engine serve` runs it for every request,
// with the test tokenizer and its DeepSeek chat template. Each body either becomes a request within the
// server's rules or is refused with a 4xx ApiError (or the tokenizer's EngineError, which the server
// answers 400) whose JSON error body is valid; anything else is a finding.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "core/common/json_nesting.hpp"
#include "core/common/json_parse.hpp"
#include "server/chat_template.h"
#include "server/openai_api.h"
#include "tokenizer/tokenizer.h"

namespace {

constexpr int kMaxContext = 2048;

struct Served {
  aidc::Tokenizer tokenizer = aidc::Tokenizer::load(AIDC_FUZZ_TOKENIZER_DIR "/tokenizer.json");
  aidc::ChatTemplate chat{tokenizer.chat_template(), tokenizer.decode({*tokenizer.bos_id()}, false),
                          tokenizer.decode({*tokenizer.eos_id()}, false)};
  aidc::ServedModel model{"model", &tokenizer, &chat, kMaxContext};
};

// How deeply a parsed value nests, without recursing.
int depth(const nlohmann::json& root) {
  int deepest = 0;
  std::vector<std::pair<const nlohmann::json*, int>> todo = {{&root, 0}};
  while (!todo.empty()) {
    const auto [v, d] = todo.back();
    todo.pop_back();
    if (!v->is_structured()) continue;
    deepest = std::max(deepest, d + 1);
    for (const auto& child : *v) todo.emplace_back(&child, d + 1);
  }
  return deepest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Served served;
  if (size == 0) return 0;
  const aidc::Api api = data[0] & 1 ? aidc::Api::Chat : aidc::Api::Completions;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);

  // The nesting limit holds for whatever parses (the server's parse goes through the same function).
  const nlohmann::json parsed = aidc::parse_json(body, false);
  if (!parsed.is_discarded() && depth(parsed) > aidc::kMaxJsonNesting) std::abort();

  try {
    const aidc::ApiRequest r = aidc::parse_request(api, body, served.model);
    if (r.max_tokens < 1 || !(r.sampling.top_p > 0 && r.sampling.top_p <= 1) ||
        !(r.sampling.temperature >= 0 && std::isfinite(r.sampling.temperature)))
      std::abort();
    for (int id : r.prompt)
      if (id < 0) std::abort();
    for (const std::string& stop : r.stop)
      if (stop.empty()) std::abort();
  } catch (const aidc::ApiError& e) {
    if (e.status != 400 && e.status != 404) std::abort();
    // The error body goes out as JSON text: it must parse back (invalid UTF-8 from the body replaced).
    if (aidc::parse_json(aidc::to_text(aidc::error_body(e)), false).is_discarded()) std::abort();
  } catch (const aidc::EngineError&) {  // the tokenizer refusing text (invalid UTF-8): the server answers 400
  }
  return 0;
}
