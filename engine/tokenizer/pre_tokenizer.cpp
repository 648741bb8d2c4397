#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pre_tokenizer.h"

#include <pcre2.h>

#include <algorithm>

#include "common/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/json_field.h"

namespace aidc {
namespace {

// ByteLevel's regex when use_regex is true (the GPT-2 split, as the `tokenizers` crate defines it).
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

PcreRegex::PcreRegex(const std::string& pattern, bool literal, const std::string& where) {
  if (literal && pattern.empty()) return;
  int error = 0;
  PCRE2_SIZE offset = 0;
  const uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error,
                                   &offset, nullptr);
  if (!code) fail(where + ": the pattern does not compile at offset " + std::to_string(offset) + ": " + pcre2_message(error));
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // where the JIT is unavailable, matching interprets
  code_.reset(code, pcre2_code_free);
}

std::vector<std::pair<size_t, size_t>> PcreRegex::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  if (!code_) return matches;
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(code_.get(), nullptr), pcre2_match_data_free);
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  // Oniguruma's iteration: search from the end of the last match; an empty match right where the last
  // match ended is skipped by moving on one character.
  size_t from = 0;
  std::optional<size_t> last_end;
  while (from <= text.size()) {
    const int rc = pcre2_match(code_.get(), subject, text.size(), from, PCRE2_NO_UTF_CHECK, data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) fail("tokenizer: regex matching failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const size_t begin = ovector[0], end = ovector[1];
    if (begin == end && last_end == end) {
      from += from < text.size() ? byte_level::char_length_at(text, from) : 1;
      continue;
    }
    from = last_end.emplace(end);
    matches.emplace_back(begin, end);
  }
  return matches;
}

PreTokenizer PreTokenizer::from_json(const JsonField& spec) {
  PreTokenizer result;
  bool byte_level = false;
  auto add_step = [&](const JsonField& step) {
    const std::string& type = step.at("type").string();
    if (byte_level) step.fail_here("'" + type + "' after ByteLevel is not supported (ByteLevel must come last)");
    if (type == "Split") {
      result.splits_.push_back(parse_split(step));
    } else if (type == "ByteLevel") {
      byte_level = true;
      result.add_prefix_space_ = step.boolean_or("add_prefix_space", true);
      if (step.boolean_or("use_regex", true))
        result.byte_level_regex_.emplace(kGpt2Pattern, false, step.file() + ": " + step.path());
    } else {
      step.fail_here("pre-tokenizer type '" + type + "' is not supported (Sequence, Split, ByteLevel)");
    }
  };
  if (spec.at("type").string() == "Sequence") {
    const JsonField steps = spec.at("pretokenizers");
    for (size_t i = 0; i < steps.size(); ++i) add_step(steps.at(i));
  } else {
    add_step(spec);
  }
  if (!byte_level) spec.fail_here("no ByteLevel pre-tokenizer: only byte-level BPE tokenizers are supported");
  return result;
}

PreTokenizer::Split PreTokenizer::parse_split(const JsonField& step) {
  const JsonField pattern = step.at("pattern");
  const auto regex = pattern.find("Regex");
  const auto literal = pattern.find("String");
  if (!regex && !literal) pattern.fail_here("expected {\"Regex\": ...} or {\"String\": ...}");
  const JsonField& text = regex ? *regex : *literal;
  PcreRegex compiled(text.string(), !regex, text.file() + ": " + text.path());

  const JsonField behavior_field = step.at("behavior");
  const std::string& name = behavior_field.string();
  Behavior behavior;
  if (name == "Removed") behavior = Behavior::Removed;
  else if (name == "Isolated") behavior = Behavior::Isolated;
  else if (name == "MergedWithPrevious") behavior = Behavior::MergedWithPrevious;
  else if (name == "MergedWithNext") behavior = Behavior::MergedWithNext;
  else if (name == "Contiguous") behavior = Behavior::Contiguous;
  else behavior_field.fail_here("'" + name + "' is not a split behavior (Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)");
  return Split{std::move(compiled), behavior, step.boolean_or("invert", false)};
}

// The `tokenizers` crate's NormalizedString::split: the piece is cut into matches and the gaps between
// them, then the behavior decides what is dropped and what is glued to a neighbour.
void PreTokenizer::apply(const Split& split, std::string_view piece, std::vector<std::string_view>& out) {
  struct Part {
    size_t begin, end;
    bool is_match;
  };
  std::vector<Part> parts;
  size_t previous = 0;
  for (const auto& [begin, end] : split.pattern.find_all(piece)) {
    if (previous != begin) parts.push_back({previous, begin, split.invert});
    parts.push_back({begin, end, !split.invert});
    previous = end;
  }
  if (previous != piece.size()) parts.push_back({previous, piece.size(), split.invert});

  std::vector<Part> kept;  // is_match now means "drop"
  bool previous_match = false;
  switch (split.behavior) {
    case Behavior::Removed:
      kept = parts;
      break;
    case Behavior::Isolated:
      for (const Part& p : parts) kept.push_back({p.begin, p.end, false});
      break;
    case Behavior::Contiguous:
      for (const Part& p : parts) {
        if (p.is_match == previous_match && !kept.empty()) kept.back().end = p.end;
        else kept.push_back({p.begin, p.end, false});
        previous_match = p.is_match;
      }
      break;
    case Behavior::MergedWithPrevious:
      for (const Part& p : parts) {
        if (p.is_match && !previous_match && !kept.empty()) kept.back().end = p.end;
        else kept.push_back({p.begin, p.end, false});
        previous_match = p.is_match;
      }
      break;
    case Behavior::MergedWithNext:
      for (auto p = parts.rbegin(); p != parts.rend(); ++p) {
        if (p->is_match && !previous_match && !kept.empty()) kept.back().begin = p->begin;
        else kept.push_back({p->begin, p->end, false});
        previous_match = p->is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
  }
  for (const Part& p : kept)
    if (!p.is_match && p.end > p.begin) out.push_back(piece.substr(p.begin, p.end - p.begin));
}

void PreTokenizer::split(std::string_view text, std::vector<std::string>& words) const {
  std::vector<std::string_view> pieces{text}, next;
  for (const Split& step : splits_) {
    next.clear();
    for (std::string_view piece : pieces) apply(step, piece, next);
    pieces.swap(next);
  }
  for (std::string_view piece : pieces) {
    if (piece.empty()) continue;
    std::string word;
    if (add_prefix_space_ && piece.front() != ' ') word += ' ';
    word += piece;
    if (!byte_level_regex_) {
      words.push_back(std::move(word));
      continue;
    }
    size_t previous = 0;
    for (const auto& [begin, end] : byte_level_regex_->find_all(word)) {
      if (begin > previous) words.push_back(word.substr(previous, begin - previous));
      if (end > begin) words.push_back(word.substr(begin, end - begin));
      previous = end;
    }
    if (previous < word.size()) words.push_back(word.substr(previous));
  }
}

}  // namespace aidc
