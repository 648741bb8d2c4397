#include "tokenizer/bpe_model.h"

#include <cstdio>
#include <queue>

#include "tokenizer/byte_level.h"

namespace aidc {
namespace {

// Refuses a model option that changes results and that byte-level tokenizers do not use.
void refuse_if_set(const JsonField& model, const std::string& key, const std::string& why) {
  const auto field = model.find(key);
  if (!field) return;
  const Json& v = field->value();
  const bool set = (v.is_string() && !v.as_string().empty()) || (v.is_number() && v.as_number() != 0);
  if (set) field->fail_here("is not supported (" + why + ")");
}

}  // namespace

BpeModel BpeModel::from_json(const JsonField& model) {
  if (const auto type = model.find("type"); type && type->string() != "BPE")
    type->fail_here("model type '" + type->string() + "' is not supported (BPE)");
  refuse_if_set(model, "dropout", "it makes encoding random");
  refuse_if_set(model, "continuing_subword_prefix", "byte-level BPE has no subword prefix");
  refuse_if_set(model, "end_of_word_suffix", "byte-level BPE has no end-of-word suffix");

  BpeModel bpe;
  const JsonField vocab = model.at("vocab");
  if (!vocab.value().is_object()) vocab.fail_here("expected an object {token: id}");
  bpe.vocab_.reserve(vocab.value().members().size());
  for (const auto& [token, id] : vocab.value().members()) bpe.vocab_.emplace(token, vocab.at(token).integer());

  auto id_of = [&](const JsonField& where, const std::string& token) {
    auto it = bpe.vocab_.find(token);
    if (it == bpe.vocab_.end()) where.fail_here("token '" + token + "' is not in model.vocab");
    return it->second;
  };
  const JsonField merges = model.at("merges");
  const size_t count = merges.size();
  bpe.merges_.reserve(count);
  for (size_t rank = 0; rank < count; ++rank) {
    const JsonField merge = merges.at(rank);
    std::string left, right;
    if (merge.value().is_string()) {
      const std::string& line = merge.string();
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
        merge.fail_here("expected two tokens separated by one space");
      left = line.substr(0, space);
      right = line.substr(space + 1);
    } else if (merge.value().is_array() && merge.size() == 2) {
      left = merge.at(size_t{0}).string();
      right = merge.at(size_t{1}).string();
    } else {
      merge.fail_here("expected a string \"a b\" or a pair [\"a\", \"b\"]");
    }
    // Looked up one by one so an unknown token is reported in this order, whatever the compiler does.
    const int left_id = id_of(merge, left), right_id = id_of(merge, right), merged_id = id_of(merge, left + right);
    // A later duplicate replaces an earlier one, as in the `tokenizers` crate.
    bpe.merges_[pair_key(left_id, right_id)] = Merge{static_cast<int>(rank), merged_id};
  }

  if (const auto unk = model.find("unk_token")) bpe.unk_id_ = id_of(*unk, unk->string());
  bpe.fuse_unk_ = model.boolean_or("fuse_unk", false);
  bpe.byte_fallback_ = model.boolean_or("byte_fallback", false);
  bpe.ignore_merges_ = model.boolean_or("ignore_merges", false);
  for (int b = 0; b < 256; ++b) {
    auto it = bpe.vocab_.find(byte_level::char_of(static_cast<unsigned char>(b)));
    bpe.byte_ids_[b] = it == bpe.vocab_.end() ? -1 : it->second;
  }
  return bpe;
}

std::optional<BpeModel::Merge> BpeModel::merge_of(int left, int right) const {
  auto it = merges_.find(pair_key(left, right));
  if (it == merges_.end()) return std::nullopt;
  return it->second;
}

bool BpeModel::add_byte_symbols(unsigned char byte, std::vector<int>& symbols) const {
  if (!byte_fallback_) return false;
  // The `tokenizers` crate falls back on the UTF-8 bytes of the byte's character: "<0xC4><0xA0>" for ' '.
  std::vector<int> fallback;
  for (unsigned char b : byte_level::char_of(byte)) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = vocab_.find(name);
    if (it == vocab_.end()) return false;
    fallback.push_back(it->second);
  }
  symbols.insert(symbols.end(), fallback.begin(), fallback.end());
  return true;
}

void BpeModel::encode_word(std::string_view word, std::vector<int>& ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    auto it = vocab_.find(byte_level::encode(word));
    if (it != vocab_.end()) {
      ids.push_back(it->second);
      return;
    }
  }
  std::vector<int> initial;
  initial.reserve(word.size());
  bool pending_unk = false;  // an unknown byte whose unk token is not placed yet (fuse_unk joins a run)
  for (unsigned char b : word) {
    if (byte_ids_[b] >= 0) {
      if (pending_unk) initial.push_back(*unk_id_);
      pending_unk = false;
      initial.push_back(byte_ids_[b]);
    } else if (!add_byte_symbols(b, initial) && unk_id_) {
      if (pending_unk && !fuse_unk_) initial.push_back(*unk_id_);
      pending_unk = true;
    }
  }
  if (pending_unk) initial.push_back(*unk_id_);

  struct Symbol {
    int id, prev, next;
    bool merged_away;
  };
  std::vector<Symbol> symbols(initial.size());
  const int n = static_cast<int>(initial.size());
  for (int i = 0; i < n; ++i) symbols[i] = {initial[i], i - 1, i + 1 < n ? i + 1 : -1, false};

  struct Candidate {
    int rank, pos, merged_id;
  };
  auto later = [](const Candidate& a, const Candidate& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(later)> queue(later);
  auto propose = [&](int pos) {
    const int next = symbols[pos].next;
    if (next < 0) return;
    if (const auto m = merge_of(symbols[pos].id, symbols[next].id)) queue.push({m->rank, pos, m->merged_id});
  };
  for (int i = 0; i + 1 < n; ++i) propose(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.merged_away || left.next < 0) continue;
    // Stale when either side changed since the candidate was proposed.
    const auto current = merge_of(left.id, symbols[left.next].id);
    if (!current || current->merged_id != top.merged_id) continue;
    Symbol& right = symbols[left.next];
    left.id = top.merged_id;
    right.merged_away = true;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    if (left.prev >= 0) propose(left.prev);
    propose(top.pos);
  }
  for (const Symbol& s : symbols)
    if (!s.merged_away) ids.push_back(s.id);
}

}  // namespace aidc
