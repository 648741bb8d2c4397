#pragma once
// From a scenario to a network layout (racks, servers, links for each tier) and to replica
// placement on servers' GPUs. Plain data; sim/des turns the layout into SimGrid zones and links.
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "des/des.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

struct ReplicaPlacement {
  int rack = 0, server = 0;  // indices into the layout
  int first_gpu = 0;         // GPUs [first_gpu, first_gpu + tensor_parallel) of that server
};

des::NetworkLayout make_network_layout(const DatacenterSpec& datacenter);
std::vector<ReplicaPlacement> place_replicas(const DatacenterSpec& datacenter, const ServerSpec& server,
                                             const DeploymentSpec& deployment);
std::string rack_name(const DatacenterSpec& datacenter, int rack);

}  // namespace aidc
