// The tokenizer against the Python `tokenizers` package: tests/engine/data/tokenizer/ holds a small
// byte-level BPE tokenizer with DeepSeek-V3's pre-tokenizer and the ids and text `tokenizers` gives for
// ~30 texts, all written by scripts/tokenizer_reference.py.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "core/model/json.hpp"
#include "tokenizer/tokenizer.h"

namespace aidc {
namespace {

const std::string kData = AIDC_TOKENIZER_TEST_DATA;
const std::string kRegenerate = "python3 scripts/tokenizer_reference.py --out tests/engine/data/tokenizer";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing " + path + " (generate it with: " + kRegenerate + ")");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Json read_json(const std::string& path) { return Json::parse(read_text(path), path); }

std::vector<int> ids_of(const Json& array) {
  std::vector<int> ids;
  for (const Json& id : array.items()) ids.push_back(static_cast<int>(id.as_number()));
  return ids;
}

const Json& field(const Json& object, const std::string& key) {
  const Json* value = object.find(key);
  if (!value) throw std::runtime_error("cases.json: missing field '" + key + "'");
  return *value;
}

// Both spellings of merges that occur in published files: [a, b] pairs and "a b" strings.
class TokenizerParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerParity, EncodeDecodeAndStreamMatchTokenizers) {
  const Json reference = read_json(kData + "/cases.json");
  const Tokenizer tok = Tokenizer::load(kData + "/" + GetParam());
  EXPECT_EQ(tok.bos_id(), static_cast<int>(field(reference, "bos_id").as_number()));
  EXPECT_EQ(tok.eos_id(), static_cast<int>(field(reference, "eos_id").as_number()));
  EXPECT_EQ(tok.vocab_size(), static_cast<int>(field(reference, "vocab_size").as_number()));

  const auto& cases = field(reference, "cases").items();
  ASSERT_GE(cases.size(), 25u);
  for (const Json& c : cases) {
    const std::string& text = field(c, "text").as_string();
    SCOPED_TRACE("text: \"" + text + "\"");
    const std::vector<int> ids = ids_of(field(c, "ids"));
    EXPECT_EQ(tok.encode(text), ids);
    EXPECT_EQ(tok.encode(text, true), ids_of(field(c, "ids_add_special")));
    EXPECT_EQ(tok.decode(ids), field(c, "decoded").as_string());
    EXPECT_EQ(tok.decode(ids, false), field(c, "decoded_with_special").as_string());

    // Streaming: every piece is whole UTF-8 characters, and the pieces add up to decode().
    Tokenizer::Stream stream = tok.stream();
    std::string streamed;
    for (int id : ids) {
      const std::string piece = stream.next(id);
      EXPECT_EQ(tok.decode(tok.encode(piece)), piece) << "a piece that is not whole characters";
      streamed += piece;
    }
    streamed += stream.flush();
    EXPECT_EQ(streamed, field(c, "decoded").as_string());
  }
}

INSTANTIATE_TEST_SUITE_P(MergeFormats, TokenizerParity,
                         ::testing::Values("tokenizer.json", "tokenizer_string_merges.json"));

TEST(Tokenizer, ReadsTokenizerConfig) {
  const Tokenizer tok = Tokenizer::load(kData + "/tokenizer.json");
  const Json config = read_json(kData + "/tokenizer_config.json");
  EXPECT_EQ(tok.chat_template(), field(config, "chat_template").as_string());
  EXPECT_FALSE(tok.chat_template().empty());
}

TEST(Tokenizer, StreamHoldsBackAnIncompleteCharacter) {
  const Tokenizer tok = Tokenizer::load(kData + "/tokenizer.json");
  // U+1F999 is four bytes and not in the training corpus, so it takes several tokens.
  const std::vector<int> ids = tok.encode("🦙");
  ASSERT_GT(ids.size(), 1u);
  Tokenizer::Stream stream = tok.stream();
  for (size_t i = 0; i + 1 < ids.size(); ++i) EXPECT_EQ(stream.next(ids[i]), "");
  EXPECT_EQ(stream.next(ids.back()), "🦙");
  // Cut short, the stream ends in U+FFFD as decode() does.
  Tokenizer::Stream cut = tok.stream();
  cut.next(ids[0]);
  EXPECT_EQ(cut.flush(), "\xef\xbf\xbd");
  EXPECT_EQ(tok.decode({ids[0]}), "\xef\xbf\xbd");
}

TEST(Tokenizer, RefusesBadInput) {
  const Tokenizer tok = Tokenizer::load(kData + "/tokenizer.json");
  EXPECT_THROW(tok.encode("bad \xff byte"), EngineError);
  EXPECT_THROW(tok.decode({tok.vocab_size()}), EngineError);
  EXPECT_THROW(tok.decode({-1}), EngineError);
}

// Small hand-written tokenizer.json files, in a temporary directory.
class SmallTokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("aidc_tokenizer_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& json) {
    const std::string path = (dir_ / "tokenizer.json").string();
    std::ofstream(path) << json;
    return path;
  }
  // vocab a, -, b, a-, -b, --; merges "a -", "- b", "- -"; one Split step on "-" before ByteLevel.
  std::string with_split(const std::string& behavior, bool invert) {
    return write(R"({"normalizer": null, "decoder": {"type": "ByteLevel"},
      "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"String": "-"}, "behavior": ")" + behavior + R"(", "invert": )" +
                 (invert ? "true" : "false") + R"(},
        {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
      "model": {"type": "BPE", "vocab": {"a": 0, "-": 1, "b": 2, "a-": 3, "-b": 4, "--": 5},
                "merges": ["a -", "- b", "- -"]}})");
  }
  std::string load_error(const std::string& json) {
    try {
      Tokenizer::load(write(json));
    } catch (const EngineError& e) {
      return e.what();
    }
    return "no error";
  }

  std::filesystem::path dir_;
};

// The split behaviors as the `tokenizers` documentation defines them, on "a-b" split at "-".
TEST_F(SmallTokenizer, SplitBehaviors) {
  EXPECT_EQ(Tokenizer::load(with_split("Isolated", false)).encode("a-b"), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(Tokenizer::load(with_split("Removed", false)).encode("a-b"), (std::vector<int>{0, 2}));
  EXPECT_EQ(Tokenizer::load(with_split("MergedWithPrevious", false)).encode("a-b"), (std::vector<int>{3, 2}));
  EXPECT_EQ(Tokenizer::load(with_split("MergedWithNext", false)).encode("a-b"), (std::vector<int>{0, 4}));
  EXPECT_EQ(Tokenizer::load(with_split("Isolated", false)).encode("a--b"), (std::vector<int>{0, 1, 1, 2}));
  EXPECT_EQ(Tokenizer::load(with_split("Contiguous", false)).encode("a--b"), (std::vector<int>{0, 5, 2}));
  // invert: the text between the delimiters is what matched.
  EXPECT_EQ(Tokenizer::load(with_split("Removed", true)).encode("a-b"), (std::vector<int>{1}));
  EXPECT_EQ(Tokenizer::load(with_split("Isolated", true)).encode("a-b"), (std::vector<int>{0, 1, 2}));
}

// Added tokens as the `tokenizers` documentation defines them: lstrip/rstrip take the whitespace beside
// the token into it; a single_word token is not matched inside a word.
TEST_F(SmallTokenizer, AddedTokenOptions) {
  const Tokenizer tok = Tokenizer::load(write(R"({"normalizer": null, "decoder": {"type": "ByteLevel"},
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false},
      "added_tokens": [{"id": 5, "content": "<x>", "lstrip": true, "rstrip": true, "special": true},
                       {"id": 6, "content": "ab", "single_word": true}],
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "Ġ": 2, "c": 3}, "merges": []}})"));
  EXPECT_EQ(tok.encode("a <x> b"), (std::vector<int>{0, 5, 1}));
  EXPECT_EQ(tok.encode("ab cab"), (std::vector<int>{6, 2, 3, 0, 1}));
  EXPECT_EQ(tok.decode({0, 5, 1}), "ab");
  EXPECT_EQ(tok.decode({0, 5, 1}, false), "a<x>b");
}

// Qwen2 normalizes to NFC: "e" + U+0301 becomes U+00E9, bytes C3 A9, which byte-level BPE spells "Ã©".
TEST_F(SmallTokenizer, NfcNormalizer) {
  const std::string json = R"({"normalizer": {"type": "NFC"}, "decoder": {"type": "ByteLevel"},
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false},
      "model": {"type": "BPE", "vocab": {"e": 0, "Ã": 1, "©": 2, "Ì": 3}, "merges": []}})";
#ifdef AIDC_TOKENIZER_HAVE_ICU
  EXPECT_EQ(Tokenizer::load(write(json)).encode("e\u0301"), (std::vector<int>{1, 2}));
#else
  EXPECT_NE(load_error(json).find("NFC"), std::string::npos);
#endif
}

TEST_F(SmallTokenizer, MalformedFilesNameFileAndField) {
  const std::string good = R"({"normalizer": null, "decoder": {"type": "ByteLevel"},
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false},
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}})";
  EXPECT_EQ(Tokenizer::load(write(good)).encode("abba"), (std::vector<int>{2, 1, 0}));
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string json = good;
    json.replace(json.find(from), from.size(), to);
    return json;
  };
  const std::string path = (dir_ / "tokenizer.json").string();
  const std::string unknown_model = load_error(replaced(R"("type": "BPE")", R"("type": "WordPiece")"));
  EXPECT_NE(unknown_model.find(path + ": model.type:"), std::string::npos) << unknown_model;
  EXPECT_NE(unknown_model.find("WordPiece"), std::string::npos) << unknown_model;
  const std::string no_merges = load_error(replaced(R"(, "merges": [["a", "b"]])", ""));
  EXPECT_NE(no_merges.find(path + ": model: missing field 'merges'"), std::string::npos) << no_merges;
  const std::string bad_merge = load_error(replaced(R"(["a", "b"])", R"(["a", "c"])"));
  EXPECT_NE(bad_merge.find("model.merges[0]: token 'c' is not in model.vocab"), std::string::npos) << bad_merge;
  const std::string bad_pre = load_error(replaced(R"({"type": "ByteLevel", "add)", R"({"type": "Metaspace", "add)"));
  EXPECT_NE(bad_pre.find("pre_tokenizer: pre-tokenizer type 'Metaspace' is not supported"), std::string::npos) << bad_pre;
  const std::string bad_regex = load_error(replaced(R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": false})",
      R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(\\p{L}"},
        "behavior": "Isolated"}, {"type": "ByteLevel"}]})"));
  EXPECT_NE(bad_regex.find("pre_tokenizer.pretokenizers[0].pattern.Regex: the pattern does not compile"), std::string::npos)
      << bad_regex;
  EXPECT_NE(load_error(R"({"model": )").find("malformed JSON"), std::string::npos);
  const std::string missing = (dir_ / "absent" / "tokenizer.json").string();
  try {
    Tokenizer::load(missing);
    ADD_FAILURE() << "a missing file loaded";
  } catch (const EngineError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace aidc
