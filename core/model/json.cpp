#include "core/model/json.hpp"

#include <cstdlib>

#include "core/common/error.hpp"
#include "core/common/json_nesting.hpp"

namespace aidc {

class JsonParser {
 public:
  JsonParser(const std::string& text, const std::string& source) : s_(text), source_(source) {}

  Json document() {
    if (const auto too_deep = json_nesting_overflow(s_)) {
      i_ = *too_deep;
      error("arrays and objects nested deeper than " + std::to_string(kMaxJsonNesting) + " levels");
    }
    Json value = parse_value();
    skip_space();
    if (i_ != s_.size()) error("unexpected text after the JSON value");
    return value;
  }

 private:
  const std::string& s_;
  const std::string& source_;
  size_t i_ = 0;

  [[noreturn]] void error(const std::string& what) const {
    size_t line = 1;
    for (size_t k = 0; k < i_ && k < s_.size(); ++k) line += s_[k] == '\n';
    fail(source_ + ": malformed JSON at line " + std::to_string(line) + " (byte " + std::to_string(i_) +
         "): " + what);
  }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  char peek() {
    skip_space();
    if (i_ >= s_.size()) error("unexpected end of input");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c) error(std::string("expected '") + c + "'");
    ++i_;
  }
  bool literal(const char* word) {
    size_t n = std::char_traits<char>::length(word);
    if (s_.compare(i_, n, word) != 0) return false;
    i_ += n;
    return true;
  }

  // Recursive: document() has bounded the depth first.
  Json parse_value() {
    Json v;
    char c = peek();
    if (c == '{') {
      v.kind_ = Json::Kind::Object;
      ++i_;
      if (peek() == '}') { ++i_; return v; }
      for (;;) {
        if (peek() != '"') error("expected a string key");
        std::string key = parse_string();
        expect(':');
        v.object_[key] = parse_value();
        if (peek() == ',') { ++i_; continue; }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind_ = Json::Kind::Array;
      ++i_;
      if (peek() == ']') { ++i_; return v; }
      for (;;) {
        v.array_.push_back(parse_value());
        if (peek() == ',') { ++i_; continue; }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind_ = Json::Kind::String;
      v.string_ = parse_string();
      return v;
    }
    if (literal("true")) { v.kind_ = Json::Kind::Bool; v.boolean_ = true; return v; }
    if (literal("false")) { v.kind_ = Json::Kind::Bool; return v; }
    if (literal("null")) return v;
    // Python's json writes these for non-finite floats.
    if (literal("NaN") || literal("Infinity") || literal("-Infinity")) error("non-finite number");
    const char* begin = s_.c_str() + i_;
    char* end = nullptr;
    v.number_ = std::strtod(begin, &end);
    if (end == begin) error("expected a value");
    v.kind_ = Json::Kind::Number;
    i_ += static_cast<size_t>(end - begin);
    return v;
  }

  unsigned parse_hex4() {
    if (i_ + 4 > s_.size()) error("short \\u escape");
    unsigned code = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      const int digit = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (digit < 0) error("bad hex digit in \\u escape");
      code = code * 16 + static_cast<unsigned>(digit);
    }
    return code;
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xc0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xe0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    }
  }

  std::string parse_string() {
    expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c != '\\') { out += c; continue; }
      if (i_ >= s_.size()) break;
      char e = s_[i_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          unsigned code = parse_hex4();
          // Characters beyond U+FFFF (emoji in tokenizer vocabularies) come as a surrogate pair.
          if (code >= 0xd800 && code <= 0xdbff) {
            if (s_.compare(i_, 2, "\\u") != 0) error("unpaired surrogate in \\u escape");
            i_ += 2;
            const unsigned low = parse_hex4();
            if (low < 0xdc00 || low > 0xdfff) error("unpaired surrogate in \\u escape");
            code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          } else if (code >= 0xdc00 && code <= 0xdfff) {
            error("unpaired surrogate in \\u escape");
          }
          append_utf8(out, code);
          break;
        }
        default: out += e;
      }
    }
    if (i_ >= s_.size()) error("unterminated string");
    ++i_;
    return out;
  }
};

Json Json::parse(const std::string& text, const std::string& source_name) {
  return JsonParser(text, source_name).document();
}

const Json* Json::find(const std::string& key) const {
  if (kind_ != Kind::Object) return nullptr;
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &it->second;
}

}  // namespace aidc
