// What the training loop does after each optimizer step.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include "apps/common/app_util.h"
#include "apps/common/glue_task.h"
#include "apps/common/task_metrics.h"
#include "apps/train/signals.h"
#include "apps/train/svg_plot.h"
#include "apps/train/trainer.h"
#include "core/rng.h"

namespace fs = std::filesystem;

namespace ag::apps {

// --- after each optimizer step ----------------------------------------------------------------

void Trainer::record_step(const StepLoss& loss, float lr, float grad_norm) {
  const int64_t batches = train_loader_.num_batches();
  state_.batch += loss.batches;
  ++state_.step;
  state_.step_losses.push_back(float(loss.mean));
  const double now = now_seconds();
  state_.train_seconds += now - last_time_;
  last_time_ = now;
  progress_->update(state_.step, state_.epoch, config_.epochs, state_.batch, batches, loss.mean, lr,
                    loss.examples);
  if (state_.step % log_every_ == 0 || state_.step == total_steps_)
    state_.metrics.add({{"event", "train"},
                        {"step", state_.step},
                        {"epoch", double(state_.epoch) + double(state_.batch) / double(batches)},
                        {"loss", loss.mean},
                        {"lr", lr},
                        {"grad_norm", grad_norm}});
}

void Trainer::maybe_adapt_threads() {
  if (const std::optional<std::string> line = threads_.adapt(state_.step)) {
    progress_->clear();
    std::cout << *line << std::endl;
  }
}

void Trainer::exclude_from_training_time() {
  progress_->exclude(now_seconds() - last_time_);
  last_time_ = now_seconds();
}

void Trainer::maybe_evaluate(bool epoch_end) {
  const bool due = config_.eval_every > 0 ? state_.step % config_.eval_every == 0 : epoch_end;
  if (!due && state_.step != total_steps_) return;
  progress_->clear();
  evaluate_now(double(state_.epoch) + double(state_.batch) / double(train_loader_.num_batches()));
  exclude_from_training_time();  // evaluation is not training time
}

void Trainer::start_next_epoch() {
  ++state_.epoch;
  state_.batch = 0;
  if (state_.step < total_steps_) train_loader_.set_epoch(state_.epoch);
}

bool Trainer::stop_requested_on_any_rank() {
  bool stop = stop_requested();
  if (group_.distributed()) stop = group_.sum({stop ? 1.0 : 0.0})[0] > 0;
  return stop;
}

TrainOutcome Trainer::interrupted() {
  progress_->clear();
  checkpoint();
  return TrainOutcome::kInterrupted;
}

void Trainer::maybe_checkpoint(bool epoch_end) {
  if (epoch_end || state_.step == total_steps_ ||
      (config_.checkpoint_every > 0 && state_.step % config_.checkpoint_every == 0)) {
    checkpoint();
    exclude_from_training_time();
  }
}

namespace {

// The recipe in a few words, for the title of curves.svg: "lora r 8 alpha 16 on query,value,
// head trained, lr 0.002, 3 epochs x batch 16".
std::string recipe_line(const TrainConfig& c) {
  std::ostringstream line;
  line << c.method;
  if (c.uses_adapter())
    line << " r " << c.r << " alpha " << c.alpha << " on " << c.targets
         << (c.train_head ? ", head trained" : ", head frozen");
  line << ", lr " << c.lr << ", " << c.epochs << " epochs x batch " << c.global_batch()
       << ", max length " << c.max_length << ", seed " << c.seed;
  return line.str();
}

}  // namespace

void Trainer::write_metrics_and_curves() const {
  state_.metrics.write((fs::path(out_dir_) / "metrics.jsonl").string());
  TrainingCurves curves;
  curves.losses = state_.step_losses;
  curves.metric = run_metrics(config_).front();
  curves.loss_name = config_.is_regression() ? "MSE" : "cross-entropy";
  const std::string key = metric_key(curves.metric);
  for (auto& e : state_.metrics.events()) {
    if (e.value("event", "") == "eval") {
      curves.val_loss.emplace_back(e["step"], e["val_loss"]);
      curves.val_metric.emplace_back(e["epoch"], e["val_" + key]);
    }
    if (e.value("event", "") == "test" && e.contains("test_" + key))
      curves.test_metric = e["test_" + key].get<double>();
  }
  if (restored_best_ && state_.best_val_acc >= 0)
    curves.best = {double(state_.best_step), state_.best_epoch};
  const std::string data =
      config_.demo
          ? std::string("the SYNTHETIC demo task")
          : fs::path(config_.data.empty() ? config_.train : config_.data).filename().string();
  curves.title = {"adaptgrad " + config_.method + " on " + data, recipe_line(config_)};
  write_training_curves((fs::path(out_dir_) / "curves.svg").string(), curves);
}

void Trainer::evaluate_now(double epoch_position) {
  const EvalResult r = evaluate(model_, val_loader_, num_labels_, &group_, config_.is_regression());
  // The first metric picks the best evaluation (best_val_acc holds its value: accuracy unless
  // --task or --metric chose another).
  const std::vector<std::string> metrics = run_metrics(config_);
  const double score = metric_value(metrics.front(), r);
  const bool best = score > state_.best_val_acc || trainable_.best.empty();
  if (best) {
    state_.best_val_acc = score;
    state_.best_step = state_.step;
    state_.best_epoch = epoch_position;
    for (size_t i = 0; i < trainable_.names.size(); ++i)
      trainable_.best[trainable_.names[i]] = trainable_.params[i].clone();
  }
  state_.last_eval_step = state_.step;
  nlohmann::json event = {{"event", "eval"},         {"step", state_.step},
                          {"epoch", epoch_position}, {"val_loss", r.loss},
                          {"val_acc", r.accuracy},   {"val_examples", r.examples}};
  if (config_.is_regression()) event.erase("val_acc");
  if (num_labels_ > 2) event["val_macro_f1"] = r.macro_f1;
  std::string others;  // the task's metrics besides accuracy, for the log line
  for (const std::string& m : metrics) {
    if (m == "accuracy") continue;
    const double value = metric_value(m, r);
    event["val_" + m] = value;
    char text[64];
    std::snprintf(text, sizeof text, "  val_%s %.4f", m.c_str(), value);
    others += text;
  }
  state_.metrics.add(event);
  char line[300];
  if (config_.is_regression())
    std::snprintf(line, sizeof line, "eval  epoch %.2f  step %ld  val_loss %.4f%s%s",
                  epoch_position, long(state_.step), r.loss, others.c_str(),
                  best ? "  (best so far)" : "");
  else
    std::snprintf(line, sizeof line, "eval  epoch %.2f  step %ld  val_loss %.4f  val_acc %.4f%s%s",
                  epoch_position, long(state_.step), r.loss, r.accuracy, others.c_str(),
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

}  // namespace ag::apps
