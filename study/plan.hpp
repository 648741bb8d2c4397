#pragma once
// aidc plan: the deployment that meets the SLOs at the scenario's load at the least cost (or power),
// found by running candidate deployments through an executor. A candidate is a GPU type, a server
// type, a precision, a replica layout (tensor parallel inside a server; for models that need it,
// expert parallel with data-parallel attention or pipeline stages across servers; or a prefill pool and
// a decode pool of their own layouts, in the ratio of their throughputs) and a batch limit; its size is
// whole servers in whole, evenly filled racks, and every GPU bought serves (replicas = GPUs / GPUs per
// replica, or whole units of the two pools), so the run costs exactly what the plan buys: the plan's money and power
// figures are the winning run's.
// Writes plan.csv (every run) and plan.json (winner, frontier, skipped and pruned candidates) into
// out_dir. docs/plan.md describes the search.
#include <optional>
#include <string>
#include <vector>

#include "study/executors/executor.hpp"

namespace aidc::study {

// Without --margin each run holds its SLO bounds with its own model's expected TPOT error to spare
// (summary.json model.error_band, measured: docs/fidelity.md); a run whose model states no band gets
// this share, the error of published simulators (Vidur < 9%, BLIS 11.8%, APEX 10.7%;
// /work/shared/reference/models-engines-metrics.md).
inline constexpr double kDefaultSloMargin = 0.10;

// API prices a self-hosted deployment is compared with, USD per million tokens: DeepSeek's API list
// price for deepseek-chat (V3), 2025 (api-docs.deepseek.com/quick_start/pricing): input (cache miss)
// 0.27, output 1.10.
inline constexpr double kDefaultApiUsdPerMillionInput = 0.27;
inline constexpr double kDefaultApiUsdPerMillionOutput = 1.10;

struct PlanOptions {
  std::string scenario_file;
  std::vector<std::string> overrides;
  std::vector<std::string> gpus;          // empty: every GPU in the catalog
  std::vector<std::string> server_types;  // empty: every server type that takes the GPU
  std::vector<std::string> precisions;    // empty: the scenario's (quantizing changes answers: the user opts in)
  std::vector<int> max_batch_sequences;   // empty: the scenario's
  // colocated (every replica prefills and decodes) and/or disaggregated (a prefill pool and a decode
  // pool sized together); empty: co-located, and disaggregated too where the model needs several servers
  std::vector<std::string> layouts;
  int max_gpus = 4096;
  std::string objective = "tco";          // capex | tco | cost_per_mtok | kw
  std::optional<double> budget;           // most capex, in the scenario's cost currency
  std::optional<double> rack_kw;          // most nameplate kW per rack; none: by the hall's cooling kind
  bool n_plus_one = false;                // buy one server more than the SLO needs
  std::optional<double> margin;           // every SLO bound must hold with this share to spare; unset: each run's error band
  double api_usd_per_million_input = kDefaultApiUsdPerMillionInput;
  double api_usd_per_million_output = kDefaultApiUsdPerMillionOutput;
  int jobs = 1;
  std::string out_dir;
};

// Nameplate kW a rack may hold by cooling kind, when --rack-kw is not given: air near 20 kW (Hong Kong
// colocation halls offer 8–15 kW; air tops out at 20–30 kW, /work/shared/reference/hardware-and-facility.md),
// direct-to-chip liquid ~60 kW (HGX racks, same reference), immersion 100 kW (estimate: single-phase
// tanks of 50–200 kW).
double default_rack_kw(const std::string& cooling_kind);

// Throws InputErrors for a bad scenario or option; returns kExitDone (common/exit_codes.hpp), also
// when no deployment meets the SLOs (plan.json and stdout say which limit binds).
int run_plan(const PlanOptions& options, RunExecutor& executor);

}  // namespace aidc::study
