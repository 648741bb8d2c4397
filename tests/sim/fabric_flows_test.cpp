// Collectives on the network model: an expert-parallel all-to-all between servers, run as SimGrid
// flows on the platform's links (NIC -> ToR -> uplink -> spine, full duplex), takes the time
// all_to_all_seconds gives on an uncontended fabric, and longer when the ToR uplinks are
// oversubscribed, again as the formula says. Each test runs in its own process (one SimGrid engine).
#include <gtest/gtest.h>

#include <vector>

#include "des/des.hpp"
#include "perf/collectives.hpp"
#include "platform/layout.hpp"

namespace aidc {
namespace {

constexpr int kGpusPerServer = 8;
constexpr double kLinkGbitS = 400, kLatencyUs = 1;
constexpr double kBytesPerGpu = 64e6;  // what each GPU sends in one all-to-all, spread over every rank

// Every server sends each other server the share its GPUs address to that server's GPUs.
double simulated_all_to_all(const DatacenterSpec& dc) {
  des::NetworkLayout layout = make_network_layout(dc);
  for (des::RackLayout& rack : layout.racks) rack.server_link.full_duplex = rack.uplink.full_duplex = true;
  des::Simulation simulation;
  const des::Platform platform = simulation.build(layout);
  std::vector<des::HostRef> servers;
  for (const auto& rack : platform.servers) servers.insert(servers.end(), rack.begin(), rack.end());
  const double ranks = double(servers.size()) * kGpusPerServer;
  std::vector<des::Transfer> transfers;
  for (const des::HostRef& from : servers)
    for (const des::HostRef& to : servers)
      if (from.host != to.host) transfers.push_back({from, to, kGpusPerServer * kBytesPerGpu * kGpusPerServer / ranks});
  double seconds = -1;
  simulation.spawn("all-to-all", servers.front(), [&] { seconds = des::transfer_all(transfers); }, false);
  simulation.run_until(1e6);
  return seconds;
}

// The formula at the links' line rate (what the SimGrid links carry), NVLink out of the picture.
double formula(const DatacenterSpec& dc) {
  FabricRates rates;
  rates.nvlink_bytes_per_s = 1e18;
  rates.nic_bytes_per_s = kLinkGbitS * 1e9 / 8 / kGpusPerServer;
  rates.cross_rack_bytes_per_s = rates.nic_bytes_per_s / dc.fabric.oversubscription;
  const int gpus = dc.servers() * kGpusPerServer;
  const RankSpread spread{gpus, kGpusPerServer, kGpusPerServer * dc.servers_per_rack};
  rates.latency_s = (spread.ranks > spread.per_rack ? 4 : 2) * kLatencyUs * 1e-6;
  return all_to_all_seconds(kBytesPerGpu, spread, rates);
}

DatacenterSpec fabric(int racks, int servers_per_rack, double oversubscription) {
  DatacenterSpec dc;
  dc.racks_per_row = racks;
  dc.servers_per_rack = servers_per_rack;
  dc.fabric.server_link_gbit_s = kLinkGbitS;
  dc.fabric.latency_us = kLatencyUs;
  dc.fabric.oversubscription = oversubscription;
  return dc;
}

// 4 servers on one ToR: each NIC sends 3/4 of its GPUs' traffic out and receives as much, both ways at once.
TEST(FabricFlows, AllToAllOnAnUncontendedFabricTakesTheFormulasTime) {
  const DatacenterSpec dc = fabric(1, 4, 1);
  EXPECT_NEAR(simulated_all_to_all(dc), formula(dc), 1e-3 * formula(dc));
}

// 2 racks of 2 servers, uplinks sized for their servers: half of each server's traffic leaves its rack.
TEST(FabricFlows, AllToAllAcrossRacksTakesTheFormulasTime) {
  const DatacenterSpec dc = fabric(2, 2, 1);
  EXPECT_NEAR(simulated_all_to_all(dc), formula(dc), 1e-3 * formula(dc));
}

// The same behind 4:1 oversubscribed uplinks: the half that leaves the rack shares a quarter of what
// the servers' NICs could send, and the all-to-all takes what the formula says, over twice as long.
TEST(FabricFlows, OversubscribedUplinksSlowTheAllToAllAsTheFormulaSays) {
  const DatacenterSpec oversubscribed = fabric(2, 2, 4);
  const double contended = simulated_all_to_all(oversubscribed);
  EXPECT_GT(contended, 2 * formula(fabric(2, 2, 1)));
  EXPECT_NEAR(contended, formula(oversubscribed), 1e-3 * formula(oversubscribed));
}

}  // namespace
}  // namespace aidc
