// The training loop: AdamW with parameter groups, warm-up then decay, gradient clipping and
// accumulation, evaluation, the best evaluation kept, checkpoints, Ctrl-C and NaN stops.
//
//   for each optimizer step:
//     lr = base_lr · lr_multiplier(step, warmup, total)
//     model.train(); for each of grad_accum batches: (cross_entropy(model(x), y) / k).backward()
//     clip_grad_norm(trainable, clip); opt.step(); opt.zero_grad()
//     evaluate when due (model.eval() + NoGradGuard); checkpoint at each epoch's end
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/common/checkpoint.h"
#include "apps/common/evaluate.h"
#include "apps/common/train_config.h"
#include "data/data_loader.h"
#include "models/encoder.h"
#include "nn/optim.h"

namespace ag::apps {

enum class TrainOutcome { kFinished, kInterrupted, kDiverged };

class Trainer {
 public:
  Trainer(const TrainConfig& config, models::SequenceClassifier& model,
          data::DataLoader& train_loader, const data::DataLoader& val_loader, int64_t num_labels,
          std::string out_dir, uint64_t data_fingerprint, nlohmann::json config_json);

  // Continues from <out_dir>/checkpoint (same settings and data, checked).
  void resume();
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
  // (epoch, validation accuracy) of every evaluation, from the metrics.
  std::vector<std::pair<double, double>> eval_points() const;
  void write_metrics_and_curves() const;

 private:
  void evaluate_now(double epoch_position);
  void checkpoint();
  float current_lr() const;

  const TrainConfig& config_;
  models::SequenceClassifier& model_;
  data::DataLoader& train_loader_;
  const data::DataLoader& val_loader_;
  int64_t num_labels_;
  std::string out_dir_;
  nlohmann::json config_json_;
  TrainableSet trainable_;
  std::vector<nn::ParamGroup> groups_;
  std::unique_ptr<nn::AdamW> optimizer_;
  TrainState state_;
  int64_t steps_per_epoch_ = 0, total_steps_ = 0, warmup_steps_ = 0;
  nn::Decay decay_ = nn::Decay::kLinear;
  int64_t last_checkpoint_step_ = -1;
  std::string stop_message_;
};

}  // namespace ag::apps
