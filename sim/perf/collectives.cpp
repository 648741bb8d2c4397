#include "perf/collectives.hpp"

#include <algorithm>

namespace aidc {
namespace {
constexpr double kActivationBytes = 2.0;
// NCCL reaches ~80% of NVLink line rate in all-reduce bus bandwidth (370 of 450 GB/s, nccl-tests#212).
// DeepEP's low-latency all-to-all moves 39-46 GB/s per H800 over 50 GB/s of InfiniBand (0.78-0.92,
// github.com/deepseek-ai/DeepEP README): the same 0.8 is taken for the fabric.
constexpr double kCollectiveEfficiency = 0.8;
constexpr double kHopLatency_s = 5e-6;
constexpr double kBitsPerByte = 8.0;
}  // namespace

double ring_all_reduce_seconds(double bytes, int ranks, double link_bytes_per_s) {
  if (ranks <= 1) return 0;
  return 2.0 * (ranks - 1) / ranks * bytes / link_bytes_per_s + 2.0 * (ranks - 1) * kHopLatency_s;
}

FabricRates fabric_rates(const GpuSpec& gpu, const ServerSpec& server, const DatacenterSpec& dc, int gpus_per_replica) {
  FabricRates rates;
  rates.nvlink_bytes_per_s = server.gpu_to_gpu_gb_s(gpu) * 1e9 * kCollectiveEfficiency;
  rates.nic_bytes_per_s = dc.fabric.server_link_gbit_s * 1e9 / kBitsPerByte / server.gpus_per_server * kCollectiveEfficiency;
  rates.cross_rack_bytes_per_s = rates.nic_bytes_per_s / dc.fabric.oversubscription;
  // NIC to ToR to NIC; across racks also the uplinks (make_network_layout's hops).
  const RankSpread spread = rank_spread(gpus_per_replica, server, dc);
  rates.latency_s = (spread.ranks > spread.per_rack ? 4 : 2) * dc.fabric.latency_us * 1e-6 + kHopLatency_s;
  return rates;
}

RankSpread rank_spread(int gpus, const ServerSpec& server, const DatacenterSpec& dc) {
  return {gpus, std::min(gpus, server.gpus_per_server), std::min(gpus, server.gpus_per_server * dc.servers_per_rack)};
}

double all_to_all_seconds(double bytes_per_gpu, const RankSpread& spread, const FabricRates& rates) {
  if (spread.ranks <= 1) return 0;
  const double share = bytes_per_gpu / spread.ranks;  // to each rank
  const double local = share * (spread.per_server - 1);
  const double remote = share * (spread.ranks - spread.per_server);
  const double cross_rack = share * (spread.ranks - spread.per_rack);
  const double seconds = std::max({local / rates.nvlink_bytes_per_s, remote > 0 ? remote / rates.nic_bytes_per_s : 0.0,
                                   cross_rack > 0 ? cross_rack / rates.cross_rack_bytes_per_s : 0.0});
  return seconds + (remote > 0 ? rates.latency_s : kHopLatency_s);
}

Collectives::Collectives(const ModelConfig& model, const GpuSpec& gpu, const ServerSpec& server, const DeploymentSpec& d)
    : model_(model),
      tp_(d.tensor_parallel),
      ep_(d.expert_parallel),
      link_bytes_per_s_(server.gpu_to_gpu_gb_s(gpu) * 1e9 * kCollectiveEfficiency) {}

double Collectives::seconds(double tokens) const {
  double total = 0;
  // Two ring all-reduces of the hidden state per layer (after attention and after the MLP).
  if (tp_ > 1) total += 2.0 * model_.layers * ring_all_reduce_seconds(tokens * model_.hidden * kActivationBytes, tp_, link_bytes_per_s_);
  if (ep_ > 1 && model_.is_moe()) {
    // Dispatch and combine all-to-all of the routed tokens' hidden states.
    const double bytes = tokens * model_.moe.experts_per_token * model_.hidden * kActivationBytes * (ep_ - 1) / ep_;
    total += 2.0 * model_.moe_layer_count() * (bytes / ep_ / link_bytes_per_s_ + kHopLatency_s);
  }
  return total;
}

}  // namespace aidc
