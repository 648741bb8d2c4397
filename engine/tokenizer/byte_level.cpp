#include "tokenizer/byte_level.h"

#include <array>
#include <unordered_map>

namespace aidc::byte_level {
namespace {

struct Alphabet {
  std::array<std::string, 256> char_of;
  std::unordered_map<std::string, unsigned char> byte_of;

  Alphabet() {
    unsigned next_extra = 256;
    for (unsigned b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      const unsigned cp = printable ? b : next_extra++;  // below U+0800: one or two UTF-8 bytes
      char_of[b] = cp < 0x80 ? std::string(1, static_cast<char>(cp))
                             : std::string{static_cast<char>(0xc0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3f))};
      byte_of.emplace(char_of[b], static_cast<unsigned char>(b));
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet instance;
  return instance;
}

// Length of the UTF-8 sequence a lead byte starts, and the range its second byte must fall in
// (the narrower ranges exclude overlong forms, surrogates and code points above U+10FFFF).
struct Lead {
  int length;
  unsigned char second_min, second_max;
};

std::optional<Lead> lead_of(unsigned char b) {
  if (b >= 0xc2 && b <= 0xdf) return Lead{2, 0x80, 0xbf};
  if (b == 0xe0) return Lead{3, 0xa0, 0xbf};
  if (b == 0xed) return Lead{3, 0x80, 0x9f};
  if (b >= 0xe1 && b <= 0xef) return Lead{3, 0x80, 0xbf};
  if (b == 0xf0) return Lead{4, 0x90, 0xbf};
  if (b >= 0xf1 && b <= 0xf3) return Lead{4, 0x80, 0xbf};
  if (b == 0xf4) return Lead{4, 0x80, 0x8f};
  return std::nullopt;
}

// The UTF-8 sequence starting at bytes[i]: complete and valid, or its maximal valid prefix (at least
// one byte), which is `truncated` when it runs into the end of `bytes` rather than into a wrong byte.
struct Sequence {
  size_t length;
  bool complete, truncated;
};

Sequence sequence_at(std::string_view bytes, size_t i) {
  const auto b = static_cast<unsigned char>(bytes[i]);
  if (b < 0x80) return {1, true, false};
  const auto lead = lead_of(b);
  if (!lead) return {1, false, false};
  const auto expected = static_cast<size_t>(lead->length);
  size_t valid = 1;
  while (valid < expected && i + valid < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i + valid]);
    const bool ok = valid == 1 ? (c >= lead->second_min && c <= lead->second_max) : (c >= 0x80 && c <= 0xbf);
    if (!ok) break;
    ++valid;
  }
  return {valid, valid == expected, valid < expected && i + valid == bytes.size()};
}

constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

}  // namespace

const std::string& char_of(unsigned char byte) { return alphabet().char_of[byte]; }

std::optional<std::string> bytes_of(std::string_view token) {
  const auto& byte_of = alphabet().byte_of;
  std::string bytes;
  for (size_t i = 0; i < token.size();) {
    const size_t length = sequence_at(token, i).length;
    auto it = byte_of.find(std::string(token.substr(i, length)));
    if (it == byte_of.end()) return std::nullopt;
    bytes += static_cast<char>(it->second);
    i += length;
  }
  return bytes;
}

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += char_of(b);
  return out;
}

size_t char_length_at(std::string_view text, size_t i) {
  const auto b = static_cast<unsigned char>(text[i]);
  return b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
}

size_t char_start_before(std::string_view text, size_t end) {
  size_t i = end - 1;
  while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xc0) == 0x80) --i;
  return i;
}

size_t append_lossy_utf8(std::string& out, std::string_view bytes, bool final) {
  size_t i = 0;
  while (i < bytes.size()) {
    const Sequence s = sequence_at(bytes, i);
    if (s.complete) {
      out.append(bytes.substr(i, s.length));
    } else if (s.truncated && !final) {
      return i;  // incomplete so far, not wrong: wait for more bytes
    } else {
      out += kReplacement;
    }
    i += s.length;
  }
  return i;
}

}  // namespace aidc::byte_level
