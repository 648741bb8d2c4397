#pragma once
// tokenizer.json's "added_tokens" (special tokens such as "<｜end▁of▁sentence｜>" among them): found in
// the text before pre-tokenisation and emitted whole, as the `tokenizers` crate's AddedVocabulary does.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace aidc {

struct AddedToken {
  int id;
  std::string content;
  bool single_word, lstrip, rstrip, normalized, special;
};

// Cuts text at the occurrences of a set of added tokens: leftmost first, and of those starting at the
// same byte the longest (Aho-Corasick's LeftmostLongest), honouring single_word, lstrip and rstrip.
class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // The tokens of `tokens` whose `normalized` flag equals `normalized` (those are matched on the
  // normalized text, the others on the raw text).
  AddedTokenMatcher(const std::vector<AddedToken>& tokens, bool normalized);

  struct Segment {
    size_t begin, end;
    const AddedToken* token;  // nullptr: plain text between tokens
  };
  std::vector<Segment> split(std::string_view text) const;

 private:
  const AddedToken* longest_at(std::string_view text, size_t begin) const;

  // A byte trie: node 0 is the root; an edge is keyed by (node << 8 | byte).
  std::unordered_map<uint64_t, int> edges_;
  std::vector<const AddedToken*> ends_;  // per node: the token spelled by the path to it, if any
};

}  // namespace aidc
