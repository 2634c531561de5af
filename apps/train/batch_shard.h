// Data-parallel training's share of a batch, and everything that follows from it.
//
// The loader yields the same GLOBAL batches on every rank (nn/distributed.h); rank r of N takes
// the contiguous rows [n·r/N, n·(r+1)/N) of a batch of n rows. So that N processes train exactly
// as one process does, dropout included:
//   - the model's dropout masks start at the counter the whole batch reaches at the share's
//     first row (nn::Module::set_batch_first_row, batch_first_index in core/rng.h);
//   - each rank scales its mean loss by its share of the global batch, and the gradient
//     Allreduce after the last micro-batch sums the shares;
//   - a rank without rows (a global batch smaller than the ranks, at the end of an epoch)
//     skips the random seeds the others drew for their forward, so that every generator stays
//     in step.
// In a single process the share is the whole batch, and every call here is a no-op.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "data/data_loader.h"
#include "nn/distributed.h"
#include "nn/module.h"

namespace ag::apps {

class BatchShard {
 public:
  // This rank's share of a global batch of `global_rows` rows.
  BatchShard(int64_t global_rows, nn::ProcessGroup& group);
  int64_t rows() const { return end_ - first_; }
  // This rank's rows of `global` (all of it in a single process).
  data::Batch local_rows(const data::Batch& global) const;
  // Places `model`'s dropout masks at this share's first row of the whole batch, and notes the
  // generator's state before the forward (see global_mean_loss).
  void start_forward(nn::Module& model);
  // The global batch's mean loss on every rank, from this rank's mean `loss` over its rows
  // (undefined without rows). A rank without rows also skips the random seeds the others drew.
  double global_mean_loss(const Tensor& loss);
  // What this rank's mean loss weighs in the gradient of the global batch's mean loss averaged
  // over `micro_batches` batches: rows / global rows / micro_batches.
  float loss_weight(int64_t micro_batches) const;

 private:
  nn::ProcessGroup& group_;
  int64_t first_ = 0, end_ = 0, global_rows_ = 0;
  uint64_t generator_before_ = 0;
};

}  // namespace ag::apps
