// The faults the end-to-end tests inject into a training run at a chosen optimizer step
// (train's hidden testing flags), kept out of the training loop behind three named calls.
#pragma once

#include <cstdint>

#include "apps/common/train_config.h"

namespace ag::apps {

class FaultHooks {
 public:
  explicit FaultHooks(const TrainConfig& config);
  // The loss of optimizer step `step` as the loop sees it: NaN at --nan-at-step, else `loss`.
  double loss_seen_at(int64_t step, double loss) const;
  // After step `step`: SIGINT, as a Ctrl-C would, at --interrupt-at-step.
  void interrupt_if_due(int64_t step) const;
  // After step `step` and its checkpoint: SIGKILL (a crash: no handler runs) at
  // --kill-at-step, on every rank or on --kill-rank alone.
  void kill_if_due(int64_t step, int64_t rank) const;

 private:
  int64_t nan_at_step_, interrupt_at_step_, kill_at_step_, kill_rank_;
};

}  // namespace ag::apps
