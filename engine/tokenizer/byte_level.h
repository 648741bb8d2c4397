#pragma once
// The byte-level alphabet of GPT-2-style BPE (every byte is a printable character, so a vocabulary of
// strings covers all byte sequences) and the UTF-8 repair that turns decoded bytes back into text.
#include <optional>
#include <string>
#include <string_view>

namespace aidc::byte_level {

// The character (as UTF-8) that stands for `byte` in vocab and merges: printable Latin-1 bytes stand
// for themselves, the others for U+0100 onwards in byte order (so ' ' is "Ġ", '\n' is "Ċ").
const std::string& char_of(unsigned char byte);

// The bytes a byte-level token string stands for; nullopt when one of its characters is not in the
// alphabet (special tokens such as "<｜end▁of▁sentence｜>" then decode to their own text).
std::optional<std::string> bytes_of(std::string_view token);

// `text` with every byte replaced by its character.
std::string encode(std::string_view bytes);

// In valid UTF-8: the length of the character starting at `i`, and the start of the one ending at `end`.
size_t char_length_at(std::string_view text, size_t i);
size_t char_start_before(std::string_view text, size_t end);

// Appends `bytes` to `out` as valid UTF-8, each maximal ill-formed subpart replaced by U+FFFD (what
// Rust's String::from_utf8_lossy and so the `tokenizers` decoder do). When `final` is false, a trailing
// sequence that is incomplete but still valid so far is left unconsumed (a later token may complete it).
// Returns the number of bytes consumed.
size_t append_lossy_utf8(std::string& out, std::string_view bytes, bool final);

}  // namespace aidc::byte_level
