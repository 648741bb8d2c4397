#pragma once
// Turns what a run recorded into the numbers a planner reads: summary.json, requests.csv,
// timeseries.csv and the text report.
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "perf/capacity.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"
#include "serving/metrics.hpp"

namespace aidc {

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
