#pragma once
#include <memory>

#include "catalog/catalog.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

// The performance model a scenario asks for (performance.model).
std::unique_ptr<PerformanceModel> make_performance_model(const Scenario& scenario, const Catalog& catalog);

}  // namespace aidc
