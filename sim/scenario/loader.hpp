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

// For a command that serves each request whole on one pool of replicas: when the scenario is
// disaggregated, throws InputErrors (exit 2) naming deployment.prefill or deployment.decode, where the
// scenario sets it, `command` and `why`.
void require_one_pool(const Scenario& scenario, const std::string& command, const std::string& why);

}  // namespace aidc
