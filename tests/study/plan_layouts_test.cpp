// `aidc plan` over replica layouts (issue 13): for DeepSeek-R1, which one 8-GPU server of 80 GB cards
// cannot hold, the plan tries layouts across servers (expert parallel with data-parallel attention,
// pipeline stages); what it picks meets the SLOs when run on its own; it never runs a layout whose
// weights and one request's KV do not fit; a model that fits one server is still planned in one server.
// Each test drives the real binary in a temporary folder.
#include <cmath>
#include <map>

#include "sim/aidc_child.hpp"

using namespace aidc_test;

namespace {

const std::string kR1Plan = std::string(AIDC_EXAMPLES) + "/deepseek-r1-plan.yaml";

std::vector<std::map<std::string, std::string>> plan_rows(const std::string& plan_csv) {
  const Csv csv = read_csv(plan_csv);
  std::vector<std::map<std::string, std::string>> rows;
  for (const auto& cells : csv.rows) {
    std::map<std::string, std::string> row;
    for (const auto& [name, column] : csv.column) row[name] = cells.at(column);
    rows.push_back(row);
  }
  return rows;
}

// DeepSeek-V3/R1 by its published config (huggingface.co/deepseek-ai/DeepSeek-R1, config.json): hidden
// 7,168, 61 layers of which 58 MoE, 256 routed experts of intermediate 2,048 (three matrices each), MLA
// caching a 512 + 64 latent per token per layer; 671 B parameters in all (the model card).
constexpr double kParameters = 671.0e9;
constexpr double kExpertParameters = 3.0 * 7168 * 2048;
constexpr int kRoutedExperts = 256, kMoeLayers = 58, kLayers = 61;
constexpr double kKvBytesPerTokenPerLayer = (512 + 64) * 2.0;  // bf16

// Whether one GPU of `memory_gb` holds its share of fp8 weights, the 2 GB reserve and the KV of one
// request of `longest_tokens`, within the usable 90% of its memory (the scenario's defaults).
bool fits(const std::map<std::string, std::string>& row, double memory_gb, double longest_tokens) {
  const int tp = std::stoi(row.at("tensor_parallel")), pp = std::stoi(row.at("pipeline_parallel"));
  const int ep = std::stoi(row.at("expert_parallel")), redundant = std::stoi(row.at("redundant_experts"));
  const double routed = kRoutedExperts * kExpertParameters * kMoeLayers;
  const double weights = row.at("data_parallel_attention") == "true"
                             ? (kParameters - routed) / tp + double(kRoutedExperts + redundant) / ep * kExpertParameters * kMoeLayers
                             : kParameters / (tp * pp);
  const double layers_cached = std::ceil(double(kLayers) / pp);
  return 0.9 * memory_gb * (1 << 30) - weights - 2e9 >= longest_tokens * kKvBytesPerTokenPerLayer * layers_cached;
}

}  // namespace

// 800 users of R1 on H100 or H200 servers, up to 16 GPUs: the plan runs layouts across two servers
// (H100 cannot hold R1 in one), and the winner, run again on its own outside the plan, meets the
// scenario's bounds (p90 TTFT 2 s, TPOT 50 ms).
TEST(PlanLayouts, DeepSeekR1PlanPicksALayoutThatMeetsTheSloInItsOwnRun) {
  TempDir dir;
  const std::vector<std::string> sets = {"workload.users=800", "duration_s=60", "warmup_s=20"};
  std::vector<std::string> args = {"plan", kR1Plan, "--gpus", "H100-SXM,H200-SXM", "--servers", "hgx-8", "--max-gpus", "16",
                                   "-j", "2", "--out", dir / "plan"};
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  const ChildResult plan = run_aidc(args, dir.str());
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  const auto result = read_json(dir / "plan/plan.json");
  const auto winner = result["winner"];
  ASSERT_FALSE(winner.is_null()) << plan.out;

  // Layouts across servers were candidates: H100 ran only such layouts, and the EP family stopped at
  // --max-gpus, saying so.
  bool h100_ran = false, spans_servers = false;
  for (const auto& row : plan_rows(dir / "plan/plan.csv")) {
    const int per_replica = std::stoi(row.at("gpus")) / std::stoi(row.at("replicas"));
    spans_servers = spans_servers || per_replica > 8;
    if (row.at("gpu") == "H100-SXM") {
      h100_ran = true;
      EXPECT_GT(per_replica, 8) << "R1 in fp8 is 671 GB, more than 8 x 80 GB hold: " << row.at("tensor_parallel");
    }
  }
  EXPECT_TRUE(h100_ran && spans_servers) << read_file(dir / "plan/plan.csv");
  bool max_gpus_reported = false;
  for (const auto& s : result["skipped"])
    max_gpus_reported = max_gpus_reported || s["reason"].get<std::string>().find("above --max-gpus 16") != std::string::npos;
  EXPECT_TRUE(max_gpus_reported) << result["skipped"].dump(2);

  // The winner's own run, with what plan.json says was bought.
  std::vector<std::string> alone = sets;
  for (const auto& [key, value] :
       std::map<std::string, std::string>{{"datacenter.gpu", winner["gpu"].get<std::string>()},
                                          {"datacenter.server_type", winner["server_type"].get<std::string>()},
                                          {"datacenter.rows_per_hall", "1"},
                                          {"datacenter.racks_per_row", std::to_string(winner["racks"].get<int>())},
                                          {"datacenter.servers_per_rack", std::to_string(winner["servers_per_rack"].get<int>())},
                                          {"deployment.replicas", std::to_string(winner["replicas"].get<int>())},
                                          {"deployment.tensor_parallel", std::to_string(winner["tensor_parallel"].get<int>())},
                                          {"deployment.pipeline_parallel", std::to_string(winner["pipeline_parallel"].get<int>())},
                                          {"deployment.expert_parallel", std::to_string(winner["expert_parallel"].get<int>())},
                                          {"deployment.data_parallel_attention", winner["data_parallel_attention"].get<bool>() ? "true" : "false"},
                                          {"deployment.redundant_experts", std::to_string(winner["redundant_experts"].get<int>())},
                                          {"deployment.overlap_communication", winner["overlap_communication"].get<bool>() ? "true" : "false"},
                                          {"deployment.max_batch_sequences", std::to_string(winner["max_batch_sequences"].get<int>())},
                                          {"deployment.max_batch_tokens", std::to_string(winner["max_batch_tokens"].get<int>())}})
    alone.push_back(key + "=" + value);
  run_scenario(kR1Plan, dir / "alone", alone, dir.str());
  const auto summary = read_json(dir / "alone/summary.json");
  EXPECT_EQ(summary["gpus"]["count"].get<int>(), winner["gpus"].get<int>());
  ASSERT_GT(summary["requests"]["completed"].get<long long>(), 0);
  EXPECT_LE(summary["slo"]["ttft_at_percentile_s"].get<double>(), 2.0) << summary["slo"].dump();
  EXPECT_LE(summary["slo"]["tpot_at_percentile_s"].get<double>(), 0.05) << summary["slo"].dump();
  EXPECT_DOUBLE_EQ(summary["cost"]["capex"].get<double>(), winner["capex"].get<double>());
}

// Every layout the plan ran holds R1's fp8 weights and the KV of its longest request (8,192 + 8,192
// tokens) by the model's own config, and the layouts that do not were skipped as not fitting.
TEST(PlanLayouts, NeverRunsALayoutTheMemoryPlanRejects) {
  TempDir dir;
  const ChildResult plan = run_aidc({"plan", kR1Plan, "--gpus", "H100-SXM,H200-SXM,H20,MI300X", "--servers", "hgx-8", "--max-gpus", "32",
                                     "--set", "workload.users=400", "--set", "duration_s=40", "--set", "warmup_s=10", "-j", "2", "--out",
                                     dir / "plan"},
                                    dir.str());
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  const std::map<std::string, double> memory_gb = {{"H100-SXM", 80}, {"H200-SXM", 141}, {"H20", 96}, {"MI300X", 192}};
  const auto rows = plan_rows(dir / "plan/plan.csv");
  ASSERT_FALSE(rows.empty()) << plan.out;
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("status"), "ok") << row.at("gpu") << " tp " << row.at("tensor_parallel");
    EXPECT_TRUE(fits(row, memory_gb.at(row.at("gpu")), 16384))
        << row.at("gpu") << " tp " << row.at("tensor_parallel") << " pp " << row.at("pipeline_parallel") << " ep "
        << row.at("expert_parallel");
  }
  // One 8 x H100 server cannot hold R1 with tensor parallelism: skipped, with the memory plan's reason.
  bool h100_tp8_skipped = false;
  const auto result = read_json(dir / "plan/plan.json");
  for (const auto& s : result["skipped"])
    if (s["candidate"].get<std::string>() == "H100-SXM/hgx-8/fp8/tp8/b256")
      h100_tp8_skipped = s["reason"].get<std::string>().find("does not fit") != std::string::npos;
  EXPECT_TRUE(h100_tp8_skipped) << plan.out;
}

// deepseek-llm-7b fits one H100: the plan keeps to tensor parallelism inside a server, as before.
TEST(PlanLayouts, ModelThatFitsOneServerIsPlannedInsideOneServer) {
  TempDir dir;
  const ChildResult plan =
      run_aidc({"plan", std::string(AIDC_TEST_FIXTURES) + "/closed_loop.yaml", "--set", "duration_s=40", "--set", "slo.ttft_s=1", "--set",
                "slo.tpot_s=0.05", "--gpus", "H100-SXM", "--servers", "hgx-8", "--max-batch", "64", "--max-gpus", "16", "--margin", "0",
                "--out", dir / "plan"},
               dir.str());
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  const auto winner = read_json(dir / "plan/plan.json")["winner"];
  ASSERT_FALSE(winner.is_null()) << plan.out;
  EXPECT_EQ(winner["gpus_per_replica"].get<int>(), winner["tensor_parallel"].get<int>());
  for (const auto& row : plan_rows(dir / "plan/plan.csv")) {
    EXPECT_EQ(row.at("pipeline_parallel"), "1");
    EXPECT_EQ(row.at("expert_parallel"), "1");
    EXPECT_EQ(row.at("data_parallel_attention"), "false");
    EXPECT_EQ(std::stoi(row.at("gpus")) / std::stoi(row.at("replicas")), std::stoi(row.at("tensor_parallel")));
  }
}
