#include "apps/bench/bench_run.h"

#include <cmath>
#include <optional>
#include <sstream>

#include "apps/common/model_setup.h"
#include "apps/common/train_config.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "core/rng.h"
#include "models/length_chunks.h"
#include "models/pretrained.h"
#include "nn/inject.h"
#include "nn/lora.h"
#include "nn/optim.h"

namespace ag::bench {

namespace {

// model.train(); forward; cross-entropy; zero_grad; backward; AdamW step.
StepRecord train_step(models::SequenceClassifier& model, nn::AdamW& opt, const Batch& batch) {
  StepRecord rec;
  Phases& p = rec.phases;
  const double t0 = now_seconds();
  model.train();
  const double t1 = now_seconds();
  Tensor logits = model.forward(batch.input);
  const double t2 = now_seconds();
  Tensor loss = cross_entropy(logits, batch.labels);
  const double t3 = now_seconds();
  rec.nodes = graph_nodes(loss);
  opt.zero_grad();
  const double t4 = now_seconds();
  loss.backward();
  const double t5 = now_seconds();
  opt.step();
  const double t6 = now_seconds();
  for (auto& [name, module] : model.named_modules()) {
    const auto* linear = dynamic_cast<const nn::Linear*>(module);
    const bool adapter_factor = name.ends_with("lora_A") || name.ends_with("lora_B");
    if (linear && !adapter_factor && linear->weight.grad().defined()) ++rec.weight_grad_gemms;
  }
  rec.value = loss.item();
  p.forward = t2 - t1;
  p.loss = t3 - t2;
  p.backward = t5 - t4;
  p.optimizer = (t4 - t3) + (t6 - t5);
  p.total = t6 - t0;  // the caller adds the release of the step's tensors
  return rec;
}

// Eval forward without autograd (the model is in eval mode), in length-sorted chunks as the
// apps evaluate and predict (models/length_chunks.h), or on the padded batch as given.
StepRecord infer_step(models::SequenceClassifier& model, const Batch& batch, bool padded) {
  StepRecord rec;
  const double t0 = now_seconds();
  NoGradGuard no_grad;
  Tensor logits =
      padded ? model.forward(batch.input) : models::forward_in_length_chunks(model, batch.input);
  rec.phases.forward = rec.phases.total = now_seconds() - t0;
  double sum = 0;
  for (float v : logits.to_vector()) sum += std::fabs(v);
  rec.value = sum / double(logits.numel());
  return rec;
}

// Runs every batch (warm-up first) and returns the records of the timed steps.
std::vector<StepRecord> run_steps(const BenchOptions& o, models::SequenceClassifier& model,
                                  const std::vector<Batch>& batches) {
  std::optional<nn::AdamW> opt;
  if (o.method == "infer") {
    model.eval();
  } else {
    nn::AdamWOptions adamw;
    adamw.lr = o.lr;
    opt.emplace(model.trainable_parameters(), adamw);
  }
  set_profiling(o.profile);
  std::vector<StepRecord> records;
  for (size_t i = 0; i < batches.size(); ++i) {
    reset_profile();
    const double t0 = now_seconds();
    StepRecord rec =
        opt ? train_step(model, *opt, batches[i]) : infer_step(model, batches[i], o.padded);
    rec.phases.total = now_seconds() - t0;  // includes freeing the step's graph and tensors
    for (int f = 0; f < kFamilies; ++f) rec.families[f] = profile_seconds(OpFamily(f));
    if (int64_t(i) >= o.warmup) records.push_back(rec);
  }
  set_profiling(false);
  return records;
}

}  // namespace

std::shared_ptr<models::SequenceClassifier> build_bench_model(const BenchOptions& o) {
  manual_seed(o.weight_seed);
  models::LoadOptions load;
  load.num_labels = kLabels;
  auto model = models::from_pretrained("distilbert-base-uncased", load);
  // The adapter as `train --method M --r R --dropout D --targets q_lin,v_lin --train-head=false`
  // builds it; infer merges a LoRA adapter into the weights.
  apps::TrainConfig adapter;
  adapter.method = o.method == "infer" ? "lora" : o.method;
  adapter.r = o.rank;
  adapter.dropout = o.dropout;
  adapter.targets = "q_lin,v_lin";
  adapter.train_head = false;
  adapter.dora_dropout = o.dora_dropout;
  adapter.validate_adapter();
  std::ostringstream method_log;  // not printed: the JSON line reports the parameter counts
  apps::apply_method(*model, adapter, method_log);
  if (o.method == "infer") nn::merge_and_unload(*model);
  models::set_precision(*model, nn::resolve_precision(o.precision).precision);
  return model;
}

BenchRun run_benchmark(const BenchOptions& o) {
  BenchRun run;
  run.rss_start_mib = peak_rss_mib();
  auto model = build_bench_model(o);
  run.params = nn::count_parameters(*model);
  auto batches = make_batches(o.shape, o.warmup + o.steps, o.seed);
  run.rss_before_steps_mib = peak_rss_mib();
  run.records = run_steps(o, *model, batches);
  run.peak_rss_mib = peak_rss_mib();  // before the sgemm reference, as bench_torch.py
  run.sgemm = measure_sgemm();
  run.precision = nn::resolve_precision(o.precision);
  if (run.precision.precision == nn::Precision::kBf16) run.bf16_gemm = measure_bf16_gemm();
  run.timed_batches.assign(std::make_move_iterator(batches.begin() + o.warmup),
                           std::make_move_iterator(batches.end()));
  return run;
}

}  // namespace ag::bench
