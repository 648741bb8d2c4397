// Inputs that used to crash or hang `aidc`, through the real CLI: each is now exit 2 with
// FILE:LINE:COL and nothing written, or — where the value is valid — a clean run. SimGrid never
// sees a link it cannot time (a latency of 1e-320 s made it abort with "The Impossible Did Happen").
#include <string>

#include "aidc_child.hpp"

namespace aidc_test {
namespace {

const std::string kDefault = std::string(AIDC_TEST_SCENARIOS_DIR) + "/default.yaml";

// `aidc run` of `args` in a fresh folder: exit 2, the error line starting with `location`, and nothing
// left in the folder.
void expect_refused(const std::vector<std::string>& args, const std::string& location, const std::string& words) {
  TempDir cwd;
  std::vector<std::string> all = {"run"};
  all.insert(all.end(), args.begin(), args.end());
  all.insert(all.end(), {"--out", "out", "--progress", "none"});
  const ChildResult r = run_aidc(all, cwd.str());
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_EQ(r.err.rfind(location, 0), 0u) << "expected the error to start with " << location << "\n" << describe(r);
  EXPECT_NE(r.err.find(words), std::string::npos) << describe(r);
  EXPECT_TRUE(fs::is_empty(cwd.path())) << "bad input left output behind";
}

TEST(HardeningCli, AYamlAliasBombIsRefusedNotExpanded) {
  TempDir dir;
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 9; ++level) {
    text += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) text += std::string(i ? ", " : "") + "*a" + std::to_string(level - 1);
    text += "]\n";
  }
  const std::string path = dir / "laughs.yaml";
  std::ofstream(path) << text;
  expect_refused({path}, path + ":", "expands to more than");
}

TEST(HardeningCli, AScenarioThatIsNotUtf8IsRefused) {
  TempDir dir;
  const std::string path = dir / "latin1.yaml";
  std::ofstream(path, std::ios::binary) << "extends: " << kDefault << "\nname: caf\xe9\n";
  expect_refused({path}, path + ":2:10: error:", "not UTF-8");
}

TEST(HardeningCli, ALinkOfAPetabitPerSecondPlusIsRefusedByItsKey) {
  expect_refused({kDefault, "--set", "datacenter.network.frontend.bandwidth_gbit_s=1e308"},
                 "--set datacenter.network.frontend.bandwidth_gbit_s=1e308:1:1: error: datacenter.network.frontend.bandwidth_gbit_s:",
                 "expected a number in");
}

// 1e-320 ms is a valid latency (≥ 0); below SimGrid's nanosecond precision it is taken as none.
TEST(HardeningCli, ASubnanosecondLatencyRunsAsNone) {
  TempDir cwd;
  const ChildResult r = run_scenario(kDefault, "out",
                                     {"duration_s=20", "warmup_s=0", "datacenter.network.frontend.latency_ms=1e-320",
                                      "datacenter.network.fabric.latency_us=1e-310"},
                                     cwd.str());
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(fs::exists(cwd / "out/summary.json")) << describe(r);
}

TEST(HardeningCli, ACalibrationProfileWithAnEmptyGridIsRefusedWithItsPlace) {
  TempDir dir;
  const std::string profile = std::string(AIDC_TEST_SCENARIOS_DIR) + "/calibration/deepseek-llm-7b__h100-80gb-hbm3__bf16-tp1.yaml";
  std::string text = read_file(profile);
  const std::string grid = text.substr(text.find("    tokens: ["), text.find('\n', text.find("    tokens: [")) - text.find("    tokens: ["));
  text.replace(text.find(grid), grid.size(), "    tokens: []");
  const std::string bad = dir / "empty-grid.yaml";
  std::ofstream(bad) << text;
  expect_refused({std::string(AIDC_TEST_SCENARIOS_DIR) + "/examples/calibrated-h100.yaml", "--set",
                  "performance.calibration=" + bad},
                 bad + ":", "operators.linear.tokens: expected at least one grid point");
}

}  // namespace
}  // namespace aidc_test
