#pragma once
// Time of the collectives one iteration needs when a replica spans several GPUs of a server:
// tensor-parallel all-reduces and, for MoE with expert parallelism, all-to-all dispatch/combine.
// Costed on the server's GPU-to-GPU links (catalog), shared by every performance model.
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

}  // namespace aidc
