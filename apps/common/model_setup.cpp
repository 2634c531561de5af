#include "apps/common/model_setup.h"

#include <filesystem>
#include <ostream>
#include <set>

#include "core/errors.h"
#include "models/classifier_factory.h"
#include "models/pretrained.h"
#include "nn/inject.h"
#include "nn/layers.h"

namespace fs = std::filesystem;

namespace ag::apps {

std::shared_ptr<models::SequenceClassifier> load_base_model(const std::string& name,
                                                            const data::LabelMap& labels,
                                                            std::ostream* notices,
                                                            bool* random_init) {
  const fs::path path(name);
  const bool folder = fs::is_directory(path);
  const bool config_file = !folder && fs::is_regular_file(path);
  if (!folder && !config_file && !models::is_preset(name))
    throw Error("--model " + name +
                ": no such folder (expected a Hugging Face folder, a config.json file or a "
                "preset: distilbert-base-uncased, bert-base-uncased)");
  models::EncoderConfig config;
  if (folder)
    config = models::load_config((path / "config.json").string());
  else if (config_file)
    config = models::load_config(path.string());
  else
    config = models::preset_config(name);
  config.num_labels = labels.size();
  config.id2label = labels.names();
  // transformers' rule: one output is a regression (MSE on a float label), more are classes.
  if (labels.size() == 1)
    config.problem_type = "regression";
  else if (config.problem_type == "regression")
    config.problem_type.clear();
  models::check_model_size(config, name);  // the head grows with the labels
  models::check_fits_in_memory(config, name);
  if (random_init) *random_init = !folder;
  if (!folder) return models::make_classifier(config);  // random init, as transformers does
  const fs::path weights = path / "model.safetensors";
  if (!fs::exists(weights))
    throw Error(name + ": no model.safetensors (a Hugging Face folder needs config.json and " +
                "model.safetensors; for a random initialisation pass the config.json itself)");
  std::shared_ptr<models::SequenceClassifier> model;
  {
    nn::SkipInit skip;  // every value is overwritten below, except a missing head's
    model = models::make_classifier(config);
  }
  models::load_weights(*model, weights.string(), notices);
  return model;
}

nn::LoraConfig make_lora_config(const TrainConfig& c, const models::SequenceClassifier& model) {
  nn::LoraConfig lc;
  lc.r = c.r;
  lc.alpha = float(c.alpha);
  lc.dropout = float(c.dropout);
  lc.targets = models::resolve_targets(model, c.target_list());
  lc.scaling = c.scaling == "rslora"  ? nn::LoraScaling::kAlphaOverSqrtR
               : c.scaling == "alpha" ? nn::LoraScaling::kAlpha
                                      : nn::LoraScaling::kAlphaOverR;
  lc.init = c.init == "gaussian" ? nn::LoraInit::kGaussian : nn::LoraInit::kKaimingUniform;
  lc.use_dora = c.method == "dora";
  lc.magnitude_axis =
      c.dora_magnitude == "input" ? nn::MagnitudeAxis::kInput : nn::MagnitudeAxis::kOutput;
  lc.dora_branch_dropout = c.dora_dropout == "branch";
  if (c.train_head)
    for (auto& h : model.head_modules()) {
      bool wrapped = false;  // a head module an adapter wraps (--targets head) is not saved whole
      for (auto& t : lc.targets)
        if (t == h || t.rfind(h + ".", 0) == 0) wrapped = true;
      if (!wrapped) lc.modules_to_save.push_back(h);
    }
  return lc;
}

std::optional<nn::LoraConfig> apply_method(models::SequenceClassifier& model, const TrainConfig& c,
                                           std::ostream& log) {
  if (c.method == "full") {
    nn::unfreeze(model);
    log << "method full: every parameter trains\n";
    return std::nullopt;
  }
  if (c.method == "head") {
    nn::freeze(model);
    for (auto& h : model.head_modules()) {
      nn::Module* m = model.find_module(h);
      if (!m) throw Error("head module '" + h + "' not found in the model");
      nn::unfreeze(*m);
    }
    log << "method head: only the classification head trains\n";
    return std::nullopt;
  }
  nn::LoraConfig lc = make_lora_config(c, model);
  const auto wrapped = nn::apply_lora(model, lc);
  log << "method " << c.method << ": r " << lc.r << ", alpha " << lc.alpha << ", scaling "
      << lc.scaling_factor() << " (" << c.scaling << "), dropout " << lc.dropout << ", "
      << wrapped.size() << " layers wrapped (";
  for (size_t i = 0; i < lc.targets.size(); ++i) log << (i ? "," : "") << lc.targets[i];
  log << "); trained whole: ";
  if (lc.modules_to_save.empty()) log << "nothing";
  for (size_t i = 0; i < lc.modules_to_save.size(); ++i)
    log << (i ? "," : "") << lc.modules_to_save[i];
  log << "\n";
  return lc;
}

std::vector<nn::ParamGroup> make_param_groups(nn::Module& model, float weight_decay,
                                              std::vector<std::string>& names) {
  std::set<std::string> no_decay;
  for (auto& [prefix, module] : model.named_modules()) {
    const bool norm = dynamic_cast<nn::LayerNorm*>(module) != nullptr;
    for (auto& [local, t] : module->local_parameters())
      if (norm || local == "bias" || local == "lora_magnitude_vector")
        no_decay.insert(prefix.empty() ? local : prefix + "." + local);
  }
  std::vector<nn::ParamGroup> groups{{{}, weight_decay}, {{}, 0.0f}};
  std::vector<std::string> decayed, plain;
  for (auto& [name, t] : model.named_trainable_parameters()) {
    const bool skip = no_decay.count(name) > 0;
    groups[skip ? 1 : 0].params.push_back(t);
    (skip ? plain : decayed).push_back(name);
  }
  names = decayed;
  names.insert(names.end(), plain.begin(), plain.end());
  return groups;
}

}  // namespace ag::apps
