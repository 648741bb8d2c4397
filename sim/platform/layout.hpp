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
// Where the replicas of a disaggregated deployment run: prefill (0 … P−1) then decode (P … P+D−1),
// packed from the first server on. A pool's replicas fill each server before the next; the decode pool
// goes on filling the prefill pool's last server when their GPU and server type are the same (a
// KV transfer then stays on NVLink), else starts on the next server. A replica larger than a server
// takes whole servers.
struct PoolPlacement {
  std::vector<ReplicaPlacement> replicas;
  std::vector<const PoolSpec*> server_pool;  // per server used, from the first: a pool on it (sets its type)
  int pool_servers[2] = {0, 0};              // servers each pool's replicas use, prefill and decode
};
PoolPlacement place_pools(const DatacenterSpec& datacenter, const Disaggregation& pools, const Catalog& catalog);
// Every server of the datacenter, rack by rack, as built: its GPU and server type, and the pool whose
// replicas it carries (0 prefill, 1 decode; -1: co-located, or no pool's). Disaggregated, the servers
// place_pools uses are of their pool's types (one both pools share counts as the prefill pool's) and
// the rest of the datacenter's.
struct InstalledServer {
  const GpuSpec* gpu = nullptr;
  const ServerSpec* server = nullptr;
  int pool = -1;
};
std::vector<InstalledServer> installed_servers(const Scenario& scenario, const Catalog& catalog);
// What a disaggregated run moves KV caches over: the datacenter's layout with full-duplex NICs and
// uplinks, and on each server the pools use an NVLink loopback carrying transfers between its own GPUs.
des::NetworkLayout make_kv_network_layout(const DatacenterSpec& datacenter, const PoolPlacement& placement, const Catalog& catalog);
// "tensor_parallel 8 x pipeline_parallel 2 (16 GPUs on 2 servers)", for messages and reports.
std::string layout_text(const DeploymentSpec& deployment, const ServerSpec& server);
std::string rack_name(const DatacenterSpec& datacenter, int rack);

}  // namespace aidc
