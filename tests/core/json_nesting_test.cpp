// The JSON nesting limit (core/common/json_nesting.hpp) as both readers apply it: core/model/json
// (config.json, safetensors headers, tokenizer.json) and nlohmann-json through parse_json (HTTP bodies).
// Depths are counted by hand on texts built here; brackets inside strings are not nesting (RFC 8259).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/common/error.hpp"
#include "core/common/json_nesting.hpp"
#include "core/common/json_parse.hpp"
#include "core/model/json.hpp"

namespace aidc {
namespace {

// `levels` arrays, one inside the other, around a number.
std::string nested(int levels) { return std::string(levels, '[') + "1" + std::string(levels, ']'); }

TEST(JsonNesting, TheLimitIsInclusive) {
  EXPECT_EQ(json_nesting_overflow(nested(kMaxJsonNesting)), std::nullopt);
  // The opening bracket of level 65 is byte 64.
  EXPECT_EQ(json_nesting_overflow(nested(kMaxJsonNesting + 1)), std::size_t(kMaxJsonNesting));
  EXPECT_EQ(json_nesting_overflow("{\"a\": " + nested(kMaxJsonNesting) + "}"), std::size_t(6 + kMaxJsonNesting - 1));
}

TEST(JsonNesting, BracketsInsideStringsAreText) {
  const std::string brackets(1000, '[');
  EXPECT_EQ(json_nesting_overflow("{\"k\": \"" + brackets + "\"}"), std::nullopt);
  // An escaped quote does not end the string; an escaped backslash before a quote does.
  EXPECT_EQ(json_nesting_overflow("[\"\\\"" + brackets + "\"]"), std::nullopt);
  EXPECT_NE(json_nesting_overflow("[\"\\\\\"" + brackets + "\"]"), std::nullopt);
  // Closing brackets of siblings keep the depth flat: 10 000 arrays side by side are one level deep.
  std::string siblings = "[";
  for (int i = 0; i < 10000; ++i) siblings += i ? ",[1]" : "[1]";
  EXPECT_EQ(json_nesting_overflow(siblings + "]"), std::nullopt);
}

TEST(JsonNesting, NlohmannBodiesDeeperThanTheLimitAreParseErrors) {
  EXPECT_EQ(parse_json(nested(kMaxJsonNesting)).dump(), nested(kMaxJsonNesting));
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  try {
    parse_json(deep);
    FAIL() << "a million levels were accepted";
  } catch (const nlohmann::json::parse_error& e) {
    EXPECT_EQ(e.byte, std::size_t(kMaxJsonNesting + 1));  // 1-based, as nlohmann counts
    EXPECT_NE(std::string(e.what()).find("nested deeper than 64"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(parse_json(deep, false).is_discarded());
  EXPECT_TRUE(parse_json("[1, 2", false).is_discarded());  // malformed text: nlohmann's own answer
}

TEST(JsonNesting, ModelJsonFilesDeeperThanTheLimitNameTheByte) {
  EXPECT_EQ(Json::parse(nested(kMaxJsonNesting), "config.json").kind(), Json::Kind::Array);
  try {
    Json::parse("{\"layers\": " + nested(100'000) + "}", "config.json");
    FAIL() << "100 000 levels were accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: malformed JSON at line 1 (byte 74): arrays and objects nested "
                                         "deeper than 64 levels"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace aidc
