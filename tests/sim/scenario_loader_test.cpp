// `extends:` and `--set` precedence: a file overrides its base key by key, `--set` overrides every file,
// a later `--set` overrides an earlier one, and errors in a base point at the base file's line.
// Fixtures: scenarios/tests/extends/ (values noted in each test).
#include <gtest/gtest.h>

#include <string>

#include "catalog/catalog.hpp"
#include "scenario/loader.hpp"

namespace aidc {
namespace {

const std::string kDir = std::string(AIDC_TEST_FIXTURES) + "/extends/";

class ScenarioLoader : public ::testing::Test {
 protected:
  Catalog catalog_ = Catalog::load(AIDC_TEST_SCENARIOS_DIR);
};

TEST_F(ScenarioLoader, BaseAloneReadsItsValues) {
  const Scenario s = load_scenario(kDir + "base.yaml", {}, catalog_);
  EXPECT_EQ(s.name, "base");
  EXPECT_EQ(s.deployment.replicas, 2);
  EXPECT_EQ(s.deployment.max_batch_sequences, 64);
  EXPECT_DOUBLE_EQ(s.workload.schedule.rate_per_s, 5);
}

// child.yaml: replicas 3 and rate 8 over base.yaml's 2 and 5; everything else from the base.
TEST_F(ScenarioLoader, ChildOverridesItsBaseKeyByKey) {
  const Scenario s = load_scenario(kDir + "child.yaml", {}, catalog_);
  EXPECT_EQ(s.name, "child");
  EXPECT_EQ(s.deployment.replicas, 3);
  EXPECT_DOUBLE_EQ(s.workload.schedule.rate_per_s, 8);
  // Kept from the base, including siblings of overridden keys in the same mapping.
  EXPECT_EQ(s.deployment.max_batch_sequences, 64);
  EXPECT_EQ(s.deployment.max_batch_tokens, 4096);
  EXPECT_EQ(s.simulation.seed, 7u);
  EXPECT_EQ(s.datacenter.gpu, "H100-SXM");
  EXPECT_TRUE(s.workload.kind == WorkloadSpec::Kind::OpenLoop);
  EXPECT_DOUBLE_EQ(s.workload.prompt_tokens.value, 128);
}

TEST_F(ScenarioLoader, GrandchildOverChildOverBase) {
  const Scenario s = load_scenario(kDir + "grandchild.yaml", {}, catalog_);
  EXPECT_EQ(s.deployment.max_batch_sequences, 32);  // grandchild
  EXPECT_EQ(s.deployment.replicas, 3);              // child
  EXPECT_EQ(s.deployment.max_batch_tokens, 4096);   // base
  EXPECT_EQ(s.name, "child");
}

TEST_F(ScenarioLoader, SetOverridesEveryFileAndLaterSetWins) {
  const Scenario s = load_scenario(kDir + "grandchild.yaml",
                                   {"deployment.replicas=4", "workload.schedule.rate_per_s=9", "deployment.max_batch_sequences=16",
                                    "deployment.replicas=5", "seed=99"},
                                   catalog_);
  EXPECT_EQ(s.deployment.replicas, 5);
  EXPECT_DOUBLE_EQ(s.workload.schedule.rate_per_s, 9);
  EXPECT_EQ(s.deployment.max_batch_sequences, 16);
  EXPECT_EQ(s.simulation.seed, 99u);
  EXPECT_EQ(s.deployment.max_batch_tokens, 4096);  // untouched by --set: still the base's
}

TEST_F(ScenarioLoader, SetCanCreateAKeyNoFileHas) {
  const Scenario s = load_scenario(kDir + "child.yaml", {"simulation.fast_forward=false", "slo.ttft_s=0.25"}, catalog_);
  EXPECT_FALSE(s.simulation.fast_forward);
  ASSERT_TRUE(s.slo.ttft_s.has_value());
  EXPECT_DOUBLE_EQ(*s.slo.ttft_s, 0.25);
}

// bad_base.yaml line 7: `  max_batch_sequences: lots` (value at column 24).
TEST_F(ScenarioLoader, ErrorInBasePointsAtTheBaseFile) {
  try {
    load_scenario(kDir + "child_of_bad.yaml", {}, catalog_);
    FAIL() << "expected an input error";
  } catch (const InputErrors& e) {
    ASSERT_EQ(e.errors().size(), 1u) << e.what();
    const InputError& err = e.errors().front();
    EXPECT_EQ(err.where.file, kDir + "bad_base.yaml");
    EXPECT_EQ(err.where.line, 7);
    EXPECT_EQ(err.where.column, 24);
    EXPECT_EQ(err.key_path, "deployment.max_batch_sequences");
    EXPECT_NE(err.message.find("integer"), std::string::npos) << err.message;
  }
}

// A --set replaces the base's wrong value, so the scenario is valid again.
TEST_F(ScenarioLoader, SetReplacesAWrongValueFromABase) {
  const Scenario s = load_scenario(kDir + "child_of_bad.yaml", {"deployment.max_batch_sequences=8"}, catalog_);
  EXPECT_EQ(s.deployment.max_batch_sequences, 8);
  EXPECT_EQ(s.deployment.replicas, 1);
}

// An error in a --set value names the --set, not a file.
TEST_F(ScenarioLoader, ErrorInSetNamesTheSet) {
  try {
    load_scenario(kDir + "child.yaml", {"deployment.replicas=three"}, catalog_);
    FAIL() << "expected an input error";
  } catch (const InputErrors& e) {
    ASSERT_EQ(e.errors().size(), 1u) << e.what();
    EXPECT_EQ(e.errors().front().key_path, "deployment.replicas");
    EXPECT_NE(e.errors().front().where.file.find("--set deployment.replicas=three"), std::string::npos)
        << e.errors().front().where.file;
  }
}

}  // namespace
}  // namespace aidc
