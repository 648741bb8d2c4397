#pragma once
// The collectives a sharded model needs, one object per rank. Buffers live where the rank's backend
// keeps its activations (host memory for the CPU reference, device memory under NCCL). Every rank
// calls the same collectives in the same order with the same counts; each returns when its result is
// in place, and all ranks receive bit-identical results (so replicated activations stay identical and
// every rank routes every token alike).
#include <cstddef>

namespace aidc {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int world() const = 0;
  virtual int rank() const = 0;
  // data[i] = sum over ranks of data[i] (the row-parallel linears' partial sums).
  virtual void all_reduce_sum(float* data, size_t count) = 0;
  // recv = every rank's `count` values, rank 0's first (vocab-parallel logits).
  virtual void all_gather(const float* send, float* recv, size_t count) = 0;
};

}  // namespace aidc
