// count_params: which parameters train, and how many — the seed's printout and PEFT's line.
//
//   build/bin/count_params --model distilbert-base-uncased --method lora --targets query,value
//
// The model is built from shapes only (a preset or a folder's config.json): no weight is read,
// initialised or even touched in memory, so it runs in a moment for any model size.
#include <CLI/CLI.hpp>

#include <iostream>
#include "apps/common/app_util.h"

#include "core/errors.h"
#include "models/pretrained.h"
#include "nn/layers.h"
#include "nn/lora.h"

int main(int argc, char** argv) {
  ag::apps::start_app(argv);
  CLI::App app{
      "Print every parameter with whether it trains, then PEFT's trainable-parameter line"};
  std::string model_name = "distilbert-base-uncased", method = "lora", targets = "query,value";
  std::string save_modules, scaling = "alpha-over-r";
  int64_t num_labels = 2, r = 8;
  float alpha = 16, dropout = 0.05f;
  bool quiet = false;
  app.add_option("--model", model_name,
                 "Hugging Face folder or preset (distilbert-base-uncased, bert-base-uncased)");
  app.add_option("--num-labels", num_labels, "Labels of the classification head");
  app.add_option("--method", method, "lora, dora, full or head")
      ->check(CLI::IsMember({"lora", "dora", "full", "head"}));
  app.add_option(
      "--targets", targets,
      "Modules to adapt: the seed's switches query,key,value,projection,mlp,head or module names");
  app.add_option("--modules-to-save", save_modules,
                 "Modules trained in full next to the adapter (e.g. head)");
  app.add_option("--r", r, "LoRA rank");
  app.add_option("--alpha", alpha, "LoRA alpha");
  app.add_option("--dropout", dropout, "LoRA dropout (does not change the count)");
  app.add_option("--scaling", scaling, "alpha-over-r, rslora or alpha (does not change the count)");
  app.add_flag("--quiet", quiet, "Only print the count line");
  if (auto code = ag::apps::parse_command_line(app, argc, argv)) return *code;
  return ag::apps::run_guarded([&] {
    auto split = [](const std::string& s) {
      std::vector<std::string> out;
      std::stringstream in(s);
      for (std::string item; std::getline(in, item, ',');)
        if (!item.empty()) out.push_back(item);
      return out;
    };
    ag::models::LoadOptions options;
    options.num_labels = num_labels;
    options.skip_weights = true;
    auto model = ag::models::from_pretrained(model_name, options);
    ag::nn::SkipInit shapes_only;
    if (method == "lora" || method == "dora") {
      ag::nn::LoraConfig config;
      config.r = r;
      config.alpha = alpha;
      config.dropout = dropout;
      config.use_dora = method == "dora";
      config.targets = ag::models::resolve_targets(*model, split(targets));
      config.modules_to_save = ag::models::resolve_targets(*model, split(save_modules));
      ag::nn::apply_lora(*model, config);
    } else if (method == "head") {
      ag::nn::freeze(*model);
      for (auto& head : model->head_modules()) ag::nn::unfreeze(*model->find_module(head));
    }
    if (!quiet)
      for (auto& [name, p] : model->named_parameters())
        std::cout << name << ": " << (p.requires_grad() ? "True" : "False") << "\n";
    std::cout << ag::nn::trainable_parameters_line(*model) << "\n";
    std::cout.flush();
    if (!std::cout) throw ag::Error("stdout: write failed");
    return 0;
  });
}
