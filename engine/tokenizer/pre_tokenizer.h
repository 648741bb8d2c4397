#pragma once
// The pre-tokenizer of a byte-level BPE tokenizer.json: cuts text into the words BPE merges within.
// Supported: a "Sequence" of "Split" steps (regex or literal pattern, any behavior, invert) ending in
// "ByteLevel" (add_prefix_space, use_regex), or "ByteLevel" alone. The Split regexes are Oniguruma
// patterns for the Rust `tokenizers`; PCRE2 in UTF + UCP mode reads them the same way (\p{L}, \s, (?i:),
// lookahead) and the matches are iterated as Oniguruma's find_iter does.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/json_field.h"

struct pcre2_real_code_8;

namespace aidc {

class PcreRegex {
 public:
  // `literal`: the pattern is plain text. Throws EngineError naming `where` when it does not compile.
  PcreRegex(const std::string& pattern, bool literal, const std::string& where);
  // The [begin, end) byte ranges of the successive matches in `text` (valid UTF-8, already checked).
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  std::shared_ptr<pcre2_real_code_8> code_;  // null for the empty literal, which matches nothing
};

class PreTokenizer {
 public:
  // `spec` is tokenizer.json's "pre_tokenizer".
  static PreTokenizer from_json(const JsonField& spec);

  // Appends the words of `text` (valid UTF-8) to `words`, as raw bytes (the byte-level characters are
  // the BPE model's business). Empty words are dropped.
  void split(std::string_view text, std::vector<std::string>& words) const;

 private:
  enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
  struct Split {
    PcreRegex pattern;
    Behavior behavior;
    bool invert;
  };
  static Split parse_split(const JsonField& step);
  static void apply(const Split& split, std::string_view piece, std::vector<std::string_view>& out);

  std::vector<Split> splits_;
  bool add_prefix_space_ = false;
  std::optional<PcreRegex> byte_level_regex_;  // ByteLevel's own GPT-2 regex when use_regex
};

}  // namespace aidc
