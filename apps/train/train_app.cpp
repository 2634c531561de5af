// The train app's run (main.cpp): flags, data, model, adapters, the Trainer, the outputs.
#include "apps/train/train_app.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <optional>

#include "apps/common/app_util.h"
#include "apps/common/base_digest.h"
#include "apps/common/evaluate.h"
#include "apps/common/glue_task.h"
#include "apps/common/model_setup.h"
#include "apps/common/resume_check.h"
#include "apps/common/run_data.h"
#include "apps/common/run_folder.h"
#include "apps/common/run_outputs.h"
#include "apps/common/run_threads.h"
#include "apps/common/task_metrics.h"
#include "apps/train/checkpoint.h"
#include "apps/train/data_order.h"
#include "apps/train/param_listing.h"
#include "apps/train/signals.h"
#include "apps/train/trainer.h"
#include "core/errors.h"
#include "core/machine/blas_startup.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "models/pretrained.h"
#include "nn/distributed.h"
#include "nn/module.h"
#include "nn/precision.h"

namespace fs = std::filesystem;
using namespace ag;
using namespace ag::apps;

namespace {

data::DataLoader make_loader(const data::Dataset& d, const RunTokenizer& t, const TrainConfig& c,
                             bool train) {
  data::DataLoaderOptions o;
  o.batch_size = train ? c.global_batch() : 2 * c.batch_size;
  o.shuffle = train;
  o.seed = c.seed;
  o.bucket_by_length = train ? c.bucket : true;  // evaluation: sorted by length, less padding
  o.pad_token_id = t.tokenizer.pad_id();
  return data::DataLoader(data::encode_dataset(d, t.tokenizer, c.max_length), o);
}

std::string default_out(const TrainConfig& c) {
  const std::string source =
      c.demo ? "demo" : fs::path(c.data.empty() ? c.train : c.data).stem().string();
  return (fs::path("runs") / (source + "-" + c.method)).string();
}

// The exit code of a run stopped by a signal: 128 + its number, as the shell reports a process
// the signal killed (SIGINT 130, SIGTERM 143, SIGHUP 129).
int stopped_exit_code() {
  return 128 + stop_signal();
}

// Paths become absolute, so that train_config.json, the checkpoint and adapter_config.json
// mean the same files whatever directory a later predict, merge or --resume runs from.
void make_paths_absolute(TrainConfig& c) {
  for (std::string* p : {&c.model, &c.tokenizer, &c.train, &c.validation, &c.test, &c.data})
    if (!p->empty() && fs::exists(*p)) *p = fs::absolute(*p).lexically_normal().string();
}

std::vector<NamedPath> train_inputs(const TrainConfig& c) {
  return {{"--model", c.model},           {"--tokenizer", c.tokenizer}, {"--train", c.train},
          {"--validation", c.validation}, {"--test", c.test},           {"--data", c.data}};
}

// A resumed run continues in its own folder: another --out is a mistake, not a copy.
void check_resume_out(const std::string& resume_dir, const std::string& out) {
  std::error_code ignored;
  const fs::path run = fs::weakly_canonical(fs::absolute(run_dir_of_resume(resume_dir)), ignored);
  if (run != fs::weakly_canonical(fs::absolute(out), ignored))
    throw Error("--out " + out + " is not the folder of the run --resume " + resume_dir +
                " continues (" + run_dir_of_resume(resume_dir) +
                "): a resumed run writes only into its own folder; drop --out");
}

// A random base (a config.json or preset --model) is saved for predict and merge only once
// every input has been checked; it is created again from the generator state it was first
// created from, which leaves the generator where training expects it.
void save_random_base(const std::string& model, const data::LabelMap& labels,
                      uint64_t generator_at_creation, const std::string& folder) {
  const uint64_t now = generator_state();
  set_generator_state(generator_at_creation);
  models::save_pretrained(*load_base_model(model, labels, nullptr), folder);
  set_generator_state(now);
}

int train_main(TrainConfig& c, const RunFlags& flags, nn::ProcessGroup& world,
               RunObserver* observer) {
  const double wall_start = now_seconds();
  const std::string& resume_dir = flags.resume_dir;
  const bool resuming = !resume_dir.empty();
  install_stop_handlers();  // from the start: Ctrl-C while loading must stop the run too
  apply_task_preset(c);     // --task: GLUE's columns, problem type and metric, unless given
  c.validate();
  if (flags.overwrite && resuming)
    throw Error("--overwrite replaces a run and --resume continues it: give only one");
  if (!flags.allow_change.empty() && !resuming) throw Error("--allow-change goes with --resume");
  make_paths_absolute(c);
  // Under mpirun the ranks of one machine share its cores: all cores / ranks each at most.
  RunThreads threads(c.threads, world.local_size());
  manual_seed(c.seed);
  if (c.out.empty()) c.out = default_out(c);
  check_output_folder({"--out", c.out});
  check_output_apart_from_inputs({"--out", c.out}, train_inputs(c));
  if (resuming) check_resume_out(resume_dir, c.out);
  const bool main_rank = world.is_main();  // rank 0 alone writes files, so it alone locks
  std::optional<RunFolderLock> lock;
  if (main_rank) {
    lock.emplace(c.out);
    check_run_folder(c.out, resuming, flags.overwrite, std::cout);
  }
  std::cout << "run folder: " << c.out << "\n";
  if (world.distributed()) {
    if (c.global_batch_size == 0) c.global_batch_size = c.batch_size * world.size();
    if (c.global_batch_size < world.size())
      throw Error("--global-batch-size " + std::to_string(c.global_batch_size) +
                  " is smaller than the " + std::to_string(world.size()) + " processes");
    std::cout << "data-parallel: " << world.size() << " processes, global batch "
              << c.global_batch_size << " (about " << c.global_batch_size / world.size()
              << " per process)\n";
  }

  RunData run = load_run_data(c, std::cout);
  const data::LabelMap labels = run.train.labels;
  check_metrics_fit_labels(c, labels, c.train.empty() ? c.data : c.train);
  RunTokenizer tok = load_run_tokenizer(c, run);
  if (observer) observer->before_model_load();
  const uint64_t generator_at_model = generator_state();
  bool random_init = false;
  auto model = load_base_model(c.model, labels, &std::cout, &random_init);
  const fs::path saved_base = fs::path(c.out) / "base-model";
  if (random_init && c.uses_adapter() && resuming &&
      fs::exists(saved_base / "model.safetensors")) {  // resume on the very same random base
    model = load_base_model(saved_base.string(), labels, nullptr);
    std::cout << "base: the random initialisation saved in " << saved_base.string() << "\n";
  }
  const auto& mc = model->config();
  std::cout << "model: " << c.model << " (" << mc.model_type << ", " << mc.layers << " layers, "
            << "hidden " << mc.hidden << (random_init ? ", RANDOM initialisation" : ", pretrained")
            << "), " << labels.size() << " labels " << labels.describe() << "\n";
  if (tok.tokenizer.vocab_size() > mc.vocab_size)
    throw Error("the tokenizer has " + std::to_string(tok.tokenizer.vocab_size()) +
                " tokens but the model's vocab_size is " + std::to_string(mc.vocab_size) +
                " (wrong --tokenizer for this --model?)");
  if (c.max_length > mc.max_positions) {
    std::cout << "note: --max-length " << c.max_length << " exceeds the model's "
              << mc.max_positions << " positions; using " << mc.max_positions << "\n";
    c.max_length = mc.max_positions;
  }
  // The base the adapter trains on, by absolute path (for PEFT and predict) and by digest.
  const std::string base_path =
      random_init ? fs::absolute(saved_base).lexically_normal().string() : c.model;

  const auto lora = apply_method(*model, c, std::cout);
  const nn::PrecisionChoice precision = nn::resolve_precision(c.precision);
  // An adapter run saves the adapter alone; head and full save the whole model, frozen part too.
  models::set_precision(*model, precision.precision,
                        lora ? nn::FrozenFp32::kRelease : nn::FrozenFp32::kKeep);
  if (c.list_params)  // the tutorial's `name: True/False`, every parameter
    print_every_parameter(*model, std::cout);
  else if (!c.quiet_params)
    print_trainable_summary(*model, std::cout);
  const std::vector<std::string> saved =  // counted as PEFT counts, as count_params does
      lora ? lora->modules_to_save : std::vector<std::string>{};
  std::cout << nn::trainable_parameters_line(*model, saved) << std::endl;
  if (const std::string note = nn::distinct_parameters_note(*model, saved); !note.empty())
    std::cout << note << "\n";

  data::DataLoader train_loader = make_loader(run.train, tok, c, true);
  const data::DataLoader val_loader = make_loader(run.validation, tok, c, false);
  nlohmann::json config_json = to_json(c);
  // The run folder by absolute path too, as the inputs: `train --config` repeats the run from
  // any directory.
  config_json["out"] = fs::absolute(c.out).lexically_normal().string();
  config_json[kTokenizerDigestKey] = tokenizer_digests(tok);
  if (main_rank && !resuming) {
    // Every input has been read and checked: only now may the run change its folder.
    lock->keep();
    if (flags.overwrite) remove_previous_run(c.out, std::cout);
    if (random_init && c.uses_adapter())  // for predict and merge
      save_random_base(c.model, labels, generator_at_model, saved_base.string());
  }
  if (main_rank && (!random_init || c.uses_adapter()))
    record_base_digests(config_json, base_digests(base_path));
  if (main_rank && resuming)  // before anything of the run is rewritten
    config_json = check_resume_settings(config_json, read_checkpoint_config(c.out),
                                        split_comma_list(flags.allow_change),
                                        read_checkpoint_step(c.out), checkpoint_file(c.out));
  // Loading took a while: long enough to see how busy the machine is.
  std::cout << threads.settle() << "\nBLAS: " << blas_runtime_line(get_num_threads())
            << "\nprecision: " << precision.reason << "\n";
  Trainer trainer(c, *model, train_loader, val_loader, labels.size(), c.out, data_fingerprint(run),
                  config_json, world, threads);
  trainer.set_observer(observer);
  if (resuming) trainer.resume();  // checks the data before the run is rewritten
  if (main_rank) {
    lock->keep();
    write_json_file((fs::path(c.out) / "train_config.json").string(), config_json);
    labels.save((fs::path(c.out) / "labels.json").string());
    save_run_tokenizer(tok, c.out);
    if (c.save_data_order)  // for tools/bench/race_torch.py: the same data, batches and order
      write_data_order((fs::path(c.out) / "data_order.jsonl").string(), run, tok.tokenizer,
                       train_loader, c);
  }
  if (world.distributed())
    std::cout << "gradient Allreduce: " << trainer.allreduce_bytes_per_step()
              << " bytes per step and rank (one call)\n";
  std::cout << "training: " << c.epochs << " epochs x " << trainer.steps_per_epoch() << " steps"
            << (trainer.total_steps() < c.epochs * trainer.steps_per_epoch()
                    ? ", capped at " + std::to_string(trainer.total_steps()) + " by --max-steps"
                    : " = " + std::to_string(trainer.total_steps()))
            << "; batch " << c.global_batch() << " x " << c.grad_accum << " accumulated, lr "
            << c.lr << " (" << c.schedule << ")" << std::endl;
  if (stop_requested()) {  // asked while loading: stop before the first step
    std::cout << "interrupted before the first step: nothing was trained"
              << (resuming ? "; the checkpoint is unchanged" : "") << std::endl;
    return stopped_exit_code();
  }
  const TrainOutcome outcome = trainer.run();
  const std::string ckpt = checkpoint_file(c.out);
  if (outcome == TrainOutcome::kInterrupted) {
    std::cout << "interrupted: checkpoint at step " << trainer.state().step << " written to "
              << ckpt << "\nresume with: "
              << (world.distributed() ? "mpirun -np " + std::to_string(world.size()) + " " : "")
              << "train --resume " << c.out << std::endl;
    return stopped_exit_code();
  }
  if (outcome == TrainOutcome::kDiverged) {
    const int64_t last = trainer.last_checkpoint_step();
    throw Error(trainer.stop_message() + "; stopped. " +
                (last >= 0 && fs::exists(ckpt)
                     ? "The last checkpoint is " + ckpt + " (step " + std::to_string(last) +
                           "), but its weights may already be diverging: rather than resuming "
                           "from it, train again with a lower --lr"
                     : std::string("No checkpoint was written before that.")));
  }

  trainer.restore_best();
  const auto& st = trainer.state();
  const std::vector<std::string> metrics = run_metrics(c);
  std::cout << "best validation " << (metrics[0] == "accuracy" ? "accuracy" : metrics[0]) << " "
            << st.best_val_acc << " at epoch " << st.best_epoch << " (step " << st.best_step
            << "): restored\n";
  nlohmann::json summary = {{"best_epoch", st.best_epoch},
                            {"best_step", st.best_step},
                            {"steps", st.step},
                            {"trainable_params", nn::count_parameters(*model).trainable},
                            {"all_params", nn::count_parameters(*model).total},
                            {"synthetic_data", run.synthetic}};
  add_task_summary(summary, c, st.best_val_acc);
  if (!run.test.examples.empty()) {
    const EvalResult r = evaluate(*model, make_loader(run.test, tok, c, false), labels.size(),
                                  &world, c.is_regression());
    nlohmann::json event = {{"event", "test"},
                            {"step", st.step},
                            {"test_loss", r.loss},
                            {"test_acc", r.accuracy},
                            {"test_examples", r.examples}};
    if (c.is_regression()) event.erase("test_acc");
    if (labels.size() > 2) event["test_macro_f1"] = r.macro_f1;
    std::string others;  // the task's metrics besides accuracy
    for (const std::string& m : metrics) {
      if (m == "accuracy") continue;
      event["test_" + m] = summary["test_" + m] = metric_value(m, r);
      others += ", " + m + " " + std::to_string(metric_value(m, r));
    }
    trainer.state().metrics.add(event);
    if (!c.is_regression()) summary["test_acc"] = r.accuracy;
    summary["test_loss"] = r.loss;
    if (labels.size() > 2) summary["test_macro_f1"] = r.macro_f1;
    std::cout << "test ";
    if (!c.is_regression()) std::cout << "accuracy " << r.accuracy << " ";
    std::cout << "(" << r.examples << " examples"
              << (labels.size() > 2 ? ", macro-F1 " + std::to_string(r.macro_f1) : "") << others
              << ")" << (run.synthetic ? "  [SYNTHETIC demo data]" : "") << "\n";
  }
  if (!main_rank) return 0;
  save_trained_weights(c.out, base_path, *model, lora);
  trainer.write_metrics_and_curves();
  // Training time per epoch (evaluation excluded), measured over every step of the run.
  summary["seconds_per_epoch"] =
      st.step ? st.train_seconds * double(trainer.steps_per_epoch()) / double(st.step) : 0.0;
  summary["train_seconds"] = st.train_seconds;
  summary["wall_seconds"] = now_seconds() - wall_start;
  summary["examples_per_second"] = st.train_seconds > 0
                                       ? double(st.step) / double(trainer.steps_per_epoch()) *
                                             double(run.train.size()) / st.train_seconds
                                       : 0.0;
  summary["peak_rss_mib"] = peak_rss_mib();
  summary.update(threads.summary());
  summary["blas"] = blas_runtime_json(get_num_threads());
  summary["precision"] = nn::precision_name(precision.precision);
  summary["precision_reason"] = precision.reason;
  summary["processes"] = world.size();
  summary["allreduce_bytes_per_step"] = trainer.allreduce_bytes_per_step();
  summary["allreduce_seconds"] = trainer.allreduce_seconds();
  write_json_file((fs::path(c.out) / "summary.json").string(), summary);
  std::cout << "wall time " << format_duration(now_seconds() - wall_start) << ", peak memory "
            << int64_t(peak_rss_mib()) << " MiB\n"
            << "saved: " << c.out << "/ ("
            << (lora ? "adapter_model.safetensors" : "model.safetensors")
            << ", labels.json, metrics.jsonl, curves.svg, summary.json)\n"
            << "predict: predict --run " << c.out << " --input FILE" << std::endl;
  return 0;
}

}  // namespace

namespace ag::apps {

int run_train_app(int argc, char** argv, RunObserver* observer) {
  nn::ProcessGroup& world = nn::ProcessGroup::world();         // MPI_Init first, under mpirun
  if (!world.is_main()) std::cout.setstate(std::ios::badbit);  // rank 0 alone prints progress
  TrainConfig config;
  RunFlags flags;
  CLI::App app{
      "Fine-tunes a BERT/DistilBERT classifier with LoRA, DoRA, full or head-only "
      "training."};
  add_train_options(app, config, flags);
  const int code = run_guarded([&] {
    // Defaults < --resume's saved settings < --config file < flags.
    const std::string resume_dir = find_flag_value(argc, argv, "resume");
    if (!resume_dir.empty()) {
      apply_json(config, read_checkpoint_config(resume_dir),
                 checkpoint_file(run_dir_of_resume(resume_dir)));
      config.out = run_dir_of_resume(resume_dir);
    }
    const std::string config_file = find_flag_value(argc, argv, "config");
    if (!config_file.empty()) load_config_file(config, config_file);
    if (auto done = parse_arguments(app, argc, argv)) return *done;
    return train_main(config, flags, world, observer);
  });
  // A failed rank ends the whole job: the others would otherwise wait in a collective forever.
  if (code == 1 && world.distributed()) world.abort(code);
  return code;
}

}  // namespace ag::apps
