#pragma once
// Collectives among ranks that are threads of one process, on host memory: the CPU reference run as N
// ranks (tests, `--backend cpu --tensor-parallel N`). Sums go in rank order, so every rank gets the
// same bits.
#include <memory>
#include <vector>

#include "parallel/communicator.h"

namespace aidc {

// `world` communicators sharing one rendezvous; rank r's must be used by one thread only.
std::vector<std::unique_ptr<Communicator>> in_process_communicators(int world);

}  // namespace aidc
