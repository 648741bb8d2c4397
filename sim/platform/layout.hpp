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
  int first_gpu = 0;         // GPUs [first_gpu, first_gpu + gpus_per_replica) of that server, continuing
                             // onto the next servers (rack by rack) when the replica spans servers
};

des::NetworkLayout make_network_layout(const DatacenterSpec& datacenter);
std::vector<ReplicaPlacement> place_replicas(const DatacenterSpec& datacenter, const ServerSpec& server,
                                             const DeploymentSpec& deployment);
// "tensor_parallel 8 x pipeline_parallel 2 (16 GPUs on 2 servers)", for messages and reports.
std::string layout_text(const DeploymentSpec& deployment, const ServerSpec& server);
std::string rack_name(const DatacenterSpec& datacenter, int rack);

}  // namespace aidc
