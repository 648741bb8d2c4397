// `aidc plan` over disaggregated pools (issue 13): a candidate is a prefill pool and a decode pool, each of
// its own layout on whole servers, bought in whole units in the ratio of the pools' throughputs. What the
// plan picks meets the SLOs in its own run (TTFT there includes the KV transfer, docs/deepseek-scale.md)
// and costs what the plan says, pool by pool; a model that fits one server gets no such candidates
// unless asked. Each test drives the real binary in a temporary folder.
#include <set>

#include "sim/aidc_child.hpp"

using namespace aidc_test;

namespace {

const std::string kR1Plan = std::string(AIDC_EXAMPLES) + "/deepseek-r1-plan.yaml";

// Every candidate the plan names anywhere: run (plan.csv rows' disaggregated column), skipped or pruned.
std::set<std::string> candidate_labels(const nlohmann::json& plan) {
  std::set<std::string> labels;
  for (const char* list : {"skipped", "pruned"})
    for (const auto& s : plan[list]) labels.insert(s["candidate"].get<std::string>());
  return labels;
}
bool any_disaggregated(const std::string& plan_dir) {
  const Csv csv = read_csv(plan_dir + "/plan.csv");
  for (const auto& row : csv.rows)
    if (row.at(csv.column.at("disaggregated")) == "true") return true;
  for (const auto& label : candidate_labels(read_json(plan_dir + "/plan.json")))
    if (label.find("/pd-") != std::string::npos) return true;
  return false;
}

}  // namespace

// 800 users of R1 on H200 or H800 servers, disaggregated only, up to 32 GPUs: the winner is a prefill
// pool and a decode pool; run on its own with the pools plan.json gives, it meets the scenario's bounds
// (p90 TTFT 2 s, TPOT 50 ms) and costs what the plan says, in all and per pool; pools are whole servers.
TEST(PlanDisaggregated, DeepSeekR1WinnerMeetsTheSloAndCostsWhatThePlanSaysInItsOwnRun) {
  TempDir dir;
  const std::vector<std::string> sets = {"workload.users=800", "duration_s=60", "warmup_s=20"};
  std::vector<std::string> args = {"plan",     kR1Plan, "--gpus", "H200-SXM,H800", "--servers", "hgx-8,hgx-h800-8", "--max-gpus", "32",
                                   "--layouts", "disaggregated", "-j", "2", "--out", dir / "plan"};
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  const ChildResult plan = run_aidc(args, dir.str());
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  const auto result = read_json(dir / "plan/plan.json");
  const auto winner = result["winner"];
  ASSERT_FALSE(winner.is_null()) << plan.out;
  ASSERT_TRUE(winner["disaggregated"].get<bool>()) << winner.dump(2);
  const auto& prefill = winner["pools"]["prefill"];
  const auto& decode = winner["pools"]["decode"];
  // Every GPU bought serves in one pool or the other, on whole 8-GPU servers.
  EXPECT_EQ(prefill["gpus"].get<int>() + decode["gpus"].get<int>(), winner["gpus"].get<int>());
  EXPECT_EQ(prefill["servers"].get<int>() + decode["servers"].get<int>(), winner["servers"].get<int>());
  for (const auto* pool : {&prefill, &decode}) {
    EXPECT_EQ((*pool)["gpus"].get<int>(), (*pool)["replicas"].get<int>() * (*pool)["gpus_per_replica"].get<int>());
    EXPECT_EQ((*pool)["gpus"].get<int>(), 8 * (*pool)["servers"].get<int>());
  }
  // plan.csv says the same pools.
  const Csv csv = read_csv(dir / "plan/plan.csv");
  bool row_found = false;
  for (const auto& row : csv.rows) {
    auto cell = [&](const char* name) { return row.at(csv.column.at(name)); };
    if (cell("disaggregated") != "true" || std::stod(cell("capex")) != std::round(winner["capex"].get<double>())) continue;
    row_found = true;
    EXPECT_EQ(std::stoi(cell("prefill_gpus")), prefill["gpus"].get<int>());
    EXPECT_EQ(std::stoi(cell("decode_servers")), decode["servers"].get<int>());
    EXPECT_EQ(cell("slo_percentile"), "90");
  }
  EXPECT_TRUE(row_found) << read_file(dir / "plan/plan.csv");
  // Sizes that could not beat the winner were pruned by their cost floor, which is at least its TCO
  // (printed to the unit).
  for (const auto& p : result["pruned"]) {
    const std::string reason = p["reason"].get<std::string>();
    const auto at = reason.find("cost at least ");
    if (at != std::string::npos) EXPECT_GE(std::stod(reason.substr(at + 14)) + 0.5, winner["tco"].get<double>()) << reason;
  }

  // The winner's own run, with what plan.json says was bought.
  std::vector<std::string> alone = sets;
  for (const auto& [key, value] : std::map<std::string, std::string>{
           {"datacenter.gpu", winner["gpu"].get<std::string>()},
           {"datacenter.server_type", winner["server_type"].get<std::string>()},
           {"datacenter.rows_per_hall", "1"},
           {"datacenter.racks_per_row", std::to_string(winner["racks"].get<int>())},
           {"datacenter.servers_per_rack", std::to_string(winner["servers_per_rack"].get<int>())}})
    alone.push_back(key + "=" + value);
  for (const auto& [name, pool] : {std::pair<std::string, nlohmann::json>{"prefill", prefill}, {"decode", decode}})
    for (const char* key : {"replicas", "tensor_parallel", "pipeline_parallel", "expert_parallel", "redundant_experts", "max_batch_sequences",
                            "max_batch_tokens"})
      alone.push_back("deployment." + name + "." + key + "=" + std::to_string(pool[key].get<int>()));
  for (const auto& [name, pool] : {std::pair<std::string, nlohmann::json>{"prefill", prefill}, {"decode", decode}})
    for (const char* key : {"data_parallel_attention", "overlap_communication"})
      alone.push_back("deployment." + name + "." + key + "=" + (pool[key].get<bool>() ? "true" : "false"));
  run_scenario(kR1Plan, dir / "alone", alone, dir.str());
  const auto summary = read_json(dir / "alone/summary.json");
  EXPECT_EQ(summary["gpus"]["count"].get<int>(), winner["gpus"].get<int>());
  ASSERT_GT(summary["requests"]["completed"].get<long long>(), 0);
  EXPECT_GT(summary["pools"]["kv_transfer"]["transfers"].get<long long>(), 0) << "the KV caches moved between the pools";
  EXPECT_LE(summary["slo"]["ttft_at_percentile_s"].get<double>(), 2.0) << summary["slo"].dump();
  EXPECT_LE(summary["slo"]["tpot_at_percentile_s"].get<double>(), 0.05) << summary["slo"].dump();
  EXPECT_DOUBLE_EQ(summary["cost"]["capex"].get<double>(), winner["capex"].get<double>());
  EXPECT_DOUBLE_EQ(summary["cost"]["pools"]["prefill"]["capex"].get<double>(), prefill["capex"].get<double>());
  EXPECT_DOUBLE_EQ(summary["cost"]["pools"]["decode"]["capex"].get<double>(), decode["capex"].get<double>());
}

// By default disaggregated candidates are added where no layout inside one server holds the model: for
// R1 on H100 (80 GB: 83.9 GB of fp8 weights per GPU at TP 8), not on H200 (141 GB).
TEST(PlanDisaggregated, ByDefaultOnlyWhereTheModelNeedsSeveralServers) {
  TempDir dir;
  const ChildResult plan = run_aidc({"plan", kR1Plan, "--gpus", "H100-SXM,H200-SXM", "--servers", "hgx-8", "--max-gpus", "32", "--set",
                                     "workload.users=400", "--set", "duration_s=40", "--set", "warmup_s=10", "-j", "2", "--out", dir / "plan"},
                                    dir.str());
  ASSERT_EQ(plan.exit_code, 0) << describe(plan);
  bool h100_pools = false;
  for (const auto& label : candidate_labels(read_json(dir / "plan/plan.json"))) {
    EXPECT_FALSE(label.rfind("H200-SXM/", 0) == 0 && label.find("/pd-") != std::string::npos) << label;
    h100_pools = h100_pools || (label.rfind("H100-SXM/", 0) == 0 && label.find("/pd-") != std::string::npos);
  }
  const Csv csv = read_csv(dir / "plan/plan.csv");
  for (const auto& row : csv.rows) {
    const bool pools = row.at(csv.column.at("disaggregated")) == "true";
    EXPECT_FALSE(pools && row.at(csv.column.at("gpu")) == "H200-SXM");
    h100_pools = h100_pools || (pools && row.at(csv.column.at("gpu")) == "H100-SXM");
  }
  EXPECT_TRUE(h100_pools) << plan.out;
}

// deepseek-llm-7b fits one H100: no disaggregated candidates unless --layouts asks for them.
TEST(PlanDisaggregated, ModelThatFitsOneServerGetsPoolsOnlyWhenAsked) {
  TempDir dir;
  const std::vector<std::string> common = {"plan", std::string(AIDC_TEST_FIXTURES) + "/closed_loop.yaml", "--set", "duration_s=40", "--set",
                                           "slo.ttft_s=1", "--set", "slo.tpot_s=0.05", "--gpus", "H100-SXM", "--servers", "hgx-8",
                                           "--max-batch", "64", "--max-gpus", "16", "--margin", "0"};
  auto plan = [&](const std::string& out, const std::vector<std::string>& more) {
    std::vector<std::string> args = common;
    args.insert(args.end(), more.begin(), more.end());
    args.insert(args.end(), {"--out", dir / out});
    const ChildResult r = run_aidc(args, dir.str());
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return dir / out;
  };
  EXPECT_FALSE(any_disaggregated(plan("default", {})));
  EXPECT_TRUE(any_disaggregated(plan("asked", {"--layouts", "colocated,disaggregated"})));
}
