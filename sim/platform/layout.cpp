#include "platform/layout.hpp"

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
