// Every input checked at the door (issue 17): inputs that used to hang the reader, crash the
// simulator or pass with nonsense (NaN, infinity, 1e308, a prompt of 1e10 tokens stored as a negative
// int) are refused with the file, line, column and key, through the same functions `aidc` calls.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "catalog/catalog.hpp"
#include "common/config_tree.hpp"
#include "core/calibration/reader.hpp"
#include "core/common/error.hpp"
#include "facility/weather.hpp"
#include "perf/calibrated_model.hpp"
#include "run/work_estimate.hpp"
#include "scenario/loader.hpp"
#include "scenario/schema.hpp"
#include "workload/csv_input.hpp"

namespace aidc {
namespace {

namespace fs = std::filesystem;

const std::string kScenarios = AIDC_TEST_SCENARIOS_DIR;

std::string temp_file(const std::string& name, const std::string& text) {
  const std::string path = (fs::path(::testing::TempDir()) / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// The errors `load` throws, as InputErrors; empty when it throws none.
template <typename Load>
std::vector<InputError> errors_of(Load load) {
  try {
    load();
  } catch (const InputErrors& e) {
    return e.errors();
  }
  return {};
}

std::string all_of(const std::vector<InputError>& errors) {
  std::string text;
  for (const auto& e : errors) text += e.to_string() + "\n";
  return text;
}

bool has_error(const std::vector<InputError>& errors, const std::string& file, int line, const std::string& key,
               const std::string& words) {
  for (const auto& e : errors)
    if (e.where.file == file && (line == 0 || e.where.line == line) && e.key_path == key &&
        e.message.find(words) != std::string::npos)
      return true;
  return false;
}

// ---- YAML ----

// Nine levels of ten aliases each: 10^9 values from a dozen lines ("billion laughs"). It used to expand
// without bound (minutes, gigabytes); the reader stops at kMaxConfigNodes values.
TEST(YamlInput, NestedAliasesThatExpandBeyondTheBoundAreRefusedQuickly) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 9; ++level) {
    const std::string prev = "*a" + std::to_string(level - 1);
    text += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", " : "") + prev;
    text += "]\n";
  }
  const auto start = std::chrono::steady_clock::now();
  const auto errors = errors_of([&] { parse_yaml_text(text, "laughs.yaml"); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].where.file, "laughs.yaml");
  EXPECT_NE(errors[0].message.find("expands to more than " + std::to_string(kMaxConfigNodes)), std::string::npos)
      << errors[0].message;
  EXPECT_LT(seconds, 5.0);
}

TEST(YamlInput, AliasesWithinTheBoundStillWork) {
  const ConfigNode root = parse_yaml_text("base: &b {x: 1}\ncopy: *b\n", "aliases.yaml");
  ASSERT_NE(root.find("copy"), nullptr);
  EXPECT_EQ(root.find("copy")->find("x")->text(), "1");
}

// Latin-1 "é" (0xE9) on line 2, column 7: names there end up in JSON reports, which must be UTF-8.
TEST(YamlInput, TextThatIsNotUtf8IsRefusedWithItsPlace) {
  const auto errors = errors_of([] { parse_yaml_text("seed: 1\nname: caf\xe9\n", "latin1.yaml"); });
  ASSERT_EQ(errors.size(), 1u) << all_of(errors);
  EXPECT_EQ(errors[0].where.line, 2);
  EXPECT_EQ(errors[0].where.column, 10);
  EXPECT_NE(errors[0].message.find("UTF-8"), std::string::npos);
  for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"})  // overlong, surrogate, > U+10FFFF, cut
    EXPECT_EQ(errors_of([&] { parse_yaml_text(std::string("name: ") + bad + "\n", "bad.yaml"); }).size(), 1u);
  EXPECT_NO_THROW(parse_yaml_text("name: café 數據中心 🚀\n", "utf8.yaml"));
}

TEST(YamlInput, ErrorsInASetOverrideNameTheOverride) {
  ConfigNode root = parse_yaml_text("seed: 1\n", "base.yaml");
  for (const std::string assignment : {"deployment.replicas=[1, 2", "=3", "deployment..replicas=2", "seed"}) {
    const auto errors = errors_of([&] { apply_override(root, assignment); });
    ASSERT_EQ(errors.size(), 1u) << assignment;
    EXPECT_EQ(errors[0].where.file, "--set " + assignment) << errors[0].to_string();
  }
}

// Each names the override at line 1 and the column at fault (they printed `--set …: error:` without one).
TEST(YamlInput, SetSyntaxErrorsPointAtTheirColumn) {
  ConfigNode root = parse_yaml_text("seed: 1\n", "base.yaml");
  const std::pair<std::string, int> cases[] = {{"=3", 1}, {"seed", 5}, {"seed=", 6}, {"deployment..replicas=2", 12}};
  for (const auto& [assignment, column] : cases) {
    // clang 14 (the sanitized build) cannot capture a structured binding: an init-capture names it.
    const auto errors = errors_of([&root, &text = assignment] { apply_override(root, text); });
    ASSERT_EQ(errors.size(), 1u) << assignment;
    EXPECT_EQ(errors[0].to_string().rfind("--set " + assignment + ":1:" + std::to_string(column) + ": error: ", 0), 0u)
        << errors[0].to_string();
  }
}

// ---- scenario values ----

class ScenarioValues : public ::testing::Test {
 protected:
  std::vector<InputError> errors_with(const std::string& assignment) {
    return errors_of([&] { load_scenario(kScenarios + "/default.yaml", {assignment}, catalog_); });
  }
  Catalog catalog_ = Catalog::load(kScenarios);
};

// A key the override's section lacks is reported at the override, line 1, column 1.
TEST_F(ScenarioValues, AMissingKeyInASectionASetCreatedIsLocatedAtTheSet) {
  const auto errors = errors_with("performance.model=calibrated");
  ASSERT_EQ(errors.size(), 1u) << all_of(errors);
  EXPECT_EQ(errors[0].to_string().rfind("--set performance.model=calibrated:1:1: error: performance.calibration: ", 0), 0u)
      << errors[0].to_string();
}

// Values SimGrid aborts on or that make the run allocate without bound, and money that is no amount.
TEST_F(ScenarioValues, ValuesThatBreakThePhysicsAreRefusedNamingTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"datacenter.network.frontend.bandwidth_gbit_s=1e308", "datacenter.network.frontend.bandwidth_gbit_s"},
      {"datacenter.network.fabric.server_link_gbit_s=1e308", "datacenter.network.fabric.server_link_gbit_s"},
      {"datacenter.network.fabric.latency_us=1e300", "datacenter.network.fabric.latency_us"},
      {"datacenter.network.frontend.latency_ms=.nan", "datacenter.network.frontend.latency_ms"},
      {"workload.schedule.rate_per_s=1e308", "workload.schedule.rate_per_s"},
      {"workload.think_time_s=inf", "workload.think_time_s"},
      {"workload.sessions=10000000000", "workload.sessions"},
      {"cost.tariff_per_kwh=NaN USD", "cost.tariff_per_kwh"},
      {"cost.gpu_price=-5 USD", "cost.gpu_price"},
      {"cost.network=inf HKD", "cost.network"},
      {"cost.rack_price=1e300 CNY", "cost.rack_price"},
  };
  for (const auto& [assignment, key] : cases) {
    const auto errors = errors_with(assignment);
    EXPECT_TRUE(has_error(errors, std::string("--set ") + assignment, 0, key, "expected")) << assignment << "\n" << all_of(errors);
  }
}

// The table is the one home of every range: each number a scenario holds has a finite upper bound
// (the alert threshold is compared, never computed with).
TEST(ScenarioSchema, EveryNumberHasAFiniteRange) {
  for (const SchemaKey& key : scenario_schema()) {
    const bool numeric = key.type == KeyType::Number || key.type == KeyType::Integer || key.type == KeyType::Money ||
                         key.type == KeyType::Length;
    if (!numeric || key.path == "facility.alerts.<name>.threshold") continue;
    if (key.path == "facility.failures.scripted[].replica" || key.path == "facility.failures.scripted[].rack") continue;
    EXPECT_TRUE(std::isfinite(key.max)) << key.path << " has no upper bound";
    EXPECT_TRUE(std::isfinite(key.min)) << key.path << " has no lower bound";
  }
}

// ---- run size ----

// The limits stop runaways, not the project's own scenarios: each shipped one runs without --allow-long.
TEST(RunSize, EveryShippedScenarioIsWithinTheLimits) {
  const Catalog catalog = Catalog::load(kScenarios);
  std::vector<std::string> files = {kScenarios + "/default.yaml"};
  for (const std::string folder : {"examples", "benchmarks"})
    for (const auto& entry : fs::directory_iterator(kScenarios + "/" + folder))
      if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  for (const auto& file : files) {
    const Scenario scenario = load_scenario(file, {}, catalog);
    const WorkEstimate estimate = estimate_work(scenario);
    EXPECT_LE(estimate.events(), kMaxRunEvents) << file;
    EXPECT_LE(estimate.bytes(), kMaxRunBytes) << file;
    EXPECT_NO_THROW(check_run_size(scenario)) << file;
  }
}

// default.yaml: 10 000 users, each once per 30 s think time at most, over 600 s: 200 000 requests; 3
// servers; 24 replicas checked every 2 s; 60 samples of the time series.
TEST(RunSize, TheEstimateCountsWhatTheScenarioAsksFor) {
  const Catalog catalog = Catalog::load(kScenarios);
  const WorkEstimate estimate = estimate_work(load_scenario(kScenarios + "/default.yaml", {}, catalog));
  ASSERT_EQ(estimate.terms.size(), 5u);
  EXPECT_EQ(estimate.terms[0].what.rfind("2e+05 requests", 0), 0u) << estimate.terms[0].what;
  EXPECT_EQ(estimate.terms[1].what, "1e+04 users");
  EXPECT_EQ(estimate.terms[2].what.rfind("3 servers", 0), 0u) << estimate.terms[2].what;
  EXPECT_EQ(estimate.terms[3].what, "24 replicas and 7.2e+03 health checks");
  EXPECT_EQ(estimate.terms[4].what.rfind("60 time-series samples", 0), 0u) << estimate.terms[4].what;
}

// ---- CSV inputs ----

TEST(TraceCsv, SessionsAndLengthsMustBeWholeNumbersInRange) {
  const std::string path = temp_file("trace.csv",
                                     "arrival_s,prompt_tokens,output_tokens,session\n"
                                     "0.5,100,10,1.5\n"
                                     "1.0,100,10,1e30\n"
                                     "1.5,10000000000,10,3\n"
                                     "2.0,100,nan,4\n"
                                     "2.5,100,10,5\n");
  const auto errors = errors_of([&] { load_trace(path); });
  EXPECT_TRUE(has_error(errors, path, 2, "session", "whole number")) << all_of(errors);
  EXPECT_TRUE(has_error(errors, path, 3, "session", "whole number")) << all_of(errors);
  EXPECT_TRUE(has_error(errors, path, 4, "prompt_tokens", "whole number")) << all_of(errors);
  EXPECT_TRUE(has_error(errors, path, 5, "output_tokens", "whole number")) << all_of(errors);
  EXPECT_EQ(errors.size(), 4u) << all_of(errors);
  for (const auto& e : errors) EXPECT_GT(e.where.column, 0) << e.to_string();
}

TEST(LengthCsv, WeightsThatAreAllZeroAreRefused) {
  const std::string path = temp_file("lengths.csv", "tokens,weight\n64,0\n128,0\n");
  std::vector<double> tokens, weights;
  const auto errors = errors_of([&] { load_empirical_lengths(path, tokens, weights); });
  EXPECT_TRUE(has_error(errors, path, 1, "weight", "positive weight")) << all_of(errors);
  const std::string huge = temp_file("huge.csv", "tokens,weight\n1e10,1\n64,inf\n");
  const auto more = errors_of([&] { load_empirical_lengths(huge, tokens, weights); });
  EXPECT_TRUE(has_error(more, huge, 2, "tokens", "expected")) << all_of(more);
  EXPECT_TRUE(has_error(more, huge, 3, "weight", "expected")) << all_of(more);
}

// A NaN temperature became "annualized nan" PUE in the report.
TEST(WeatherCsv, NaNAndInfinityAreRefusedWithTheirLine) {
  for (const char* bad : {"nan", "inf", "-nan"}) {
    const std::string path = temp_file("weather.csv", std::string("hour,dry_bulb_c,rh_pct\n0,25,80\n1,") + bad + ",80\n");
    try {
      facility::load_weather_csv(path);
      ADD_FAILURE() << bad << " accepted";
    } catch (const facility::WeatherFileError& e) {
      EXPECT_EQ(e.line(), 3) << e.what();
      EXPECT_EQ(e.field(), "dry_bulb_c") << e.what();
    }
  }
}

// ---- the calibrated model ----

// A profile built in memory is held to the reader's line: an empty grid is a clear error, not a crash.
TEST(CalibratedModelInput, AnEmptyGridIsAUserErrorNotACrash) {
  CalibrationProfile p =
      read_calibration_profile(kScenarios + "/calibration/deepseek-llm-7b__h100-80gb-hbm3__bf16-tp1.yaml");
  p.linear.tokens.clear();
  for (auto& op : p.linear.ops) op.time_us.clear();
  const Catalog catalog = Catalog::load(kScenarios);
  DeploymentSpec d;
  d.model = "deepseek-llm-7b";
  EXPECT_THROW(CalibratedModel(p, *catalog.model(d.model), *catalog.gpu("H100-SXM"), *catalog.server("hgx-8"), d), UserError);
}

}  // namespace
}  // namespace aidc
