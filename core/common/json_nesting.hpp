#pragma once
// How deeply JSON input may nest: the one limit for every JSON aidc reads (config.json, safetensors
// headers and tokenizer.json through core/model/json; HTTP bodies and answers through
// core/common/json_parse.hpp). Parsers, copies, comparisons and dumps recurse once per level, so a
// body of 100 000 '[' overflows a thread's stack; no real input nests more than about 8.
#include <cstddef>
#include <optional>
#include <string_view>

namespace aidc {

inline constexpr int kMaxJsonNesting = 64;

// Offset of the '[' or '{' that opens level kMaxJsonNesting + 1, counted outside strings as a JSON
// lexer counts them; nullopt when the text never nests that deep. Malformed text is left to the parser.
inline std::optional<std::size_t> json_nesting_overflow(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // an escaped quote does not end the string
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonNesting) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

}  // namespace aidc
