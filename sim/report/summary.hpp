#pragma once
// Turns what a run recorded into the numbers a planner reads: summary.json, requests.csv,
// timeseries.csv and the text report.
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"
#include "serving/metrics.hpp"

namespace aidc {

struct CapacityEstimate {
  double rule_of_thumb_gpus = 0;     // the seeds' 2 A100 per 1,000 concurrent users (closed loop only)
  double offered_requests_per_s = 0;
  double replica_requests_per_s = 0;  // sustainable by one replica under the TPOT SLO (analytic)
  int batch_at_slo = 0;               // the decode batch that sustains it
  double estimated_min_gpus = 0;
};

// Analytic check of capacity, independent of the event simulation: the largest decode batch whose
// step time meets the TPOT SLO and fits the KV cache, and the GPU time each request then costs.
CapacityEstimate estimate_capacity(const Scenario& scenario, const Catalog& catalog, const PerformanceModel& performance,
                                   double offered_requests_per_s);

nlohmann::ordered_json make_summary(const Scenario& scenario, const Catalog& catalog, const RunRecord& run,
                                    const CapacityEstimate& capacity);
// make_summary with the capacity estimate for the load the run offered after the warm-up.
nlohmann::ordered_json summarize_run(const Scenario& scenario, const Catalog& catalog, const RunRecord& run,
                                     const PerformanceModel& performance);

// Columns a measured run appends to requests.csv after aidc run's (aidc load: the HTTP status and
// the error), so readers of aidc run's columns read both.
struct ExtraRequestColumns {
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> cells;  // [request][column], CSV-quoted where they need it
};
void write_requests_csv(std::ostream& out, const RunRecord& run, const ExtraRequestColumns* extra = nullptr);
std::string timeseries_csv(const RunRecord& run);
std::string text_report(const Scenario& scenario, const nlohmann::ordered_json& summary);

// Writes summary.json, requests.csv, timeseries.csv, report.txt and scenario.yaml into `dir`,
// each file atomically.
void write_run_outputs(const std::string& dir, const Scenario& scenario, const nlohmann::ordered_json& summary,
                       const RunRecord& run, const ExtraRequestColumns* extra = nullptr);

}  // namespace aidc
