#pragma once
// Byte-level BPE from a Hugging Face tokenizer.json (the format DeepSeek V2/V3/R1, Qwen2 and Llama 3
// ship), giving the same ids and text as the Python `tokenizers` package:
//   model      "BPE": vocab, merges ("a b" strings or [a, b] pairs), unk_token, fuse_unk, byte_fallback,
//              ignore_merges (dropout and subword prefixes/suffixes are refused);
//   normalizer null, "NFC" (when built with ICU) or a "Sequence" of those;
//   pre_tokenizer  "Split" regex/literal steps ending in "ByteLevel" (see pre_tokenizer.h);
//   decoder    "ByteLevel";
//   added_tokens   matched in the text before pre-tokenisation (longest first, lstrip/rstrip/single_word).
// The post-processor, truncation and padding are not applied: encode's add_special prepends the bos
// token, and the context limit is the caller's check.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aidc {

class Tokenizer {
  struct Impl;

 public:
  // Reads tokenizer.json and, when present beside it, tokenizer_config.json (bos_token, eos_token,
  // chat_template; chat_template.jinja beside it when the config has none). Throws EngineError naming
  // the file and field.
  static Tokenizer load(const std::string& tokenizer_json_path);

  // Throws EngineError when `text` is not valid UTF-8. add_special: the bos token first, where known.
  std::vector<int> encode(std::string_view text, bool add_special = false) const;
  // Invalid UTF-8 in the decoded bytes becomes U+FFFD. Throws EngineError on an id with no token.
  std::string decode(const std::vector<int>& ids, bool skip_special = true) const;

  // Incremental detokenisation for streaming: a token may end in the middle of a UTF-8 character that
  // a later token completes, so next() holds such bytes back. The concatenation of every next() and
  // the final flush() equals decode() of all the ids.
  class Stream {
   public:
    std::string next(int token_id);
    std::string flush();

   private:
    friend class Tokenizer;
    Stream(std::shared_ptr<const Impl> impl, bool skip_special) : impl_(std::move(impl)), skip_special_(skip_special) {}
    std::shared_ptr<const Impl> impl_;
    bool skip_special_;
    std::string pending_;  // bytes of an incomplete character
  };
  Stream stream(bool skip_special = true) const;

  std::optional<int> bos_id() const;
  std::optional<int> eos_id() const;
  const std::string& chat_template() const;  // empty when none
  int vocab_size() const;                     // one past the highest id of the vocabulary and added tokens

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace aidc
