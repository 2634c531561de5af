#include "apps/train/trainer.h"

#include <cmath>
#include <iostream>

#include "apps/common/app_util.h"
#include "apps/common/model_setup.h"
#include "apps/train/batch_shard.h"
#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/rng.h"
#include "models/batch_input.h"

namespace ag::apps {

Trainer::Trainer(const TrainConfig& config, models::SequenceClassifier& model,
                 data::DataLoader& train_loader, const data::DataLoader& val_loader,
                 int64_t num_labels, std::string out_dir, uint64_t data_fingerprint,
                 nlohmann::json config_json, nn::ProcessGroup& group, RunThreads& threads)
    : config_(config),
      model_(model),
      train_loader_(train_loader),
      val_loader_(val_loader),
      num_labels_(num_labels),
      out_dir_(std::move(out_dir)),
      config_json_(std::move(config_json)),
      group_(group),
      threads_(threads) {
  groups_ = make_param_groups(model_, float(config.weight_decay), trainable_.names);
  for (auto& g : groups_)
    trainable_.params.insert(trainable_.params.end(), g.params.begin(), g.params.end());
  if (trainable_.params.empty()) throw Error("nothing to train: no parameter requires a gradient");
  optimizer_ = std::make_unique<nn::AdamW>(
      groups_,
      nn::AdamWOptions{.lr = float(config.lr), .weight_decay = float(config.weight_decay)});
  const int64_t batches = train_loader.num_batches();
  steps_per_epoch_ = (batches + config.grad_accum - 1) / config.grad_accum;
  total_steps_ = steps_per_epoch_ * config.epochs;
  if (config.max_steps > 0) total_steps_ = std::min(total_steps_, config.max_steps);
  warmup_steps_ = config.warmup < 1.0 ? int64_t(std::ceil(config.warmup * double(total_steps_)))
                                      : int64_t(config.warmup);
  decay_ = config.schedule == "cosine"     ? nn::Decay::kCosine
           : config.schedule == "constant" ? nn::Decay::kConstant
                                           : nn::Decay::kLinear;
  state_.data_fingerprint = data_fingerprint;
  state_.generator = generator_state();
  group_.broadcast(trainable_.params);  // every rank starts from rank 0's weights
}

int64_t Trainer::allreduce_bytes_per_step() const {
  if (!group_.distributed()) return 0;
  int64_t values = 0;
  for (auto& p : trainable_.params) values += p.numel();
  return values * int64_t(sizeof(float));
}

// One optimizer step per iteration: forward and loss, backward, the gradients summed over the
// ranks and clipped, AdamW's step. What else a run does after a step (progress, metrics,
// threads, evaluation, checkpoints, stop signals, an observer's calls) is a named call below it.
TrainOutcome Trainer::run() {
  start_session();
  while (state_.step < total_steps_) {
    const float lr = current_lr();
    optimizer_->set_lr(lr);
    optimizer_->zero_grad();
    const StepLoss loss = forward_backward();  // up to grad_accum batches, this rank's rows
    if (!std::isfinite(loss.mean))
      return diverged("training loss", loss.mean,
                      " (epoch " + std::to_string(state_.epoch + 1) + ", batch " +
                          std::to_string(state_.batch + loss.batches) + ")");
    allreduce_gradients();
    const float norm =
        nn::clip_grad_norm(trainable_.params, config_.clip > 0 ? float(config_.clip) : INFINITY);
    if (!std::isfinite(norm)) return diverged("gradient norm", norm);
    optimizer_->step();

    record_step(loss, lr, norm);
    maybe_adapt_threads();
    const bool epoch_end = state_.batch >= train_loader_.num_batches();
    maybe_evaluate(epoch_end);
    if (epoch_end) start_next_epoch();
    if (observer_) observer_->after_step(state_.step);
    if (stop_requested_on_any_rank()) return interrupted();
    maybe_checkpoint(epoch_end);
    if (observer_) observer_->after_checkpoint(state_.step, group_.rank());
  }
  progress_->clear();
  if (state_.last_eval_step < 0) evaluate_now(double(state_.epoch));  // resumed after the end
  return TrainOutcome::kFinished;
}

void Trainer::start_session() {
  log_every_ =
      config_.log_every > 0 ? config_.log_every : std::max<int64_t>(1, steps_per_epoch_ / 20);
  progress_.emplace(stderr_is_tty() && group_.is_main(), log_every_, total_steps_, state_.step);
  last_time_ = now_seconds();
  model_.train();
  if (state_.step < total_steps_) train_loader_.set_epoch(state_.epoch);
}

// Forward, loss and backward of each batch of the step, on this rank's rows of it
// (apps/train/batch_shard.h: the whole batch in a single process).
Trainer::StepLoss Trainer::forward_backward() {
  const int64_t micro = std::min(config_.grad_accum, train_loader_.num_batches() - state_.batch);
  StepLoss step;
  double sum = 0;
  for (int64_t k = 0; k < micro; ++k) {
    const data::Batch global = train_loader_.batch(state_.batch + k);
    BatchShard shard(global.batch_size, group_);
    shard.start_forward(model_);
    Tensor loss;  // this rank's mean loss over its rows (undefined without rows)
    if (shard.rows() > 0) {
      const data::Batch batch = shard.local_rows(global);
      const Tensor logits = model_.forward(models::to_encoder_input(batch));  // forward
      loss = config_.is_regression()                                          // loss
                 ? mse_loss(logits, batch.targets)  // problem_type regression
                 : cross_entropy(logits, Indices{{batch.batch_size}, batch.labels});
    }
    double value = shard.global_mean_loss(loss);
    if (observer_) value = observer_->batch_loss(state_.step + 1, value);
    step.batches = k + 1;
    if (!std::isfinite(value)) {
      step.mean = value;  // no backward: the step stops here
      return step;
    }
    if (loss.defined()) scale(loss, shard.loss_weight(micro)).backward();  // backward
    sum += value;
    step.examples += global.batch_size;
  }
  step.mean = sum / double(micro);
  return step;
}

void Trainer::allreduce_gradients() {
  if (!group_.distributed()) return;
  const double start = now_seconds();
  group_.reduce_gradients(trainable_.params);
  allreduce_seconds_ += now_seconds() - start;
}

TrainOutcome Trainer::diverged(const std::string& quantity, double value,
                               const std::string& where) {
  progress_->clear();
  stop_message_ = "the " + quantity + " became " + (std::isnan(value) ? "NaN" : "inf") +
                  " at step " + std::to_string(state_.step + 1) + where;
  return TrainOutcome::kDiverged;
}

float Trainer::current_lr() const {
  return float(config_.lr) * nn::lr_multiplier(state_.step, warmup_steps_, total_steps_, decay_);
}

void Trainer::resume() {
  const uint64_t fingerprint = state_.data_fingerprint;
  load_checkpoint(out_dir_, state_, trainable_, *optimizer_,
                  {total_steps_, config_.epochs, train_loader_.num_batches()});
  if (state_.data_fingerprint != fingerprint)
    throw Error(checkpoint_file(out_dir_) +
                ": the data differs from the data this checkpoint was trained on");
  set_generator_state(state_.generator);
  last_checkpoint_step_ = state_.step;
  std::cout << "resumed from " << checkpoint_file(out_dir_) << " at step " << state_.step << "/"
            << total_steps_ << " (epoch " << state_.epoch + 1 << ", batch " << state_.batch << ")"
            << std::endl;
}

void Trainer::restore_best() {
  for (size_t i = 0; i < trainable_.names.size(); ++i) {
    auto it = trainable_.best.find(trainable_.names[i]);
    if (it != trainable_.best.end()) trainable_.params[i].copy_(it->second);
  }
  restored_best_ = true;
}

}  // namespace ag::apps
