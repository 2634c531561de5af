// Data-parallel training over MPI: every process (rank) computes gradients on its share of
// each global batch, then the trainable gradients are averaged with one MPI_Allreduce.
//
// Built with -DADAPTGRAD_MPI=ON and launched by `mpirun -np N ...`, `world()` is MPI's
// COMM_WORLD. In any other build or launch it is a group of one process, and every call below
// is a no-op, so the training code is the same either way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ag::nn {

class ProcessGroup {
 public:
  // The group of all processes; MPI is initialised on first use (and finalised at exit).
  static ProcessGroup& world();
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_main() const { return rank_ == 0; }
  bool distributed() const { return size_ > 1; }
  // Ranks on this machine (they share its cores).
  int local_size() const { return local_size_; }

  // grad_p ← Σ_ranks grad_p for every parameter, in ONE MPI_Allreduce over a single buffer
  // holding all the gradients back to back (a parameter without a gradient counts as zeros).
  // When each rank's loss was scaled by its share of the global batch (local examples /
  // global examples), this is the gradient of the global batch's mean loss. Returns the bytes
  // each rank sent.
  int64_t reduce_gradients(const std::vector<Tensor>& params);
  // Σ over ranks of each value (evaluation counts and losses).
  std::vector<double> sum(const std::vector<double>& values);
  // Rank 0's values on every rank (the initial weights, so every rank starts equal).
  void broadcast(const std::vector<Tensor>& tensors);
  void barrier();
  // Ends every process of the job with this exit code (a failed rank must not leave the others
  // waiting in a collective).
  // `message` (if any) is printed first, as "error: rank R: message".
  [[noreturn]] void abort(int code, const std::string& message = "");

 private:
  ProcessGroup();
  int rank_ = 0, size_ = 1, local_size_ = 1;
  std::vector<float> buffer_;  // the gradient bucket, reused every step
};

}  // namespace ag::nn
