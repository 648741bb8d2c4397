// aidc plan: the cheapest deployment that meets the SLOs at the scenario's load.
// Candidates are (GPU type, tensor parallelism, batch limit); for each, the fewest replicas that
// meet the SLOs is found by bisection, since latency only improves as replicas are added. A
// candidate whose cheapest conceivable size already costs more than the best plan is skipped.
#include "study/plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>

#include "common/atomic_file.hpp"
#include "common/exit_codes.hpp"
#include "common/input_error.hpp"
#include "common/paths.hpp"
#include "perf/capacity.hpp"
#include "perf/model_factory.hpp"
#include "scenario/loader.hpp"

namespace aidc::study {
namespace {

struct Candidate {
  std::string gpu, server_type;
  int tensor_parallel = 1, max_batch_sequences = 256;
  double gpu_price = 0, server_price = 0;
  int gpus_per_server = 8, servers_per_rack = 1;
  double estimated_replicas = 1;  // analytic, from the capacity check
};

struct Evaluation {
  Candidate candidate;
  int replicas = 0;
  bool slo_met = false;
  std::string status = {};  // ok | bad_input | failed
  double ttft_p = 0, tpot_p = 0, e2e_p = 0;
  int gpus() const { return replicas * candidate.tensor_parallel; }
  int servers() const { return (gpus() + candidate.gpus_per_server - 1) / candidate.gpus_per_server; }
  double capex() const { return gpus() * candidate.gpu_price + servers() * candidate.server_price; }
};

std::vector<std::string> overrides_for(const Candidate& c, int replicas, const std::vector<std::string>& base) {
  const int servers = (replicas * c.tensor_parallel + c.gpus_per_server - 1) / c.gpus_per_server;
  const int per_rack = std::min(c.servers_per_rack, servers);
  auto o = base;
  for (const std::string& s : std::vector<std::string>{
           "datacenter.gpu=" + c.gpu, "datacenter.server_type=" + c.server_type, "datacenter.halls=1",
        "datacenter.rows_per_hall=1", "datacenter.servers_per_rack=" + std::to_string(per_rack),
        "datacenter.racks_per_row=" + std::to_string((servers + per_rack - 1) / per_rack),
        "deployment.tensor_parallel=" + std::to_string(c.tensor_parallel), "deployment.replicas=" + std::to_string(replicas),
        "deployment.max_batch_sequences=" + std::to_string(c.max_batch_sequences)})
    o.push_back(s);
  return o;
}

class Planner {
 public:
  Planner(const PlanOptions& options, const Catalog& catalog, RunExecutor& executor)
      : options_(options), catalog_(catalog), executor_(executor) {}

  std::vector<Candidate> candidates(const Scenario& base) {
    std::vector<Candidate> out;
    const auto gpus = options_.gpus.empty() ? catalog_.gpu_ids() : options_.gpus;
    const std::vector<int> batches =
        options_.max_batch_sequences.empty() ? std::vector<int>{base.deployment.max_batch_sequences} : options_.max_batch_sequences;
    for (const auto& gpu_id : gpus) {
      const GpuSpec* gpu = catalog_.gpu(gpu_id);
      if (!gpu) throw_input_error({"--gpus", 0, 0}, "", "unknown GPU '" + gpu_id + "'");
      // The scenario's server type when the GPU fits it, else the first that accepts it.
      const ServerSpec* server = catalog_.server(base.datacenter.server_type);
      if (!server->accepts(*gpu))
        for (const auto& id : catalog_.server_ids())
          if (catalog_.server(id)->accepts(*gpu)) {
            server = catalog_.server(id);
            break;
          }
      if (!server->accepts(*gpu)) continue;
      for (int tp = 1; tp <= server->gpus_per_server; tp *= 2)
        for (int batch : batches) {
          Candidate c{gpu_id, server->id, tp, batch, gpu->price_usd, server->price_usd, server->gpus_per_server,
                      base.datacenter.servers_per_rack};
          if (!estimate(base, c)) continue;
          out.push_back(c);
        }
    }
    // Cheapest-looking first, so pruning bites early.
    std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
      return a.estimated_replicas * a.tensor_parallel * a.gpu_price < b.estimated_replicas * b.tensor_parallel * b.gpu_price;
    });
    return out;
  }

  void search(const std::vector<Candidate>& candidates, const std::string& base_file,
              const std::vector<std::string>& base_overrides) {
    for_each_parallel(candidates.size(), executor_.slots(),
                      [&](std::size_t i) { bisect(candidates[i], base_file, base_overrides); });
  }

  const std::vector<Evaluation>& evaluations() const { return evaluations_; }

 private:
  // Fills the analytic replica estimate; false when the model cannot be deployed this way.
  bool estimate(const Scenario& base, Candidate& c) {
    try {
      Scenario s = read_scenario(resolve_scenario_tree(base.source_file, overrides_for(c, 1, options_.overrides)),
                                 base.source_file, catalog_);
      const auto performance = make_performance_model(s, catalog_);
      const double offered = peak_offered_rate(s.workload);
      const CapacityEstimate cap = estimate_capacity(s, *performance, offered);
      if (cap.replica_requests_per_s <= 0) return false;
      c.estimated_replicas = std::max(1.0, std::ceil(offered / cap.replica_requests_per_s));
      return true;
    } catch (const InputErrors&) {
      return false;  // does not fit memory, TP does not divide the heads, ...
    }
  }

  Evaluation evaluate(const Candidate& c, int replicas, const std::string& file, const std::vector<std::string>& base) {
    const std::string name = c.gpu + "-tp" + std::to_string(c.tensor_parallel) + "-b" +
                             std::to_string(c.max_batch_sequences) + "-r" + std::to_string(replicas);
    const RunResult r = executor_.run(
        {file, overrides_for(c, replicas, base), options_.out_dir + "/runs/" + name, options_.out_dir + "/logs/" + name + ".log"});
    Evaluation e{c, replicas};
    e.status = r.exit_code == kExitDone ? "ok" : r.exit_code == kExitBadInput ? "bad_input" : "failed";
    if (r.summary) {
      const auto& slo = (*r.summary)["slo"];
      e.slo_met = slo["met"].get<bool>();
      e.ttft_p = slo["ttft_at_percentile_s"].get<double>();
      e.tpot_p = slo["tpot_at_percentile_s"].get<double>();
      e.e2e_p = slo["e2e_at_percentile_s"].get<double>();
    }
    std::lock_guard lock(mutex_);
    evaluations_.push_back(e);
    std::printf("  %-32s %4d GPUs  %s  ttft p %.3f s  tpot p %.3f s\n", name.c_str(), e.gpus(),
                e.status != "ok" ? e.status.c_str() : e.slo_met ? "meets SLO " : "misses SLO", e.ttft_p, e.tpot_p);
    std::fflush(stdout);
    if (e.slo_met && (best_capex_ < 0 || e.capex() < best_capex_)) best_capex_ = e.capex();
    return e;
  }

  bool too_expensive(const Candidate& c, int replicas) {
    std::lock_guard lock(mutex_);
    Evaluation probe{c, replicas};
    return best_capex_ >= 0 && probe.capex() >= best_capex_;
  }

  void bisect(const Candidate& c, const std::string& file, const std::vector<std::string>& base) {
    const int max_replicas = std::max(1, options_.max_gpus / c.tensor_parallel);
    // Half the analytic estimate is a safe floor for the search; prune if even that is too costly.
    int low = std::max(1, static_cast<int>(c.estimated_replicas / 2));
    if (too_expensive(c, low)) return;
    int high = std::min(max_replicas, static_cast<int>(c.estimated_replicas));
    while (true) {  // grow until the SLO is met
      if (too_expensive(c, high)) return;
      const Evaluation e = evaluate(c, high, file, base);
      if (e.status != "ok") return;
      if (e.slo_met) break;
      if (high == max_replicas) return;
      low = high + 1;
      high = std::min(max_replicas, high * 2);
    }
    while (low < high) {  // fewest replicas meeting the SLO lies in [low, high]
      const int mid = low + (high - low) / 2;
      const Evaluation e = evaluate(c, mid, file, base);
      if (e.status == "ok" && e.slo_met)
        high = mid;
      else
        low = mid + 1;
    }
  }

  const PlanOptions& options_;
  const Catalog& catalog_;
  RunExecutor& executor_;
  std::mutex mutex_;
  std::vector<Evaluation> evaluations_;
  double best_capex_ = -1;
};

nlohmann::ordered_json to_json(const Evaluation& e) {
  return {{"gpu", e.candidate.gpu},
          {"server_type", e.candidate.server_type},
          {"replicas", e.replicas},
          {"tensor_parallel", e.candidate.tensor_parallel},
          {"max_batch_sequences", e.candidate.max_batch_sequences},
          {"gpus", e.gpus()},
          {"capex_usd", e.capex()},
          {"ttft_p99_s", e.ttft_p},
          {"tpot_p99_s", e.tpot_p},
          {"e2e_p99_s", e.e2e_p},
          {"slo_met", e.slo_met},
          {"status", e.status}};
}

}  // namespace

int run_plan(const PlanOptions& options, RunExecutor& executor) {
  const Catalog catalog = Catalog::load(scenarios_dir());
  const Scenario base = load_scenario(options.scenario_file, options.overrides, catalog);
  Planner planner(options, catalog, executor);
  const auto candidates = planner.candidates(base);
  if (candidates.empty())
    throw_input_error({options.scenario_file, 0, 0}, "deployment.model", "no GPU in the catalog can hold this model");
  std::printf("aidc plan: %zu candidate deployments (GPU x tensor parallel x batch limit)\n", candidates.size());
  planner.search(candidates, options.scenario_file, options.overrides);

  std::vector<Evaluation> all = planner.evaluations();
  std::sort(all.begin(), all.end(), [](const Evaluation& a, const Evaluation& b) {
    return a.capex() < b.capex() || (a.capex() == b.capex() && a.ttft_p < b.ttft_p);
  });
  std::string csv = "gpu,server_type,replicas,tensor_parallel,max_batch_sequences,gpus,capex_usd,ttft_p99_s,tpot_p99_s,e2e_p99_s,slo_met,status\n";
  nlohmann::ordered_json frontier = nlohmann::ordered_json::array();
  const Evaluation* winner = nullptr;
  double best_latency = std::numeric_limits<double>::infinity();
  for (const auto& e : all) {
    char row[512];
    std::snprintf(row, sizeof row, "%s,%s,%d,%d,%d,%d,%.0f,%.6f,%.6f,%.6f,%s,%s\n", e.candidate.gpu.c_str(),
                  e.candidate.server_type.c_str(), e.replicas, e.candidate.tensor_parallel, e.candidate.max_batch_sequences,
                  e.gpus(), e.capex(), e.ttft_p, e.tpot_p, e.e2e_p, e.slo_met ? "true" : "false", e.status.c_str());
    csv += row;
    if (!e.slo_met) continue;
    if (!winner) winner = &e;
    // Pareto frontier of cost against p99 TTFT among the plans that meet the SLOs.
    if (e.ttft_p < best_latency) {
      best_latency = e.ttft_p;
      frontier.push_back(to_json(e));
    }
  }
  nlohmann::ordered_json result = {{"scenario", base.name},
                                   {"winner", winner ? to_json(*winner) : nlohmann::ordered_json()},
                                   {"frontier", frontier},
                                   {"evaluated", all.size()}};
  write_file_atomically(options.out_dir + "/plan.csv", csv);
  write_file_atomically(options.out_dir + "/plan.json", result.dump(2) + "\n");
  if (!winner) {
    std::printf("No deployment up to %d GPUs meets the SLOs. See %s/plan.csv\n", options.max_gpus, options.out_dir.c_str());
    return kExitDone;
  }
  std::printf("\nCheapest deployment meeting the SLOs: %d x %s (%d replicas, TP %d, batch %d) in %s servers, capex $%.0f\n",
              winner->gpus(), winner->candidate.gpu.c_str(), winner->replicas, winner->candidate.tensor_parallel,
              winner->candidate.max_batch_sequences, winner->candidate.server_type.c_str(), winner->capex());
  std::printf("Frontier (capex vs p99 TTFT):\n");
  for (const auto& f : frontier)
    std::printf("  $%-12.0f %4d x %-14s ttft p99 %.3f s\n", f["capex_usd"].get<double>(), f["gpus"].get<int>(),
                f["gpu"].get<std::string>().c_str(), f["ttft_p99_s"].get<double>());
  return kExitDone;
}

}  // namespace aidc::study
