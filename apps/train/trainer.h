// The training loop: AdamW with parameter groups, warm-up then decay, gradient clipping and
// accumulation, evaluation, the best evaluation kept, checkpoints, Ctrl-C and NaN stops.
//
//   for each optimizer step:                                        (Trainer::run, trainer.cpp)
//     opt.lr = base_lr · lr_multiplier(step, warmup, total); opt.zero_grad()
//     for each of grad_accum batches: (loss(model(x), y) / k).backward()   (forward_backward;
//       loss = cross_entropy, or mse_loss for a regression: transformers' problem_type)
//     allreduce the gradients; clip_grad_norm(trainable, clip); opt.step()
//     then the bookkeeping hooks (trainer_hooks.cpp): progress and metrics, the thread count,
//     evaluation when due (model.eval() + NoGradGuard), Ctrl-C, checkpoints, and the calls of
//     an observer, if the caller handed one (run_observer.h)
//
// Data-parallel (a ProcessGroup of N > 1 ranks, nn/distributed.h): the loader yields the same
// GLOBAL batches on every rank; rank r takes its contiguous share of rows, scales its loss by
// its share of the global batch (apps/train/batch_shard.h), and one Allreduce per step sums the
// gradients, so every rank holds the global batch's gradient and takes the same optimizer step.
// Rank 0 alone writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/common/evaluate.h"
#include "apps/common/run_threads.h"
#include "apps/common/train_config.h"
#include "apps/train/checkpoint.h"
#include "apps/train/progress.h"
#include "apps/train/run_observer.h"
#include "data/data_loader.h"
#include "models/encoder.h"
#include "nn/distributed.h"
#include "nn/optim.h"

namespace ag::apps {

enum class TrainOutcome { kFinished, kInterrupted, kDiverged };

class Trainer {
 public:
  Trainer(const TrainConfig& config, models::SequenceClassifier& model,
          data::DataLoader& train_loader, const data::DataLoader& val_loader, int64_t num_labels,
          std::string out_dir, uint64_t data_fingerprint, nlohmann::json config_json,
          nn::ProcessGroup& group, RunThreads& threads);

  // Continues from <out_dir>/checkpoint (same settings and data, checked).
  void resume();
  // Calls `observer` (not owned; null: none) at the fixed points of the run (run_observer.h).
  void set_observer(RunObserver* observer) { observer_ = observer; }
  TrainOutcome run();
  // Copies the best evaluation's trainable tensors back into the model.
  void restore_best();

  const TrainState& state() const { return state_; }
  TrainState& state() { return state_; }
  int64_t total_steps() const { return total_steps_; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  const std::string& stop_message() const { return stop_message_; }
  // The step of the newest checkpoint on disk (-1: none written or resumed from yet).
  int64_t last_checkpoint_step() const { return last_checkpoint_step_; }
  // Bytes of gradients each rank sends per optimizer step (0 in a single process).
  int64_t allreduce_bytes_per_step() const;
  // Seconds this session spent in the gradient Allreduce (waiting for the slowest rank included).
  double allreduce_seconds() const { return allreduce_seconds_; }
  void write_metrics_and_curves() const;

 private:
  // The loss of one optimizer step: the mean over its batches, or the first non-finite value.
  struct StepLoss {
    double mean = 0;
    int64_t batches = 0;   // batches read (up to the one whose loss was not finite)
    int64_t examples = 0;  // examples over all ranks
  };

  // --- the step (trainer.cpp) ---------------------------------------------------------------
  void start_session();  // progress bar, clock, model.train(), this epoch's data order
  // Forward, loss and backward of up to grad_accum batches, gradients accumulated; stops at
  // the first batch whose global mean loss is not finite (without its backward).
  StepLoss forward_backward();
  void allreduce_gradients();  // sums every trainable gradient over the ranks (one Allreduce)
  float current_lr() const;
  // A NaN/inf stop: "the <quantity> became NaN at step N<where>".
  TrainOutcome diverged(const std::string& quantity, double value, const std::string& where = "");

  // --- after the step (trainer_hooks.cpp) ---------------------------------------------------
  // Counters, loss curve, training time, progress bar and the metrics' train line.
  void record_step(const StepLoss& loss, float lr, float grad_norm);
  // Follows the cores other processes leave free (apps/common/run_threads.h).
  void maybe_adapt_threads();
  void maybe_evaluate(bool epoch_end);  // every --eval-every steps, else at each epoch's end
  void evaluate_now(double epoch_position);
  void start_next_epoch();
  // Ctrl-C or SIGTERM on this rank or any other (a signal may reach them at different steps).
  bool stop_requested_on_any_rank();
  TrainOutcome interrupted();             // checkpoint and stop
  void maybe_checkpoint(bool epoch_end);  // each epoch's end, the last step, --checkpoint-every
  void checkpoint();
  // Leaves the time since the last step (an evaluation, a checkpoint) out of training time.
  void exclude_from_training_time();

  const TrainConfig& config_;
  models::SequenceClassifier& model_;
  data::DataLoader& train_loader_;
  const data::DataLoader& val_loader_;
  int64_t num_labels_;
  std::string out_dir_;
  nlohmann::json config_json_;
  nn::ProcessGroup& group_;
  RunThreads& threads_;
  TrainableSet trainable_;
  std::vector<nn::ParamGroup> groups_;
  std::unique_ptr<nn::AdamW> optimizer_;
  TrainState state_;
  int64_t steps_per_epoch_ = 0, total_steps_ = 0, warmup_steps_ = 0;
  nn::Decay decay_ = nn::Decay::kLinear;
  int64_t last_checkpoint_step_ = -1;
  double allreduce_seconds_ = 0;
  std::string stop_message_;
  RunObserver* observer_ = nullptr;
  std::optional<Progress> progress_;
  int64_t log_every_ = 1;
  double last_time_ = 0;        // the clock at the end of the last step, for training time
  bool restored_best_ = false;  // restore_best() ran: curves.svg says "restored"
};

}  // namespace ag::apps
