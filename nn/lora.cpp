#include "nn/lora.h"

#include <cmath>
#include <regex>

#include "core/autograd.h"
#include "core/bf16_gemm.h"
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
  refresh_bf16_copy(w);  // W changed in place
  set_merged(false);
}

}  // namespace ag::nn
