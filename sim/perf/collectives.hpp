#pragma once
// Time of the collectives one iteration needs when a replica spans several GPUs: tensor-parallel
// all-reduces and expert-parallel all-to-all inside a server (Collectives, costed on the server's
// GPU-to-GPU links, shared by every performance model), and the formulas for layouts that span servers
// (all-to-all dispatch/combine and pipeline sends over NVLink and the servers' fabric links).
#include "catalog/catalog.hpp"
#include "scenario/scenario.hpp"

namespace aidc {

class Collectives {
 public:
  Collectives(const ModelConfig& model, const GpuSpec& gpu, const ServerSpec& server, const DeploymentSpec& deployment);
  double seconds(double tokens) const;

 private:
  const ModelConfig& model_;
  const int tp_, ep_;
  const double link_bytes_per_s_;
};

// What one GPU can send, per direction: to GPUs of its server (NVLink), to other servers (its share of
// the server's fabric link), and to other racks (that share divided by the ToR's oversubscription).
struct FabricRates {
  double nvlink_bytes_per_s = 0;
  double nic_bytes_per_s = 0;
  double cross_rack_bytes_per_s = 0;
  double latency_s = 0;  // one message: NIC, ToR (and across racks the uplinks and spine)
};
FabricRates fabric_rates(const GpuSpec& gpu, const ServerSpec& server, const DatacenterSpec& datacenter, int gpus_per_replica);

// How a group of GPUs is spread: all of them, those sharing a server, those sharing a rack.
struct RankSpread {
  int ranks = 1, per_server = 1, per_rack = 1;
};
RankSpread rank_spread(int gpus, const ServerSpec& server, const DatacenterSpec& datacenter);

// One ring all-reduce of `bytes` over `ranks` GPUs on links of `link_bytes_per_s`.
double ring_all_reduce_seconds(double bytes, int ranks, double link_bytes_per_s);
// One all-to-all in which every GPU sends `bytes_per_gpu` spread evenly over all ranks, itself
// included: the share for its own server crosses NVLink, the rest its NIC, the share for other racks
// also the oversubscribed uplinks, all at once; the slowest of the three sets the time.
double all_to_all_seconds(double bytes_per_gpu, const RankSpread& spread, const FabricRates& rates);

}  // namespace aidc
