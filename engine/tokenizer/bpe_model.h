#pragma once
// tokenizer.json's "model" of type "BPE" over the byte-level alphabet: each word starts as one symbol
// per byte and the mergeable adjacent pair of lowest rank is merged first (leftmost on ties), exactly
// as the `tokenizers` crate's Word::merge_all does.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/json_field.h"

namespace aidc {

class BpeModel {
 public:
  static BpeModel from_json(const JsonField& model);

  // Appends the ids of `word` (raw bytes, one pre-tokenizer word) to `ids`.
  void encode_word(std::string_view word, std::vector<int>& ids) const;

  // Token (as written in the file: byte-level characters) to id.
  const std::unordered_map<std::string, int>& vocab() const { return vocab_; }

 private:
  struct Merge {
    int rank, merged_id;
  };
  static uint64_t pair_key(int left, int right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  std::optional<Merge> merge_of(int left, int right) const;
  // The initial symbols of one byte: its token, or byte-fallback tokens, or nothing (unknown).
  bool add_byte_symbols(unsigned char byte, std::vector<int>& symbols) const;

  std::unordered_map<std::string, int> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::array<int, 256> byte_ids_{};  // -1: the byte's character is not in the vocabulary
  std::optional<int> unk_id_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
};

}  // namespace aidc
