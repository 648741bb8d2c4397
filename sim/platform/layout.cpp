#include "platform/layout.hpp"

#include <algorithm>
#include <cstdio>

namespace aidc {
namespace {

constexpr double kBitsPerByte = 8.0;

des::LinkParams gbit_link(double gbit_s, double latency_s) { return {gbit_s * 1e9 / kBitsPerByte, latency_s}; }

}  // namespace

std::string rack_name(const DatacenterSpec& dc, int rack) {
  const int per_hall = dc.rows_per_hall * dc.racks_per_row;
  char name[64];
  std::snprintf(name, sizeof name, "hall%d-row%d-rack%d", rack / per_hall + 1, rack % per_hall / dc.racks_per_row + 1,
                rack % dc.racks_per_row + 1);
  return name;
}

des::NetworkLayout make_network_layout(const DatacenterSpec& dc) {
  des::NetworkLayout layout;
  const double hop_s = dc.fabric.latency_us * 1e-6;
  const double rack_uplink_gbit = dc.servers_per_rack * dc.fabric.server_link_gbit_s / dc.fabric.oversubscription;
  layout.frontend = gbit_link(dc.frontend.bandwidth_gbit_s, dc.frontend.latency_ms * 1e-3);
  layout.balancer = gbit_link(dc.fabric.server_link_gbit_s, hop_s);
  // The spine is non-blocking for the uplinks it serves; contention sits in rack uplinks.
  layout.spine = gbit_link(rack_uplink_gbit * dc.racks(), hop_s);
  for (int r = 0; r < dc.racks(); ++r) {
    des::RackLayout rack;
    rack.name = rack_name(dc, r);
    rack.server_link = gbit_link(dc.fabric.server_link_gbit_s, hop_s);
    rack.uplink = gbit_link(rack_uplink_gbit, hop_s);
    for (int s = 0; s < dc.servers_per_rack; ++s) rack.servers.push_back(rack.name + "-server" + std::to_string(s + 1));
    layout.racks.push_back(std::move(rack));
  }
  return layout;
}

// pack: fill each server before the next (fewest servers powered); spread: one replica per server
// in turn, across racks first (most failure isolation, least rack power density). A replica larger
// than a server takes whole consecutive servers (rack by rack) whatever the policy.
std::vector<ReplicaPlacement> place_replicas(const DatacenterSpec& dc, const ServerSpec& server,
                                             const DeploymentSpec& d) {
  const int gpus = d.gpus_per_replica();
  const int servers = dc.servers();
  std::vector<ReplicaPlacement> placements;
  for (int r = 0; r < d.replicas; ++r) {
    int server_index, slot;
    if (gpus > server.gpus_per_server) {
      server_index = r * (gpus / server.gpus_per_server);
      slot = 0;
    } else if (d.placement == "spread") {
      const int turn = r % servers;
      // Walk racks first: server k of rack 0, then of rack 1, ...
      server_index = (turn % dc.racks()) * dc.servers_per_rack + turn / dc.racks();
      slot = r / servers;
    } else {
      const int slots_per_server = server.gpus_per_server / gpus;
      server_index = r / slots_per_server;
      slot = r % slots_per_server;
    }
    placements.push_back({server_index / dc.servers_per_rack, server_index % dc.servers_per_rack, slot * gpus});
  }
  return placements;
}

PoolPlacement place_pools(const DatacenterSpec& dc, const Disaggregation& pools, const Catalog& catalog) {
  PoolPlacement placement;
  int free_gpus = 0;  // on the last server used
  int pool_index = 0;
  for (const PoolSpec* pool : {&pools.prefill, &pools.decode}) {
    const int per_server = catalog.server(pool->server_type)->gpus_per_server;
    const int gpus = pool->deployment.gpus_per_replica();
    const PoolSpec* last = placement.server_pool.empty() ? nullptr : placement.server_pool.back();
    if (!last || last->gpu != pool->gpu || last->server_type != pool->server_type) free_gpus = 0;
    const std::size_t first_server = placement.server_pool.size() - (free_gpus > 0 ? 1 : 0);
    for (int r = 0; r < pool->deployment.replicas; ++r) {
      if (gpus > free_gpus) {  // a new server, or whole servers for a replica larger than one
        free_gpus = per_server;
        for (int s = 0; s < std::max(1, gpus / per_server); ++s) placement.server_pool.push_back(pool);
      }
      const int server = static_cast<int>(placement.server_pool.size()) - std::max(1, gpus / per_server);
      placement.replicas.push_back({server / dc.servers_per_rack, server % dc.servers_per_rack, per_server - free_gpus});
      free_gpus = gpus >= per_server ? 0 : free_gpus - gpus;
    }
    placement.pool_servers[pool_index++] = static_cast<int>(placement.server_pool.size() - first_server);
  }
  return placement;
}

std::vector<InstalledServer> installed_servers(const Scenario& s, const Catalog& catalog) {
  std::vector<InstalledServer> servers(static_cast<std::size_t>(s.datacenter.servers()),
                                       {catalog.gpu(s.datacenter.gpu), catalog.server(s.datacenter.server_type), -1});
  if (!s.disaggregation) return servers;
  const std::vector<const PoolSpec*> used = place_pools(s.datacenter, *s.disaggregation, catalog).server_pool;
  for (std::size_t i = 0; i < used.size() && i < servers.size(); ++i)
    servers[i] = {catalog.gpu(used[i]->gpu), catalog.server(used[i]->server_type), used[i] == &s.disaggregation->prefill ? 0 : 1};
  return servers;
}

des::NetworkLayout make_kv_network_layout(const DatacenterSpec& dc, const PoolPlacement& placement, const Catalog& catalog) {
  des::NetworkLayout layout = make_network_layout(dc);
  std::size_t server = 0;
  for (des::RackLayout& rack : layout.racks) {
    rack.server_link.full_duplex = rack.uplink.full_duplex = true;
    for (std::size_t s = 0; s < rack.servers.size() && server < placement.server_pool.size(); ++s, ++server) {
      const PoolSpec& pool = *placement.server_pool[server];
      const ServerSpec& type = *catalog.server(pool.server_type);
      // Every GPU's NVLink port at once: the most the server's GPUs exchange between them, one direction.
      // No latency: NVLink's is below a microsecond, and any would cap the flow at SimGrid's TCP window
      // over it (network/TCP-gamma: 4 MiB / (2 × latency), 2.1 TB/s at 1 µs), which NVLink does not have.
      rack.nvlinks.push_back({type.gpus_per_server * type.gpu_to_gpu_gb_s(*catalog.gpu(pool.gpu)) * 1e9, 0});
    }
  }
  return layout;
}

std::string layout_text(const DeploymentSpec& d, const ServerSpec& server) {
  std::string text = d.data_parallel_attention
                         ? "expert_parallel " + std::to_string(d.expert_parallel) + " with data_parallel_attention (" +
                               std::to_string(d.attention_groups()) + " groups of tensor_parallel " + std::to_string(d.tensor_parallel) + ")"
                         : "tensor_parallel " + std::to_string(d.tensor_parallel);
  if (d.pipeline_parallel > 1) text += " x pipeline_parallel " + std::to_string(d.pipeline_parallel);
  if (!d.data_parallel_attention && d.expert_parallel > 1) text += ", expert_parallel " + std::to_string(d.expert_parallel);
  const int gpus = d.gpus_per_replica();
  if (gpus > server.gpus_per_server)
    text += " (" + std::to_string(gpus) + " GPUs on " + std::to_string(gpus / server.gpus_per_server) + " servers)";
  return text;
}

}  // namespace aidc
