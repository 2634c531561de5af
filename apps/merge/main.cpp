// merge: base model + adapter -> one merged Hugging Face model folder (PEFT's merge_and_unload).
//
//   build/bin/merge --run RUN_FOLDER --out MERGED_FOLDER
//   build/bin/merge --adapter ADAPTER_FOLDER [--model BASE_FOLDER] --out MERGED_FOLDER
//
// The base is the one the adapter records (adapter_config.json's base_model_name_or_path, or
// the random base a run saved in base-model/), as PEFT's AutoPeftModel finds it; --model
// overrides it. Either way its digests must be those train_config.json records. The base
// folder is only read: the merged model is a new folder.
//
// --out must be a new or empty folder; --overwrite replaces an earlier merged model there
// (config.json, model.safetensors and the tokenizer files, nothing else), after the merge has
// succeeded. A train run folder is never replaced.
//
// The result has the base architecture and parameter names (no base_layer / lora_*), with
// W ← W + s·B A (LoRA) or W ← (m/n) ⊙ (W + s·B A) (DoRA) in every adapted layer, and the
// adapter's saved modules (e.g. the classification head) in place. It is a complete Hugging
// Face folder: config.json with the run's id2label / label2id (labels.json), model.safetensors
// and the tokenizer files, so pipeline("text-classification", model=MERGED_FOLDER) works.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include "apps/common/app_util.h"
#include "apps/common/base_digest.h"
#include "apps/common/base_load_notices.h"
#include "apps/common/model_setup.h"
#include "apps/common/run_base.h"
#include "apps/common/run_data.h"
#include "apps/common/run_folder.h"

#include "core/errors.h"
#include "core/io/safetensors.h"
#include "models/pretrained.h"
#include "nn/adapter_io.h"

namespace fs = std::filesystem;

// The first of `folders` that holds a vocabulary, or "".
static std::string tokenizer_folder(const std::vector<std::string>& folders) {
  for (auto& dir : folders)
    if (!dir.empty() &&
        (fs::exists(fs::path(dir) / "vocab.txt") || fs::exists(fs::path(dir) / "tokenizer.json")))
      return dir;
  return "";
}

// The files merge writes into --out: what --overwrite replaces, and nothing else.
static std::vector<std::string> merged_file_names() {
  std::vector<std::string> names = {"config.json", "model.safetensors"};
  for (const std::string& name : ag::apps::tokenizer_file_names()) names.push_back(name);
  return names;
}

// A folder that already holds files is refused unless --overwrite; a train run folder always
// (its config.json and model.safetensors are a trained model, not a merge).
static void check_merge_output(const std::string& out, bool overwrite) {
  const std::vector<std::string> found = ag::apps::folder_entries(out);
  if (found.empty()) return;
  if (ag::apps::is_train_run_folder(out))
    throw ag::Error("--out " + out + " is a train run folder (" +
                    ag::apps::describe_entries(found) +
                    "): merge writes a model folder of its own; choose another --out");
  if (!overwrite)
    throw ag::Error("--out " + out + " already holds files (" + ag::apps::describe_entries(found) +
                    "): pass --overwrite to replace the merged model there (config.json, "
                    "model.safetensors, tokenizer files), or choose another --out");
}

// Removes the files of an earlier merge, so that no stale tokenizer.json stays next to a new
// vocab.txt; anything else in the folder stays.
static void remove_merged_files(const std::string& out) {
  for (const std::string& name : merged_file_names()) fs::remove(fs::path(out) / name);
}

int main(int argc, char** argv) {
  ag::apps::start_app(argv);
  CLI::App app{"Merge a PEFT-format LoRA/DoRA adapter into its base model"};
  std::string model_name, run_dir, adapter, out, labels_path, tokenizer;
  int64_t num_labels = 0;
  bool overwrite = false;
  app.add_option("--run", run_dir, "A train run folder (--out of train): its adapter and base");
  app.add_option("--model", model_name,
                 "Base model: Hugging Face folder or preset (default: the one the adapter "
                 "records)");
  app.add_option("--adapter", adapter,
                 "Adapter folder (adapter_config.json + adapter_model.safetensors; default: "
                 "the run folder)");
  app.add_option("--out", out,
                 "Folder for the merged model (config.json, model.safetensors, tokenizer files)")
      ->required();
  app.add_option("--labels", labels_path,
                 "labels.json naming the classes (default: the adapter folder's)");
  app.add_option("--tokenizer", tokenizer,
                 "Tokenizer folder to copy (default: the adapter folder, else the model folder)");
  app.add_option("--num-labels", num_labels,
                 "Labels of the head when there is no labels.json (default: from the adapter's "
                 "classifier, else the base config)");
  app.add_flag("--overwrite", overwrite,
               "--out holds a merged model: replace its files (only those) once the merge works");
  return ag::apps::run_guarded([&] {
    if (auto done = ag::apps::parse_arguments(app, argc, argv)) return *done;
    if (app.count("--num-labels") && num_labels < 1)
      throw ag::Error("--num-labels must be at least 1, got " + std::to_string(num_labels));
    if (run_dir.empty() && adapter.empty())
      throw ag::Error("give --run RUN_FOLDER or --adapter DIR");
    if (adapter.empty()) adapter = run_dir;
    // Checked first, so that a folder without it is reported by its own name.
    ag::nn::read_adapter_config(adapter);
    model_name =
        ag::apps::find_adapter_base(adapter, run_dir.empty() ? adapter : run_dir, model_name);
    // Never write over an input; never merge an adapter into a base it was not trained on.
    ag::apps::check_output_apart_from_inputs({"--out", out}, {{"--model", model_name},
                                                              {"--adapter", adapter},
                                                              {"--labels", labels_path},
                                                              {"--tokenizer", tokenizer}});
    ag::apps::check_output_folder({"--out", out});
    check_merge_output(out, overwrite);
    ag::apps::check_base_digest(run_dir.empty() ? adapter : run_dir, model_name);
    if (labels_path.empty() && fs::exists(fs::path(adapter) / "labels.json"))
      labels_path = (fs::path(adapter) / "labels.json").string();
    std::shared_ptr<ag::models::SequenceClassifier> model;
    ag::apps::BaseLoadNotices base_notices(&std::cerr);  // said once the adapter is in
    if (!labels_path.empty()) {
      // The run's label names become config.json's id2label / label2id.
      model = ag::apps::load_base_model(model_name, ag::data::LabelMap::load(labels_path),
                                        base_notices.stream());
    } else {
      ag::models::LoadOptions options;
      options.notices = base_notices.stream();
      if (num_labels > 0)
        options.num_labels = num_labels;
      else {
        // A head saved with the adapter decides the number of labels.
        auto file = ag::safetensors::File::open(adapter + "/adapter_model.safetensors");
        if (file.contains("base_model.model.classifier.weight"))
          options.num_labels = file.info("base_model.model.classifier.weight").shape.at(0);
      }
      model = ag::models::from_pretrained(model_name, options);
    }
    ag::nn::load_adapter(*model, adapter, &std::cerr);
    base_notices.release(ag::apps::BaseLoadNotices::saved_by_adapter(
        (fs::path(adapter) / "adapter_model.safetensors").string()));
    ag::nn::merge_and_unload(*model);
    const std::string tokenizer_from =
        tokenizer.empty() ? tokenizer_folder({adapter, model_name}) : tokenizer;
    if (!tokenizer.empty() && tokenizer_folder({tokenizer}).empty())
      throw ag::Error("--tokenizer " + tokenizer + ": no vocab.txt or tokenizer.json");
    if (overwrite) remove_merged_files(out);  // every input checked and merged: replace
    ag::models::save_pretrained(*model, out);
    if (tokenizer_from.empty() || !ag::apps::copy_tokenizer_files(tokenizer_from, out))
      std::cerr << "warning: no tokenizer files in " << adapter << " or " << model_name << ": "
                << out << " has none (pass --tokenizer FOLDER)\n";
    // The base folder is only read: say where the merged model went, apart from it.
    std::cout << "wrote " << out << ": base " << model_name << " with adapter " << adapter
              << " merged in (the base folder is unchanged)\n";
    return 0;
  });
}
