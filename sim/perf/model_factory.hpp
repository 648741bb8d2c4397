#pragma once
#include <memory>

#include "catalog/catalog.hpp"
#include "perf/performance_model.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

// The performance model a scenario asks for (performance.model); disaggregated, the prefill pool's.
std::unique_ptr<PerformanceModel> make_performance_model(const Scenario& scenario, const Catalog& catalog);
// The model of one pool of a disaggregated deployment: its GPU, server type and layout.
std::unique_ptr<PerformanceModel> make_pool_performance_model(const Scenario& scenario, const Catalog& catalog, const PoolSpec& pool);

}  // namespace aidc
