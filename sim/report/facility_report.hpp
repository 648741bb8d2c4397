#pragma once
// The facility and money part of a run's outputs: summary.json keys power, pue, energy, thermal,
// availability, alerts, cost, carbon; the timeseries.csv columns; the energy balance in the report.
// Every function does nothing when the run had no facility model.
#include <nlohmann/json.hpp>
#include <string>

#include "catalog/catalog.hpp"
#include "scenario/scenario.hpp"
#include "serving/metrics.hpp"

namespace aidc {

// Adds the facility keys to a summary that already has `throughput` (output tokens per year -> cost).
void add_facility_summary(nlohmann::ordered_json& summary, const Scenario& scenario, const Catalog& catalog,
                          const RunRecord& run);
// ",it_kw,facility_kw,pue,ambient_c,rack0_kw,rack0_gpu_max_c,..." and the cells of interval `bin`.
std::string facility_timeseries_header(const RunRecord& run);
std::string facility_timeseries_cells(const RunRecord& run, std::size_t bin);
// The report's facility section: energy balance, PUE, temperatures, outages, alerts, cost, carbon.
std::string facility_text_report(const Scenario& scenario, const nlohmann::ordered_json& summary);

}  // namespace aidc
