// Resumable checkpoints: everything a run needs to continue exactly where it stopped.
//
// One file, <out>/checkpoint/checkpoint.safetensors, written atomically (temporary file, fsync,
// rename), so a kill at any instant leaves the previous checkpoint or the new one, never a
// mix. It holds, as F32 tensors:
//   param.<name>   every trainable tensor            adam_m.<name>, adam_v.<name>  AdamW moments
//   best.<name>    the trainable tensors of the best evaluation so far
//   step_losses    the training loss of every step (for curves.svg)
// and in the safetensors metadata (strings): "state" (JSON: optimizer step, epoch, next batch
// of the epoch, global RNG state, best evaluation, data fingerprint), "config" (the run's
// settings, train_config.json) and "metrics" (metrics.jsonl so far).
// The data order needs no state of its own: epoch e's order is a pure function of (seed, e).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/train/metrics_log.h"
#include "core/tensor.h"
#include "nn/optim.h"

namespace ag::apps {

struct TrainState {
  int64_t step = 0;   // optimizer steps done
  int64_t epoch = 0;  // the epoch in progress (0-based)
  int64_t batch = 0;  // the next batch of that epoch
  uint64_t generator = 0;
  double best_val_acc = -1;
  int64_t best_step = 0;
  double best_epoch = 0;
  int64_t last_eval_step = -1;
  double train_seconds = 0;  // wall time spent training, over all sessions (not in metrics)
  uint64_t data_fingerprint = 0;
  std::vector<float> step_losses;
  MetricsLog metrics;
};

// The trainable tensors and the optimizer, in the optimizer's parameter order.
struct TrainableSet {
  std::vector<std::string> names;
  std::vector<Tensor> params;
  std::map<std::string, Tensor> best;  // name -> copy, empty before the first evaluation
};

std::string checkpoint_file(const std::string& out_dir);

void save_checkpoint(const std::string& out_dir, const TrainState& state,
                     const TrainableSet& trainable, nn::AdamW& optimizer,
                     const nlohmann::json& config);

// Reads just the settings saved in a checkpoint (for --resume before anything is built).
// `dir` is a run folder or its checkpoint folder.
nlohmann::json read_checkpoint_config(const std::string& dir);
// The optimizer steps the checkpoint in `dir` has done.
int64_t read_checkpoint_step(const std::string& dir);
// The run folder of `dir` (which may name the checkpoint folder or the file itself).
std::string run_dir_of_resume(const std::string& dir);

// What this run allows a checkpoint's counters to be.
struct CheckpointLimits {
  int64_t total_steps = 0;
  int64_t epochs = 0;
  int64_t batches_per_epoch = 0;
};

// Restores `state`, the trainable tensors (by name; shapes must match), the best copies and
// the optimizer moments and step count. Every field of the state is checked first (type and
// range, against `limits` and each other): errors name the file and the key or tensor.
void load_checkpoint(const std::string& out_dir, TrainState& state, TrainableSet& trainable,
                     nn::AdamW& optimizer, const CheckpointLimits& limits);

}  // namespace ag::apps
