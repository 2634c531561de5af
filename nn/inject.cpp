#include "nn/inject.h"

#include "core/errors.h"
#include "nn/dora.h"

namespace ag::nn {

std::shared_ptr<LoraLinear> make_adapter(std::shared_ptr<Linear> base, const LoraConfig& config) {
  if (!config.use_dora) return std::make_shared<LoraLinear>(std::move(base), config);
  if (config.magnitude_axis == MagnitudeAxis::kInput)
    return std::make_shared<InputAxisDoraLinear>(std::move(base), config);
  return std::make_shared<DoraLinear>(std::move(base), config);
}

bool matches_target(const std::string& name, const std::string& target) {
  if (name == target) return true;
  return name.size() > target.size() && name[name.size() - target.size() - 1] == '.' &&
         name.compare(name.size() - target.size(), target.size(), target) == 0;
}

// Splits "a.b.c" into the parent path "a.b" and the child name "c".
static std::pair<std::string, std::string> split_last(const std::string& path) {
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos) return {"", path};
  return {path.substr(0, dot), path.substr(dot + 1)};
}

std::vector<std::string> apply_lora(Module& model, const LoraConfig& config) {
  config.validate();
  freeze(model);
  std::vector<std::string> wrapped;
  std::vector<bool> used(config.targets.size(), false);
  for (auto& [name, module] : model.named_modules()) {
    auto* linear = dynamic_cast<Linear*>(module);
    if (!linear || name.empty()) continue;
    bool hit = false;
    for (size_t t = 0; t < config.targets.size(); ++t)
      if (matches_target(name, config.targets[t])) hit = used[t] = true;
    if (hit) wrapped.push_back(name);
  }
  for (size_t t = 0; t < config.targets.size(); ++t)
    if (!used[t])
      throw Error("LoRA: target module '" + config.targets[t] + "' matches no Linear layer of " +
                  model.type_name());
  for (auto& name : wrapped) {
    auto [parent_path, child_name] = split_last(name);
    Module* parent = model.find_module(parent_path);
    auto base = std::dynamic_pointer_cast<Linear>(parent->child(child_name));
    parent->replace_module(child_name, make_adapter(base, config.for_module(name)));
  }
  // PEFT matches modules_to_save by plain string suffix (no "." boundary), so "classifier"
  // also selects DistilBERT's "pre_classifier"; we follow it so that adapters move both ways.
  for (auto& target : config.modules_to_save) {
    bool found = false;
    for (auto& [name, module] : model.named_modules())
      if (!name.empty() && name.size() >= target.size() &&
          name.compare(name.size() - target.size(), target.size(), target) == 0 &&
          !dynamic_cast<LoraLinear*>(module)) {
        unfreeze(*module);
        found = true;
      }
    if (!found) throw Error("modules_to_save: '" + target + "' matches no module");
  }
  return wrapped;
}

std::vector<std::pair<std::string, LoraLinear*>> lora_layers(Module& model) {
  std::vector<std::pair<std::string, LoraLinear*>> out;
  for (auto& [name, module] : model.named_modules())
    if (auto* l = dynamic_cast<LoraLinear*>(module)) out.emplace_back(name, l);
  return out;
}

void merge_adapters(Module& model) {
  for (auto& [name, l] : lora_layers(model)) l->merge();
}

void unmerge_adapters(Module& model) {
  for (auto& [name, l] : lora_layers(model)) l->unmerge();
}

void merge_and_unload(Module& model) {
  for (auto& [name, l] : lora_layers(model)) {
    l->merge();
    auto [parent_path, child_name] = split_last(name);
    Module* parent = model.find_module(parent_path);
    auto base = std::dynamic_pointer_cast<Linear>(l->child("base_layer"));
    parent->replace_module(child_name, base);
  }
}

}  // namespace ag::nn
