// The default (roofline) performance model against published measurements of real serving engines
// (scenarios/validation/benchmarks.yaml: TensorRT-LLM, NIM, vLLM; each with its source). Every case is
// replayed by `aidc run`; the error table is printed, and the test fails when a group's mean absolute
// relative error exceeds the error band the model states in summary.json (model.error_band), so the
// band a planner sees is the error measured here.
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <map>

#include "aidc_child.hpp"

namespace aidc_test {
namespace {

const std::string kValidation = AIDC_VALIDATION_DIR;

struct Group {
  double sum_abs = 0;
  int count = 0;
  double band = 0;
  double mean() const { return count ? sum_abs / count : 0; }
};

TEST(RooflineValidation, MeanAbsoluteErrorWithinTheStatedBand) {
  TempDir dir;
  const YAML::Node index = YAML::LoadFile(kValidation + "/benchmarks.yaml");
  std::map<std::string, Group> groups;  // throughput, latency
  std::string table = "case                                             measured        simulated       error\n";
  char row[256];
  for (const auto& c : index["cases"]) {
    const std::string scenario = c["scenario"].as<std::string>();
    SCOPED_TRACE(scenario);
    const std::string out = dir / scenario;
    run_scenario(kValidation + "/" + scenario, out, {}, dir.str());
    const auto summary = read_json(out + "/summary.json");
    ASSERT_EQ(summary["model"]["kind"], "roofline");
    groups["throughput"].band = summary["model"]["error_band"]["throughput"].get<double>();
    groups["latency"].band = summary["model"]["error_band"]["tpot"].get<double>();
    const auto compare = [&](const char* key, double simulated, const char* group, const char* unit, double scale) {
      if (!c["measured"][key]) return;
      const double measured = c["measured"][key].as<double>();
      const double error = simulated / measured - 1;
      groups[group].sum_abs += std::fabs(error);
      ++groups[group].count;
      std::snprintf(row, sizeof row, "%-48s %9.2f %-5s %9.2f %-5s %+6.1f%%  (%s)\n", scenario.substr(0, scenario.size() - 5).c_str(),
                    measured * scale, unit, simulated * scale, unit, 100 * error, key);
      table += row;
    };
    compare("output_tokens_per_s", summary["throughput"]["output_tokens_per_s"].get<double>(), "throughput", "tok/s", 1);
    compare("tpot_s", summary["latency_s"]["tpot"]["mean"].get<double>(), "latency", "ms", 1000);
    compare("e2e_s", summary["latency_s"]["e2e"]["mean"].get<double>(), "latency", "ms", 1000);
    if (c["measured"]["ttft_s"]) {  // printed, not gated: queueing and the frontend dominate it
      std::snprintf(row, sizeof row, "%-48s %9.2f ms    %9.2f ms    (ttft, not gated)\n", "", 1000 * c["measured"]["ttft_s"].as<double>(),
                    1000 * summary["latency_s"]["ttft"]["mean"].get<double>());
      table += row;
    }
  }
  for (const auto& [name, g] : groups) {
    std::snprintf(row, sizeof row, "%s: mean absolute error %.1f%% over %d cases (band %.0f%%)\n", name.c_str(), 100 * g.mean(), g.count,
                  100 * g.band);
    table += row;
  }
  std::fputs(table.c_str(), stdout);
  ASSERT_EQ(groups.size(), 2u);
  for (const auto& [name, g] : groups) {
    EXPECT_GE(g.count, 6) << name;
    EXPECT_LE(g.mean(), g.band) << name << ": the validation error grew past the band the model states\n" << table;
  }
}

}  // namespace
}  // namespace aidc_test
