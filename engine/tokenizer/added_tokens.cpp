#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/byte_level.h"
#include "tokenizer/pre_tokenizer.h"

namespace aidc {
namespace {

// Rust's char::is_whitespace: the Unicode White_Space property.
bool is_white_space(std::string_view ch) {
  static const std::vector<std::string_view> others = {
      "\u0085", "\u00a0", "\u1680", "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006",
      "\u2007", "\u2008", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"};
  if (ch.size() == 1) return ch[0] == ' ' || (ch[0] >= '\t' && ch[0] <= '\r');
  return std::find(others.begin(), others.end(), ch) != others.end();
}

// The `tokenizers` crate's \w test on the characters around a single_word token.
bool is_word_char(std::string_view ch) {
  static const PcreRegex word(R"(\w)", false, "added token word test");
  return !word.find_all(ch).empty();
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens, bool normalized) {
  ends_.push_back(nullptr);
  for (const AddedToken& token : tokens) {
    if (token.normalized != normalized || token.content.empty()) continue;
    int node = 0;
    for (unsigned char b : token.content) {
      auto [it, added] = edges_.try_emplace(static_cast<uint64_t>(node) << 8 | b, static_cast<int>(ends_.size()));
      if (added) ends_.push_back(nullptr);
      node = it->second;
    }
    ends_[node] = &token;  // a later token with the same content wins
  }
}

const AddedToken* AddedTokenMatcher::longest_at(std::string_view text, size_t begin) const {
  const AddedToken* longest = nullptr;
  int node = 0;
  for (size_t i = begin; i < text.size(); ++i) {
    auto it = edges_.find(static_cast<uint64_t>(node) << 8 | static_cast<unsigned char>(text[i]));
    if (it == edges_.end()) break;
    node = it->second;
    if (ends_[node]) longest = ends_[node];
  }
  return longest;
}

std::vector<AddedTokenMatcher::Segment> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<Segment> segments;
  size_t plain_from = 0;
  for (size_t i = 0; i < text.size() && !edges_.empty();) {
    const AddedToken* token = longest_at(text, i);
    if (!token) {
      ++i;
      continue;
    }
    size_t begin = i, end = i + token->content.size();
    i = end;
    if (token->single_word) {
      const size_t before = begin > 0 ? byte_level::char_start_before(text, begin) : 0;
      const bool word_before = begin > 0 && is_word_char(text.substr(before, begin - before));
      const bool word_after = end < text.size() && is_word_char(text.substr(end, byte_level::char_length_at(text, end)));
      if (word_before || word_after) continue;
    }
    if (token->lstrip) {
      while (begin > plain_from) {
        const size_t c = byte_level::char_start_before(text, begin);
        if (!is_white_space(text.substr(c, begin - c))) break;
        begin = c;
      }
    }
    if (token->rstrip) {
      while (end < text.size()) {
        const size_t length = byte_level::char_length_at(text, end);
        if (!is_white_space(text.substr(end, length))) break;
        end += length;
      }
      i = end;
    }
    if (plain_from < begin) segments.push_back({plain_from, begin, nullptr});
    segments.push_back({begin, end, token});
    plain_from = end;
  }
  if (plain_from < text.size()) segments.push_back({plain_from, text.size(), nullptr});
  return segments;
}

}  // namespace aidc
