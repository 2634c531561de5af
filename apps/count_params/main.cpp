// count_params: which parameters train, and how many — the `name: True/False` printout and
// PEFT's line (counted as PEFT counts it: modules_to_save twice, nn/module.h),
// then the count of distinct parameters when the two differ.
//
//   build/bin/count_params --model distilbert-base-uncased --method lora --targets query,value
//
// It takes train's model and adapter flags and builds the adapter through the same
// apply_method(), so it prints exactly what `train` trains with the same flags.
// The model is built from shapes only (a preset or a folder's config.json): no weight is read,
// initialised or even touched in memory, so it runs in a moment for any model size.
#include <CLI/CLI.hpp>

#include <iostream>
#include <sstream>

#include "apps/common/app_util.h"
#include "apps/common/model_setup.h"
#include "apps/common/train_config.h"
#include "core/errors.h"
#include "models/pretrained.h"
#include "nn/layers.h"
#include "nn/lora.h"

int main(int argc, char** argv) {
  ag::apps::start_app(argv);
  CLI::App app{
      "Print every parameter with whether it trains, then PEFT's trainable-parameter line"};
  ag::apps::TrainConfig config;
  config.model = "distilbert-base-uncased";
  int64_t num_labels = 2;
  bool quiet = false;
  ag::apps::add_adapter_flags(app, config);
  app.get_option("--model")->description(
      "Hugging Face folder, a config.json file or a preset (distilbert-base-uncased, "
      "bert-base-uncased)");
  app.add_option("--num-labels", num_labels, "Labels of the classification head");
  app.add_flag("--quiet", quiet, "Only print the count line");
  return ag::apps::run_guarded([&] {
    if (auto done = ag::apps::parse_arguments(app, argc, argv)) return *done;
    config.validate_adapter();
    ag::models::LoadOptions options;
    options.num_labels = num_labels;
    options.skip_weights = true;
    auto model = ag::models::from_pretrained(config.model, options);
    ag::nn::SkipInit shapes_only;
    std::ostringstream method_log;  // train's "method lora: r 8, ..." line; not printed here
    const auto lora = ag::apps::apply_method(*model, config, method_log);
    if (!quiet)
      for (auto& [name, p] : model->named_parameters())
        std::cout << name << ": " << (p.requires_grad() ? "True" : "False") << "\n";
    const std::vector<std::string> saved =
        lora ? lora->modules_to_save : std::vector<std::string>{};
    std::cout << ag::nn::trainable_parameters_line(*model, saved) << "\n";
    if (const std::string note = ag::nn::distinct_parameters_note(*model, saved); !note.empty())
      std::cout << note << "\n";
    std::cout.flush();
    if (!std::cout) throw ag::Error("stdout: write failed");
    return 0;
  });
}
