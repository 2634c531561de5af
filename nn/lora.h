// LoRA wrappers for Linear layers, with PEFT's names and numbers, and the configuration that
// LoRA and DoRA (nn/dora.h) share. Putting adapters into a model is nn/inject.h.
//
// A wrapper owns the frozen base layer as its child "base_layer" and the adapter as children
// "lora_A", "lora_B" (Linear layers without bias) and, for DoRA, the parameter
// "lora_magnitude_vector". Parameter names are therefore PEFT's, minus its "base_model.model."
// prefix and ".default" adapter name:
//   distilbert.transformer.layer.0.attention.q_lin.base_layer.weight   (frozen)
//   distilbert.transformer.layer.0.attention.q_lin.lora_A.weight       (r, in)
//   distilbert.transformer.layer.0.attention.q_lin.lora_B.weight       (out, r)
//   distilbert.transformer.layer.0.attention.q_lin.lora_magnitude_vector  (out)   DoRA only
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/ops.h"
#include "nn/layers.h"
#include "nn/module.h"

namespace ag::nn {

enum class LoraScaling {
  kAlphaOverR,      // alpha / r: the paper and PEFT's default
  kAlphaOverSqrtR,  // alpha / √r: rsLoRA (PEFT use_rslora)
  kAlpha,           // alpha: the LoRA/DoRA tutorial for DistilBERT
};

enum class LoraInit {
  kKaimingUniform,  // PEFT: A ~ U(−1/√in, 1/√in) (kaiming_uniform, a = √5), B = 0
  kGaussian,        // the tutorial: A ~ N(0, 1/r), B = 0
};

// Which axis DoRA's magnitude runs along.
enum class MagnitudeAxis {
  kOutput,  // one magnitude per output row: the paper, PEFT (default)
  kInput,   // one per input column (weight.norm(dim=0)): the tutorial's variant
};

struct LoraConfig {
  int64_t r = 8;
  float alpha = 16.0f;
  float dropout = 0.05f;
  // Module names or dotted suffixes to wrap ("q_lin", "v_lin", "attention.output.dense").
  std::vector<std::string> targets = {"q_lin", "v_lin"};
  LoraScaling scaling = LoraScaling::kAlphaOverR;
  LoraInit init = LoraInit::kKaimingUniform;
  bool use_dora = false;
  MagnitudeAxis magnitude_axis = MagnitudeAxis::kOutput;
  bool dora_norm_gradient = false;  // exact gradient through ‖W + sBA‖ (default: a constant)
  // DoRA training with dropout: PEFT's formula (default), or dropout on the low-rank branch's
  // input alone, y = (m/n) ⊙ (x Wᵀ + s·(x' Aᵀ) Bᵀ) + b, which saves PEFT's extra full GEMM in
  // forward and in backward. Not saved with the adapter: eval mode is the same either way.
  bool dora_branch_dropout = false;
  // Modules trained in full next to the adapters (PEFT's modules_to_save), e.g. {"classifier"}.
  // Matched as PEFT does, by string suffix: "classifier" also selects "pre_classifier".
  std::vector<std::string> modules_to_save;
  // PEFT's rank_pattern and alpha_pattern: per-module r and alpha, in the file's order. A key
  // selects a module whose full dotted name matches the regex "(.*\\.)?(key)"; the first
  // matching key wins (PEFT's get_pattern_key).
  std::vector<std::pair<std::string, int64_t>> rank_pattern;
  std::vector<std::pair<std::string, float>> alpha_pattern;

  float scaling_factor() const;
  // This config with r and alpha taken from the patterns for module `name` (no patterns:
  // itself). Throws a one-line error naming a pattern key that is not a valid regex.
  LoraConfig for_module(const std::string& name) const;
  // Throws a one-line error for r <= 0, negative alpha, dropout outside [0, 1).
  void validate() const;
};

// LoRA (Hu et al. 2021): y = x Wᵀ + b + s · (drop(x) Aᵀ) Bᵀ, one fused op (core/ops_lora.cpp).
// DoRA's layers (nn/dora.h) derive from it: they add a magnitude and their own forward.
class LoraLinear : public Module {
 public:
  LoraLinear(std::shared_ptr<Linear> base, const LoraConfig& config);
  Tensor forward(const Tensor& x) override;

  // Folds the adapter into the base weight, W ← W + s·B A (DoRA: see nn/dora.h); forward then
  // runs the plain base layer. unmerge() restores W.
  virtual void merge();
  virtual void unmerge();
  bool merged() const { return merged_; }
  // The weight merge() would write, W + s·B A (DoRA: see nn/dora.h), as a new tensor: the layer
  // is left as it is (load_adapter checks that it is finite).
  virtual Tensor merged_weight();

  Linear& base_layer() const { return *base_; }
  Tensor lora_A() const { return lora_a_->weight; }
  Tensor lora_B() const { return lora_b_->weight; }
  virtual Tensor magnitude() const { return Tensor(); }  // undefined for LoRA
  const LoraConfig& config() const { return config_; }

 protected:
  LoraLinear(const char* type_name, std::shared_ptr<Linear> base, const LoraConfig& config);
  // This forward's dropout on x: off in eval mode, else a fresh seed, from
  // the counter of the module's dropout_mode() (data-parallel training: its share's first row).
  AdapterDropout dropout_for(const Tensor& x) const;
  Tensor delta_weight() const;  // B A (out, in), not scaled
  // Records the merge state after W changed: through copy_() (merge, which refreshes W's bf16
  // copy itself) or in place (unmerge, which refreshes it with refresh_bf16_copy).
  void set_merged(bool merged) { merged_ = merged; }
  float scaling() const { return scaling_; }

 private:
  std::shared_ptr<Linear> base_;
  std::shared_ptr<Linear> lora_a_, lora_b_;
  LoraConfig config_;
  float scaling_;
  bool merged_ = false;
};

}  // namespace ag::nn
