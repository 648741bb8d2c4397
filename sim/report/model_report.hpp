#pragma once
// The model block of a run's outputs (docs/fidelity.md, "Error bands"): which performance model the
// run used, the error to expect from it, and whether the run left the range it was checked on.
#include <nlohmann/json.hpp>
#include <string>

#include "perf/performance_model.hpp"

namespace aidc {

// summary.json's "model": kind, error_band {throughput, tpot} (relative), where the band comes from,
// the checked and the seen range, and out_of_range (each way the run left the checked range).
nlohmann::ordered_json model_summary(const PerformanceModel& performance);
// The report's lines for that block; empty when the summary has none (a measured run).
std::string model_text_report(const nlohmann::ordered_json& summary);

}  // namespace aidc
