// merge: base model + adapter -> one merged Hugging Face model folder (PEFT's merge_and_unload).
//
//   build/bin/merge --model BASE_FOLDER --adapter ADAPTER_FOLDER --out MERGED_FOLDER
//
// The result has the base architecture and parameter names (no base_layer / lora_*), with
// W ← W + s·B A (LoRA) or W ← (m/n) ⊙ (W + s·B A) (DoRA) in every adapted layer, and the
// adapter's saved modules (e.g. the classification head) in place. transformers loads it with
// AutoModelForSequenceClassification.from_pretrained(MERGED_FOLDER).
#include <CLI/CLI.hpp>

#include <iostream>
#include "apps/common/app_util.h"

#include "core/safetensors.h"
#include "models/pretrained.h"
#include "nn/adapter_io.h"

int main(int argc, char** argv) {
  ag::apps::start_app(argv);
  CLI::App app{"Merge a PEFT-format LoRA/DoRA adapter into its base model"};
  std::string model_name, adapter, out;
  int64_t num_labels = 0;
  app.add_option("--model", model_name, "Base model: Hugging Face folder or preset")->required();
  app.add_option("--adapter", adapter,
                 "Adapter folder (adapter_config.json + adapter_model.safetensors)")
      ->required();
  app.add_option("--out", out, "Folder for the merged model (config.json + model.safetensors)")
      ->required();
  app.add_option(
      "--num-labels", num_labels,
      "Labels of the head (default: from the adapter's classifier, else the base config)");
  if (auto code = ag::apps::parse_command_line(app, argc, argv)) return *code;
  try {
    ag::models::LoadOptions options;
    options.notices = &std::cerr;
    if (num_labels > 0)
      options.num_labels = num_labels;
    else {
      // A head saved with the adapter decides the number of labels.
      auto file = ag::safetensors::File::open(adapter + "/adapter_model.safetensors");
      if (file.contains("base_model.model.classifier.weight"))
        options.num_labels = file.info("base_model.model.classifier.weight").shape.at(0);
    }
    auto model = ag::models::from_pretrained(model_name, options);
    ag::nn::load_adapter(*model, adapter, &std::cerr);
    ag::nn::merge_and_unload(*model);
    ag::models::save_pretrained(*model, out);
    std::cout << "merged " << adapter << " into " << model_name << ": " << out << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
