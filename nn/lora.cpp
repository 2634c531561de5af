#include "nn/lora.h"

#include <cmath>
#include <regex>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/rng.h"

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
    : Module(config.use_dora ? "DoraLinear" : "LoraLinear"),
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
  if (config.use_dora) {
    const int64_t size = config.magnitude_axis == MagnitudeAxis::kOutput ? out : in;
    magnitude_ = register_parameter("lora_magnitude_vector", Tensor::empty({size}));
    if (!SkipInit::active()) magnitude_.copy_(weight_norms());  // output unchanged at step 0
  }
}

void LoraLinear::refresh_weight_row_norms() {
  const Tensor& w = base_->weight;
  const int64_t out = w.size(0), in = w.size(1);
  weight_row_sq_norms_ = Tensor::empty({out});
  for (int64_t i = 0; i < out; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < in; ++j) s += double(w.data()[i * in + j]) * w.data()[i * in + j];
    weight_row_sq_norms_.data()[i] = float(s);
  }
}

Tensor LoraLinear::weight_norms() {
  NoGradGuard no_grad;
  if (config_.magnitude_axis == MagnitudeAxis::kInput) {
    // Per input column: n_j = ‖(W + s·B A)_{:, j}‖, computed directly (the seed's variant).
    Tensor wp = base_->weight.clone();
    Tensor delta = matmul(lora_b_->weight, lora_a_->weight);
    for (int64_t i = 0; i < wp.numel(); ++i) wp.data()[i] += scaling_ * delta.data()[i];
    return row_l2_norm(transpose2d(wp));
  }
  if (!weight_row_sq_norms_.defined()) refresh_weight_row_norms();
  return dora_weight_norms(base_->weight, weight_row_sq_norms_, lora_a_->weight, lora_b_->weight,
                           scaling_);
}

Tensor LoraLinear::dora_input_scale() {
  Tensor n = weight_norms();  // a constant: no gradient flows through n in this variant
  return div(magnitude_, n);
}

Tensor LoraLinear::forward(const Tensor& x) {
  if (merged_) return base_->forward(x);
  AdapterDropout drop;
  if (is_training() && config_.dropout > 0.0f) {
    drop.p = config_.dropout;
    drop.seed = next_seed();
    drop.first_index = shard_first_index(x.numel());
    drop.mask = fixed_mask_;
    drop.adapter_only = config_.dora_branch_dropout;
  }
  const Tensor &w = base_->weight, &b = base_->bias, &a = lora_a_->weight, &bm = lora_b_->weight;
  if (!config_.use_dora) return lora_linear(x, w, b, a, bm, scaling_, drop);
  if (config_.magnitude_axis == MagnitudeAxis::kInput) {
    // The seed: W' = (W + s·B A) diag(m / n_col), so y = (x ⊙ m/n) (W + s·B A)ᵀ + b.
    return lora_linear(mul(x, dora_input_scale()), w, b, a, bm, scaling_, drop);
  }
  if (!weight_row_sq_norms_.defined()) refresh_weight_row_norms();
  return dora_linear(x, w, b, a, bm, magnitude_, weight_row_sq_norms_, scaling_, drop,
                     config_.dora_norm_gradient);
}

void LoraLinear::merge() {
  if (merged_) return;
  NoGradGuard no_grad;
  Tensor w = base_->weight;
  const int64_t out = w.size(0), in = w.size(1);
  Tensor delta = matmul(lora_b_->weight, lora_a_->weight);  // B A (out, in)
  if (config_.use_dora) merge_norms_ = weight_norms();
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      float v = w.data()[i * in + j] + scaling_ * delta.data()[i * in + j];
      if (config_.use_dora) {
        const bool rows = config_.magnitude_axis == MagnitudeAxis::kOutput;
        const int64_t k = rows ? i : j;
        v *= magnitude_.data()[k] / merge_norms_.data()[k];
      }
      w.data()[i * in + j] = v;
    }
  weight_row_sq_norms_ = Tensor();  // W changed
  merged_ = true;
}

void LoraLinear::unmerge() {
  if (!merged_) return;
  NoGradGuard no_grad;
  Tensor w = base_->weight;
  const int64_t out = w.size(0), in = w.size(1);
  Tensor delta = matmul(lora_b_->weight, lora_a_->weight);
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      float v = w.data()[i * in + j];
      if (config_.use_dora) {
        const int64_t k = config_.magnitude_axis == MagnitudeAxis::kOutput ? i : j;
        v *= merge_norms_.data()[k] / magnitude_.data()[k];
      }
      w.data()[i * in + j] = v - scaling_ * delta.data()[i * in + j];
    }
  weight_row_sq_norms_ = Tensor();
  merged_ = false;
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
    parent->replace_module(child_name, std::make_shared<LoraLinear>(base, config.for_module(name)));
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
