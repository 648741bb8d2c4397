#include "tokenizer/tokenizer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#ifdef AIDC_TOKENIZER_HAVE_ICU
#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#endif

#include "common/error.h"
#include "core/common/utf8.hpp"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/json_field.h"
#include "tokenizer/pre_tokenizer.h"

namespace aidc {

struct Tokenizer::Impl {
  BpeModel model;
  PreTokenizer pre_tokenizer;
  bool nfc = false;
  std::vector<AddedToken> added_tokens;
  AddedTokenMatcher raw_matcher, normalized_matcher;  // built once added_tokens is final
  std::vector<std::optional<std::string>> id_bytes;  // what each id decodes to; nullopt: no such token
  std::vector<bool> id_special;
  std::optional<int> bos, eos;
  std::string chat_template;

  void append_bytes(int id, bool skip_special, std::string& out) const {
    if (id < 0 || static_cast<size_t>(id) >= id_bytes.size() || !id_bytes[id])
      fail("tokenizer: token id " + std::to_string(id) + " is not in the vocabulary (ids 0.." +
           std::to_string(id_bytes.size() - 1) + ")");
    if (!(skip_special && id_special[id])) out += *id_bytes[id];
  }
};

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read tokenizer file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Whether the normalizer asks for NFC; anything else is refused.
bool parse_normalizer(const JsonField& spec) {
  const std::string& type = spec.at("type").string();
  if (type == "Sequence") {
    const JsonField steps = spec.at("normalizers");
    bool nfc = false;
    for (size_t i = 0; i < steps.size(); ++i) nfc = parse_normalizer(steps.at(i)) || nfc;
    return nfc;
  }
  if (type != "NFC") spec.fail_here("normalizer type '" + type + "' is not supported (NFC, Sequence)");
#ifndef AIDC_TOKENIZER_HAVE_ICU
  spec.fail_here("NFC normalization needs ICU, which this build lacks (Debian: libicu-dev)");
#endif
  return true;
}

std::string nfc(std::string_view text) {
#ifdef AIDC_TOKENIZER_HAVE_ICU
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = icu::Normalizer2::getNFCInstance(status);
  std::string out;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(text.size()));
  if (U_SUCCESS(status))
    normalizer->normalizeUTF8(0, icu::StringPiece(text.data(), static_cast<int32_t>(text.size())), sink, nullptr, status);
  if (U_FAILURE(status)) fail(std::string("tokenizer: NFC normalization failed: ") + u_errorName(status));
  return out;
#else
  (void)text;
  fail("tokenizer: NFC normalization needs ICU");  // unreachable: parse_normalizer refuses NFC then
#endif
}

void check_decoder(const JsonField& decoder) {
  const std::string& type = decoder.at("type").string();
  if (type == "Sequence") {
    const JsonField steps = decoder.at("decoders");
    for (size_t i = 0; i < steps.size(); ++i) check_decoder(steps.at(i));
  } else if (type != "ByteLevel") {
    decoder.fail_here("decoder type '" + type + "' is not supported (ByteLevel)");
  }
}

std::vector<AddedToken> parse_added_tokens(const JsonField& list) {
  std::vector<AddedToken> tokens;
  for (size_t i = 0; i < list.size(); ++i) {
    const JsonField t = list.at(i);
    tokens.push_back({t.at("id").integer(), t.at("content").string(), t.boolean_or("single_word", false),
                      t.boolean_or("lstrip", false), t.boolean_or("rstrip", false), t.boolean_or("normalized", true),
                      t.boolean_or("special", false)});
    if (tokens.back().content.empty()) t.at("content").fail_here("an added token cannot be empty");
  }
  return tokens;
}

// tokenizer_config.json's bos_token / eos_token: a string, {"content": ...} or null.
std::optional<int> config_token(const JsonField& config, const std::string& key,
                                const std::vector<AddedToken>& added_tokens, const BpeModel& model) {
  auto field = config.find(key);
  if (!field) return std::nullopt;
  if (field->value().is_object()) field = field->at("content");
  const std::string& content = field->string();
  for (const AddedToken& t : added_tokens)
    if (t.content == content) return t.id;
  auto it = model.vocab().find(content);
  if (it == model.vocab().end()) field->fail_here("'" + content + "' is not a token of tokenizer.json");
  return it->second;
}

std::string config_chat_template(const JsonField& config) {
  const auto field = config.find("chat_template");
  if (!field) return "";
  if (field->value().is_string()) return field->string();
  // Several named templates: the one called "default" is what transformers applies.
  for (size_t i = 0; i < field->size(); ++i)
    if (field->at(i).at("name").string() == "default") return field->at(i).at("template").string();
  field->fail_here("expected a string or a list of {name, template} with one named 'default'");
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& tokenizer_json_path) {
  const Json root_value = Json::parse(read_file(tokenizer_json_path), tokenizer_json_path);
  const JsonField root(root_value, tokenizer_json_path, "");
  auto impl = std::make_shared<Impl>();
  impl->model = BpeModel::from_json(root.at("model"));
  impl->pre_tokenizer = PreTokenizer::from_json(root.at("pre_tokenizer"));
  if (const auto normalizer = root.find("normalizer")) impl->nfc = parse_normalizer(*normalizer);
  check_decoder(root.at("decoder"));
  if (const auto added = root.find("added_tokens")) impl->added_tokens = parse_added_tokens(*added);
  impl->raw_matcher = AddedTokenMatcher(impl->added_tokens, false);
  impl->normalized_matcher = AddedTokenMatcher(impl->added_tokens, true);

  int highest = -1;
  for (const auto& [token, id] : impl->model.vocab()) highest = std::max(highest, id);
  for (const AddedToken& t : impl->added_tokens) highest = std::max(highest, t.id);
  impl->id_bytes.resize(static_cast<size_t>(highest + 1));
  impl->id_special.resize(static_cast<size_t>(highest + 1));
  // A token outside the byte-level alphabet (a special token kept in the vocabulary) decodes to its own text.
  for (const auto& [token, id] : impl->model.vocab()) impl->id_bytes[id] = byte_level::bytes_of(token).value_or(token);
  for (const AddedToken& t : impl->added_tokens) {
    impl->id_bytes[t.id] = byte_level::bytes_of(t.content).value_or(t.content);
    impl->id_special[t.id] = t.special;
  }

  const std::filesystem::path dir = std::filesystem::path(tokenizer_json_path).parent_path();
  const std::string config_path = (dir / "tokenizer_config.json").string();
  if (std::filesystem::exists(config_path)) {
    const Json config_value = Json::parse(read_file(config_path), config_path);
    const JsonField config(config_value, config_path, "");
    impl->bos = config_token(config, "bos_token", impl->added_tokens, impl->model);
    impl->eos = config_token(config, "eos_token", impl->added_tokens, impl->model);
    impl->chat_template = config_chat_template(config);
  }
  const std::filesystem::path jinja = dir / "chat_template.jinja";
  if (impl->chat_template.empty() && std::filesystem::exists(jinja)) impl->chat_template = read_file(jinja.string());
  return Tokenizer(std::move(impl));
}

std::vector<int> Tokenizer::encode(std::string_view text, bool add_special) const {
  if (const auto bad = first_invalid_utf8(text))
    fail("tokenizer: the text is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
  std::vector<int> ids;
  if (add_special && impl_->bos) ids.push_back(*impl_->bos);
  std::vector<std::string> words;
  auto encode_plain = [&](std::string_view plain) {
    words.clear();
    impl_->pre_tokenizer.split(plain, words);
    for (const std::string& word : words) impl_->model.encode_word(word, ids);
  };
  // Tokens not marked "normalized" are found in the raw text, the others in the normalized pieces between.
  for (const auto& raw : impl_->raw_matcher.split(text)) {
    if (raw.token) {
      ids.push_back(raw.token->id);
      continue;
    }
    const std::string_view piece = text.substr(raw.begin, raw.end - raw.begin);
    const std::string normalized = impl_->nfc ? nfc(piece) : std::string(piece);
    for (const auto& part : impl_->normalized_matcher.split(normalized)) {
      if (part.token) ids.push_back(part.token->id);
      else encode_plain(std::string_view(normalized).substr(part.begin, part.end - part.begin));
    }
  }
  return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids, bool skip_special) const {
  std::string bytes;
  for (int id : ids) impl_->append_bytes(id, skip_special, bytes);
  std::string text;
  byte_level::append_lossy_utf8(text, bytes, true);
  return text;
}

std::string Tokenizer::Stream::next(int token_id) {
  impl_->append_bytes(token_id, skip_special_, pending_);
  std::string text;
  pending_.erase(0, byte_level::append_lossy_utf8(text, pending_, false));
  return text;
}

std::string Tokenizer::Stream::flush() {
  std::string text;
  byte_level::append_lossy_utf8(text, pending_, true);
  pending_.clear();
  return text;
}

Tokenizer::Stream Tokenizer::stream(bool skip_special) const { return Stream(impl_, skip_special); }
std::optional<int> Tokenizer::bos_id() const { return impl_->bos; }
std::optional<int> Tokenizer::eos_id() const { return impl_->eos; }
const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }
int Tokenizer::vocab_size() const { return static_cast<int>(impl_->id_bytes.size()); }

}  // namespace aidc
