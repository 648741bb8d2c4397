#pragma once
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

// Reads a scenario file, follows `extends:` chains, applies `--set key.path=value` overrides, reads
// every key, and checks the result against the catalogs. Throws InputErrors listing every problem.
Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides, const Catalog& catalog);

// The merged YAML tree after `extends:` and overrides, before reading it.
ConfigNode resolve_scenario_tree(const std::string& path, const std::vector<std::string>& overrides);

// Reads and checks an already-resolved tree (what `load_scenario` does after resolving).
Scenario read_scenario(const ConfigNode& tree, const std::string& source_file, const Catalog& catalog);

// Why `gpu` cannot run weights at `precision` (fp8 needs fp8 units: Hopper, Ada, MI300X; a part without
// them, Ampere or Ascend 910B, serves weight-only int8 or int4, as issue 13 plans them); empty when it can.
std::string weight_precision_refusal(Precision precision, const GpuSpec& gpu);

// For a command that serves each request whole on one pool of replicas: when the scenario is
// disaggregated, throws InputErrors (exit 2) naming deployment.prefill or deployment.decode, where the
// scenario sets it, `command` and `why`.
void require_one_pool(const Scenario& scenario, const std::string& command, const std::string& why);

}  // namespace aidc
