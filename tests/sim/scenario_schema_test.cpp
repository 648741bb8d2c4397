// The scenario schema (sim/scenario/schema.cpp) against what depends on it: the loader's defaults are the
// table's, every key the table lists (and so every field the GUI offers) is one the loader accepts, and
// docs/scenario.md's key tables are the generated ones.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "catalog/catalog.hpp"
#include "scenario/loader.hpp"
#include "scenario/schema.hpp"

namespace aidc {
namespace {

class ScenarioSchema : public ::testing::Test {
 protected:
  Scenario load(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
    ConfigNode tree = parse_yaml_text(yaml, "minimal.yaml");
    for (const auto& assignment : overrides) apply_override(tree, assignment);
    return read_scenario(tree, "minimal.yaml", catalog_);
  }
  static std::string problems(const InputErrors& e) {
    std::string text;
    for (const auto& error : e.errors()) text += error.to_string() + "\n";
    return text;
  }
  Catalog catalog_ = Catalog::load(AIDC_TEST_SCENARIOS_DIR);
};

// A scenario that says nothing but "model the facility and its cost" takes every default; each key's
// loaded value must be the table's default (the loader has no default of its own).
TEST_F(ScenarioSchema, LoaderDefaultsAreTheTablesDefaults) {
  const Scenario s = load("facility: {}\ncost: {}\n");
  int compared = 0;
  for (const SchemaKey& key : scenario_schema()) {
    if (!key.loaded) continue;
    EXPECT_EQ(to_text(key.loaded(s)), to_text(key.default_value)) << key.path;
    EXPECT_EQ(key.loaded(s).index(), key.default_value.index()) << key.path << ": type of the default";
    ++compared;
  }
  EXPECT_GT(compared, 120);
}

// The drift this table ended: output lengths default to 256 tokens, prompts to 512 (docs/scenario.md
// before the table, and the loader, said so; the struct said 512 for both).
TEST_F(ScenarioSchema, OutputAndPromptLengthsHaveTheirOwnDefaults) {
  const Scenario s = load("{}");
  EXPECT_DOUBLE_EQ(s.workload.prompt_tokens.value, 512);
  EXPECT_DOUBLE_EQ(s.workload.output_tokens.value, 256);
  EXPECT_EQ(to_text(schema_key("workload.output_tokens").default_value), "256");
}

// Every key with a default, set to it with --set (after its variant's selector), validates.
TEST_F(ScenarioSchema, EveryKeyAtItsDefaultIsAccepted) {
  int accepted = 0;
  for (const SchemaKey& key : scenario_schema()) {
    if (std::holds_alternative<std::monostate>(key.default_value) || key.path.find('[') != std::string::npos ||
        key.path.find('<') != std::string::npos)
      continue;
    std::vector<std::string> overrides;
    if (!key.when_key.empty()) overrides.push_back(key.when_key + "=" + key.when.substr(0, key.when.find(',')));
    overrides.push_back(key.path + "=" + to_text(key.default_value));
    const std::string yaml = key.section() == "facility" || key.section() == "cost" ? "facility: {}\n" : "{}";
    // Only errors about the key itself count: a default may still break a check across keys (a lognormal
    // prompt's default max of 8 × 512 plus the output exceeds deepseek-llm-7b's context).
    try {
      load(yaml, overrides);
    } catch (const InputErrors& e) {
      for (const auto& error : e.errors())
        if (error.key_path == key.path || error.key_path == key.when_key || error.message.find("unknown key") != std::string::npos)
          ADD_FAILURE() << key.path << " rejected:\n" << problems(e);
    }
    ++accepted;
  }
  EXPECT_GT(accepted, 100);
}

TEST_F(ScenarioSchema, UnknownKeysAreStillRejected) {
  EXPECT_THROW(load("{}", {"workload.rate_per_s=5"}), InputErrors);
  EXPECT_THROW(schema_key("workload.rate_per_s"), std::logic_error);
}

TEST_F(ScenarioSchema, ListItemsAndNamedEntriesFindTheirEntry) {
  EXPECT_EQ(schema_key("workload.schedule.steps[3].at_s").path, "workload.schedule.steps[].at_s");
  EXPECT_EQ(schema_key("facility.halls[1].cooling.kind").choices,
            (std::vector<std::string>{"air", "direct_liquid", "immersion"}));
}

TEST_F(ScenarioSchema, CommittedDocMatchesTheTable) {
  const std::string path = std::string(AIDC_SOURCE_DIR) + "/docs/scenario.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::ostringstream doc;
  doc << in.rdbuf();
  EXPECT_NE(doc.str().find("<!-- schema: . -->"), std::string::npos) << "the top-level block lists every key no other block claims";
  EXPECT_TRUE(update_schema_blocks(doc.str()) == doc.str())
      << path << " differs from the schema table: run `aidc schema --update-doc docs/scenario.md`";
}

}  // namespace
}  // namespace aidc
