// Optimizers, learning-rate schedules and gradient clipping, as torch.optim.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"

namespace ag::nn {

struct AdamWOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f, beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.01f;
};

// One group of parameters sharing a weight decay (biases, LayerNorm weights and DoRA
// magnitudes usually get none).
struct ParamGroup {
  std::vector<Tensor> params;
  float weight_decay = 0.01f;
};

// AdamW (Loshchilov & Hutter 2019), exactly torch.optim.AdamW:
//   p ← p − lr·wd·p;  m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²
//   p ← p − lr · (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + eps)
class AdamW {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamWOptions options);
  AdamW(const std::vector<Tensor>& params, AdamWOptions options);
  void step();       // parameters without a gradient are skipped, as torch does
  void zero_grad();  // drops every gradient (set_to_none)
  void set_lr(float lr) { options_.lr = lr; }
  float lr() const { return options_.lr; }
  int64_t steps() const { return step_; }

  // State for checkpoints: the moments of every parameter in order, and the step count.
  std::vector<Tensor>& first_moments() { return m_; }
  std::vector<Tensor>& second_moments() { return v_; }
  void set_steps(int64_t t) { step_ = t; }

 private:
  std::vector<ParamGroup> groups_;
  AdamWOptions options_;
  std::vector<Tensor> m_, v_;  // one per parameter, groups flattened in order
  int64_t step_ = 0;
};

// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm
// before clipping (torch.nn.utils.clip_grad_norm_).
float clip_grad_norm(const std::vector<Tensor>& params, float max_norm);

// Linear warm-up from 0 to 1 over `warmup` steps, then linear or cosine decay to 0 at `total`
// (transformers' get_linear_schedule_with_warmup / get_cosine_schedule_with_warmup).
enum class Decay { kLinear, kCosine, kConstant };
float lr_multiplier(int64_t step, int64_t warmup, int64_t total, Decay decay);

}  // namespace ag::nn
