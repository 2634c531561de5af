#include "nn/lora.h"

#include <cmath>
#include <regex>

#include "core/autograd.h"
#include "core/bf16_gemm.h"
#include "core/errors.h"
#include "core/rng.h"
#include "nn/dora.h"

namespace ag::nn {

float LoraConfig::scaling_factor() const {
  switch (scaling) {
    case LoraScaling::kAlphaOverR:
      return alpha / float(r);
    case LoraScaling::kAlphaOverSqrtR:
      return alpha / std::sqrt(float(r));
    case LoraScaling::kAlpha:
      return alpha;
  }
  return alpha / float(r);
}

void LoraConfig::validate() const {
  if (r <= 0) throw Error("LoRA: rank r must be positive, got " + std::to_string(r));
  if (!(alpha >= 0.0f))
    throw Error("LoRA: alpha must be non-negative, got " + std::to_string(alpha));
  if (!(dropout >= 0.0f && dropout < 1.0f))
    throw Error("LoRA: dropout must be in [0, 1), got " + std::to_string(dropout));
  if (targets.empty()) throw Error("LoRA: no target modules given");
  for (auto& [key, value] : alpha_pattern)
    if (!(value >= 0.0f))
      throw Error("LoRA: alpha_pattern '" + key + "' must be non-negative, got " +
                  std::to_string(value));
}

// PEFT's get_pattern_key: the first key for which re.match(r"(.*\.)?(key)$", name) succeeds.
template <typename Value>
static const Value* pattern_value(const std::vector<std::pair<std::string, Value>>& pattern,
                                  const std::string& name, const char* field) {
  for (auto& [key, value] : pattern) {
    std::regex re;
    try {
      re = std::regex("(.*\\.)?(" + key + ")");
    } catch (const std::regex_error& e) {
      throw Error(std::string("LoRA: ") + field + " key '" + key +
                  "' is not a valid regular expression: " + e.what());
    }
    if (std::regex_match(name, re)) return &value;
  }
  return nullptr;
}

LoraConfig LoraConfig::for_module(const std::string& name) const {
  LoraConfig c = *this;
  c.rank_pattern.clear();
  c.alpha_pattern.clear();
  if (auto* r_value = pattern_value(rank_pattern, name, "rank_pattern")) c.r = *r_value;
  if (auto* alpha_value = pattern_value(alpha_pattern, name, "alpha_pattern"))
    c.alpha = *alpha_value;
  return c;
}

LoraLinear::LoraLinear(std::shared_ptr<Linear> base, const LoraConfig& config)
    : LoraLinear("LoraLinear", std::move(base), config) {}

LoraLinear::LoraLinear(const char* type_name, std::shared_ptr<Linear> base,
                       const LoraConfig& config)
    : Module(type_name),
      base_(std::move(base)),
      config_(config),
      scaling_(config.scaling_factor()) {
  config.validate();
  const int64_t in = base_->in_features(), out = base_->out_features();
  if (config.r > std::min(in, out))
    throw Error("LoRA: rank r = " + std::to_string(config.r) +
                " exceeds min(in, out) = " + std::to_string(std::min(in, out)) + " of a " +
                std::to_string(out) + "x" + std::to_string(in) + " layer");
  for (auto& [n, p] : base_->named_parameters()) p.set_requires_grad(false);
  register_module("base_layer", base_);
  lora_a_ = std::make_shared<Linear>(in, config.r, false);
  lora_b_ = std::make_shared<Linear>(config.r, out, false);
  if (!SkipInit::active()) {
    if (config.init == LoraInit::kKaimingUniform) {
      const float bound = 1.0f / std::sqrt(float(in));
      fill_uniform(lora_a_->weight, -bound, bound);
    } else {
      fill_normal(lora_a_->weight, 0.0f, 1.0f / std::sqrt(float(config.r)));
    }
    lora_b_->weight.fill_(0.0f);
  }
  register_module("lora_A", lora_a_);
  register_module("lora_B", lora_b_);
}

AdapterDropout LoraLinear::dropout_for(const Tensor& x) const {
  AdapterDropout drop;
  if (!is_training() || config_.dropout == 0.0f) return drop;
  drop.p = config_.dropout;
  drop.seed = next_seed();
  drop.first_index = batch_first_index(x, dropout_mode().first_row);
  drop.mask = fixed_mask_;
  return drop;
}

Tensor LoraLinear::delta_weight() const {
  NoGradGuard no_grad;
  return matmul(lora_b_->weight, lora_a_->weight);
}

Tensor LoraLinear::forward(const Tensor& x) {
  if (merged_) return base_->forward(x);
  return lora_linear(x, base_->weight, base_->bias, lora_a_->weight, lora_b_->weight, scaling_,
                     dropout_for(x));
}

Tensor LoraLinear::merged_weight() {
  if (merged_) return base_->weight.clone();
  Tensor w = base_->weight.clone(), delta = delta_weight();
  for (int64_t i = 0; i < w.numel(); ++i) w.data()[i] += scaling_ * delta.data()[i];
  return w;
}

void LoraLinear::merge() {
  if (merged_) return;
  base_->weight.copy_(merged_weight());
  set_merged(true);
}

void LoraLinear::unmerge() {
  if (!merged_) return;
  Tensor w = base_->weight, delta = delta_weight();
  for (int64_t i = 0; i < w.numel(); ++i) w.data()[i] -= scaling_ * delta.data()[i];
  set_merged(false);
}

void LoraLinear::set_merged(bool merged) {
  merged_ = merged;
  refresh_bf16_copy(base_->weight);
}

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
