#include "apps/train/batch_shard.h"

#include "core/rng.h"

namespace ag::apps {

BatchShard::BatchShard(int64_t global_rows, nn::ProcessGroup& group)
    : group_(group),
      first_(global_rows * group.rank() / group.size()),
      end_(global_rows * (group.rank() + 1) / group.size()),
      global_rows_(global_rows) {}

data::Batch BatchShard::local_rows(const data::Batch& global) const {
  return group_.distributed() ? data::slice_rows(global, first_, end_) : global;
}

void BatchShard::start_forward(nn::Module& model) {
  model.set_batch_first_row(group_.distributed() && rows() > 0 ? first_ : 0);
  generator_before_ = generator_state();
}

double BatchShard::global_mean_loss(const Tensor& loss) {
  // This rank's part of the global batch's mean loss.
  const double part = rows() > 0 ? double(loss.item()) * double(rows()) / double(global_rows_) : 0;
  if (!group_.distributed()) return part;
  // The random seeds this rank's forward drew (the same number on every rank with rows).
  const double drawn = rows() > 0 ? double(generator_state() - generator_before_) : 0;
  const std::vector<double> sums = group_.sum({part, drawn, rows() > 0 ? 1.0 : 0.0});
  if (rows() == 0) skip_seeds(uint64_t(sums[1] / sums[2]));
  return sums[0];
}

float BatchShard::loss_weight(int64_t micro_batches) const {
  // The gradient of mean_global / k is Σ_ranks (rows / n) · ∇mean_local / k.
  return group_.distributed() ? float(double(rows()) / double(global_rows_) / double(micro_batches))
                              : 1.0f / float(micro_batches);
}

}  // namespace ag::apps
