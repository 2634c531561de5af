#include "nn/distributed.h"
#include "core/bf16_gemm.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "core/errors.h"

#ifdef ADAPTGRAD_MPI
#include <mpi.h>
#endif

namespace ag::nn {

#ifdef ADAPTGRAD_MPI
// Only start MPI when a launcher asked for it, so that a plain `build/bin/train` of an MPI
// build still runs alone without an MPI runtime around it.
static bool launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
}

static void check(int code, const char* what) {
  if (code != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw Error(std::string("MPI ") + what + " failed: " + std::string(text, length));
  }
}
#endif

ProcessGroup::ProcessGroup() {
#ifdef ADAPTGRAD_MPI
  if (!launched_by_mpirun()) return;
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    MPI_Init(nullptr, nullptr);
    std::atexit([] {
      int finalised = 0;
      MPI_Finalized(&finalised);
      if (!finalised) MPI_Finalize();
    });
  }
  // Errors come back as codes we turn into ag::Error; the trainer then aborts the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm node;  // the ranks that share this machine's memory
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
#endif
}

ProcessGroup& ProcessGroup::world() {
  static ProcessGroup group;
  return group;
}

int64_t ProcessGroup::reduce_gradients(const std::vector<Tensor>& params) {
  if (size_ == 1) return 0;
  int64_t total = 0;
  for (auto& p : params) total += p.numel();
  buffer_.resize(total);
  int64_t offset = 0;
  for (auto& p : params) {  // pack: the gradients back to back
    Tensor g = p.grad();
    if (g.defined())
      std::copy(g.data(), g.data() + p.numel(), buffer_.begin() + offset);
    else
      std::fill(buffer_.begin() + offset, buffer_.begin() + offset + p.numel(), 0.0f);
    offset += p.numel();
  }
#ifdef ADAPTGRAD_MPI
  check(MPI_Allreduce(MPI_IN_PLACE, buffer_.data(), int(total), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
        "Allreduce of the gradients");
#endif
  offset = 0;
  for (auto& p : params) {  // unpack into the gradients, creating those that were missing
    if (!p.grad().defined()) p.impl()->grad = Tensor::zeros(p.shape()).impl();
    std::copy(buffer_.begin() + offset, buffer_.begin() + offset + p.numel(), p.grad().data());
    offset += p.numel();
  }
  return total * int64_t(sizeof(float));
}

std::vector<double> ProcessGroup::sum(const std::vector<double>& values) {
  std::vector<double> out(values);
#ifdef ADAPTGRAD_MPI
  if (size_ > 1)
    check(MPI_Allreduce(MPI_IN_PLACE, out.data(), int(out.size()), MPI_DOUBLE, MPI_SUM,
                        MPI_COMM_WORLD),
          "Allreduce of the metrics");
#endif
  return out;
}

void ProcessGroup::broadcast(const std::vector<Tensor>& tensors) {
#ifdef ADAPTGRAD_MPI
  if (size_ > 1)
    for (auto& t : tensors) {
      check(MPI_Bcast(t.data(), int(t.numel()), MPI_FLOAT, 0, MPI_COMM_WORLD), "Bcast");
      refresh_bf16_copy(t);
    }
#else
  (void)tensors;
#endif
}

void ProcessGroup::barrier() {
#ifdef ADAPTGRAD_MPI
  if (size_ > 1) check(MPI_Barrier(MPI_COMM_WORLD), "Barrier");
#endif
}

void ProcessGroup::abort(int code, const std::string& message) {
  if (!message.empty()) std::cerr << "error: rank " << rank_ << ": " << message << "\n";
#ifdef ADAPTGRAD_MPI
  if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

}  // namespace ag::nn
