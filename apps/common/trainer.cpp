#include "apps/common/trainer.h"

#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>

#include "apps/common/app_util.h"
#include "apps/common/model_setup.h"
#include "apps/common/progress.h"
#include "apps/common/signals.h"
#include "apps/common/svg_plot.h"
#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/rng.h"
#include "nn/lora.h"

namespace fs = std::filesystem;

namespace ag::apps {

Trainer::Trainer(const TrainConfig& config, models::SequenceClassifier& model,
                 data::DataLoader& train_loader, const data::DataLoader& val_loader,
                 int64_t num_labels, std::string out_dir, uint64_t data_fingerprint,
                 nlohmann::json config_json, nn::ProcessGroup& group)
    : config_(config),
      model_(model),
      train_loader_(train_loader),
      val_loader_(val_loader),
      num_labels_(num_labels),
      out_dir_(std::move(out_dir)),
      config_json_(std::move(config_json)),
      group_(group) {
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

std::pair<int64_t, int64_t> Trainer::share_of(int64_t n) const {
  const int64_t r = group_.rank(), size = group_.size();
  return {n * r / size, n * (r + 1) / size};
}

double Trainer::accumulate_batch(const data::Batch& global, int64_t micro_batches) {
  const auto [first, end] = share_of(global.batch_size);
  const int64_t rows = end - first;
  Tensor loss;
  double value = 0;  // this rank's part of the global batch's mean loss
  // Adapter dropout continues the whole batch's mask at this rank's first row.
  nn::set_adapter_dropout_first_row(model_, group_.distributed() && rows > 0 ? first : 0);
  if (rows > 0) {
    set_batch_shard(group_.distributed() ? BatchShard{first, rows} : BatchShard{});
    const data::Batch local = group_.distributed() ? data::slice_rows(global, first, end) : global;
    const Tensor logits = model_.forward(to_encoder_input(local));
    loss = cross_entropy(logits, Indices{{local.batch_size}, local.labels});
    value = double(loss.item()) * double(rows) / double(global.batch_size);
  } else {
    // No rows here (a global batch smaller than the ranks, at the end of an epoch): run one
    // row without autograd and drop it, so that this rank draws as many dropout seeds as the
    // others and its random generator stays in step with theirs.
    NoGradGuard no_grad;
    set_batch_shard({});
    model_.forward(to_encoder_input(data::slice_rows(global, 0, 1)));
  }
  if (group_.distributed()) value = group_.sum({value})[0];  // every rank: the same global loss
  if (config_.nan_at_step == state_.step + 1) value = std::numeric_limits<double>::quiet_NaN();
  if (rows > 0 && std::isfinite(value)) {
    // The gradient of mean_global / k is Σ_ranks (rows / n) · ∇mean_local / k: the Allreduce
    // after the last micro-batch does the sum.
    const float weight =
        group_.distributed()
            ? float(double(rows) / double(global.batch_size) / double(micro_batches))
            : 1.0f / float(micro_batches);
    (weight != 1.0f ? scale(loss, weight) : loss).backward();
  }
  set_batch_shard({});
  return value;
}

void Trainer::resume() {
  const uint64_t fingerprint = state_.data_fingerprint;
  load_checkpoint(out_dir_, state_, trainable_, *optimizer_);
  if (state_.data_fingerprint != fingerprint)
    throw Error(checkpoint_file(out_dir_) +
                ": the data differs from the data this checkpoint was trained on");
  set_generator_state(state_.generator);
  last_checkpoint_step_ = state_.step;
  std::cout << "resumed from " << checkpoint_file(out_dir_) << " at step " << state_.step << "/"
            << total_steps_ << " (epoch " << state_.epoch + 1 << ", batch " << state_.batch << ")"
            << std::endl;
}

float Trainer::current_lr() const {
  return float(config_.lr) * nn::lr_multiplier(state_.step, warmup_steps_, total_steps_, decay_);
}

std::vector<std::pair<double, double>> Trainer::eval_points() const {
  std::vector<std::pair<double, double>> points;
  for (auto& e : state_.metrics.events())
    if (e.value("event", "") == "eval") points.emplace_back(e["epoch"], e["val_acc"]);
  return points;
}

void Trainer::write_metrics_and_curves() const {
  state_.metrics.write((fs::path(out_dir_) / "metrics.jsonl").string());
  write_training_curves(
      (fs::path(out_dir_) / "curves.svg").string(), state_.step_losses, eval_points(),
      "adaptgrad " + config_.method + " on " +
          (config_.demo ? std::string("the SYNTHETIC demo task")
                        : fs::path(config_.data.empty() ? config_.train : config_.data)
                              .filename()
                              .string()));
}

void Trainer::evaluate_now(double epoch_position) {
  const EvalResult r = evaluate(model_, val_loader_, num_labels_, &group_);
  const bool best = r.accuracy > state_.best_val_acc;
  if (best) {
    state_.best_val_acc = r.accuracy;
    state_.best_step = state_.step;
    state_.best_epoch = epoch_position;
    for (size_t i = 0; i < trainable_.names.size(); ++i)
      trainable_.best[trainable_.names[i]] = trainable_.params[i].clone();
  }
  state_.last_eval_step = state_.step;
  nlohmann::json event = {{"event", "eval"},         {"step", state_.step},
                          {"epoch", epoch_position}, {"val_loss", r.loss},
                          {"val_acc", r.accuracy},   {"val_examples", r.examples}};
  if (num_labels_ > 2) event["val_macro_f1"] = r.macro_f1;
  state_.metrics.add(event);
  char line[200];
  std::snprintf(line, sizeof line, "eval  epoch %.2f  step %ld  val_loss %.4f  val_acc %.4f%s",
                epoch_position, long(state_.step), r.loss, r.accuracy,
                best ? "  (best so far)" : "");
  std::cout << line << std::endl;
}

void Trainer::checkpoint() {
  state_.generator = generator_state();
  if (group_.is_main()) {
    save_checkpoint(out_dir_, state_, trainable_, *optimizer_, config_json_);
    write_metrics_and_curves();
  }
  last_checkpoint_step_ = state_.step;
}

TrainOutcome Trainer::run() {
  const int64_t batches = train_loader_.num_batches();
  const int64_t log_every =
      config_.log_every > 0 ? config_.log_every : std::max<int64_t>(1, steps_per_epoch_ / 20);
  Progress progress(stderr_is_tty() && group_.is_main(), log_every, total_steps_, state_.step);
  double last_time = now_seconds();
  model_.train();
  if (state_.step < total_steps_) train_loader_.set_epoch(state_.epoch);
  while (state_.step < total_steps_) {
    // --- one optimizer step over up to grad_accum batches ---------------------------------
    const float lr = current_lr();
    optimizer_->set_lr(lr);
    const int64_t micro = std::min(config_.grad_accum, batches - state_.batch);
    double loss_sum = 0;
    int64_t examples = 0;
    for (int64_t k = 0; k < micro; ++k) {
      const data::Batch batch = train_loader_.batch(state_.batch + k);
      const double value = accumulate_batch(batch, micro);
      if (!std::isfinite(value)) {
        progress.clear();
        stop_message_ = "the training loss became " +
                        std::string(std::isnan(value) ? "NaN" : "inf") + " at step " +
                        std::to_string(state_.step + 1) + " (epoch " +
                        std::to_string(state_.epoch + 1) + ", batch " +
                        std::to_string(state_.batch + k + 1) + ")";
        return TrainOutcome::kDiverged;
      }
      loss_sum += value;
      examples += batch.batch_size;
    }
    if (group_.distributed()) {  // one Allreduce of every trainable gradient
      const double start = now_seconds();
      group_.reduce_gradients(trainable_.params);
      allreduce_seconds_ += now_seconds() - start;
    }
    const float norm =
        nn::clip_grad_norm(trainable_.params, config_.clip > 0 ? float(config_.clip) : INFINITY);
    if (!std::isfinite(norm)) {
      progress.clear();
      stop_message_ = "the gradient norm became " + std::string(std::isnan(norm) ? "NaN" : "inf") +
                      " at step " + std::to_string(state_.step + 1);
      return TrainOutcome::kDiverged;
    }
    optimizer_->step();
    optimizer_->zero_grad();
    state_.batch += micro;
    ++state_.step;
    const double step_loss = loss_sum / double(micro);
    state_.step_losses.push_back(float(step_loss));
    const double now = now_seconds();
    state_.train_seconds += now - last_time;
    last_time = now;
    progress.update(state_.step, state_.epoch, config_.epochs, state_.batch, batches, step_loss, lr,
                    examples);
    if (state_.step % log_every == 0 || state_.step == total_steps_)
      state_.metrics.add({{"event", "train"},
                          {"step", state_.step},
                          {"epoch", double(state_.epoch) + double(state_.batch) / double(batches)},
                          {"loss", step_loss},
                          {"lr", lr},
                          {"grad_norm", norm}});

    // --- evaluation, end of epoch, checkpoints, stops ---------------------------------------
    const bool epoch_end = state_.batch >= batches;
    const double position = double(state_.epoch) + double(state_.batch) / double(batches);
    const bool eval_due =
        config_.eval_every > 0 ? state_.step % config_.eval_every == 0 : epoch_end;
    if (eval_due || state_.step == total_steps_) {
      progress.clear();
      evaluate_now(position);
      progress.exclude(now_seconds() - last_time);
      last_time = now_seconds();  // evaluation is not training time
    }
    if (epoch_end) {
      ++state_.epoch;
      state_.batch = 0;
      if (state_.step < total_steps_) train_loader_.set_epoch(state_.epoch);
    }
    if (config_.interrupt_at_step == state_.step) std::raise(SIGINT);
    bool stop = stop_requested();  // a signal may reach the ranks at different steps: any stops all
    if (group_.distributed()) stop = group_.sum({stop ? 1.0 : 0.0})[0] > 0;
    if (stop) {
      progress.clear();
      checkpoint();
      return TrainOutcome::kInterrupted;
    }
    if (epoch_end || state_.step == total_steps_ ||
        (config_.checkpoint_every > 0 && state_.step % config_.checkpoint_every == 0)) {
      checkpoint();
      progress.exclude(now_seconds() - last_time);
      last_time = now_seconds();
    }
    if (config_.kill_at_step == state_.step &&
        (config_.kill_rank < 0 || config_.kill_rank == group_.rank()))
      std::raise(SIGKILL);
  }
  progress.clear();
  if (state_.last_eval_step < 0) evaluate_now(double(state_.epoch));  // resumed after the end
  return TrainOutcome::kFinished;
}

void Trainer::restore_best() {
  for (size_t i = 0; i < trainable_.names.size(); ++i) {
    auto it = trainable_.best.find(trainable_.names[i]);
    if (it != trainable_.best.end()) trainable_.params[i].copy_(it->second);
  }
}

}  // namespace ag::apps
