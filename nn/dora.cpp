#include "nn/dora.h"

#include "core/autograd.h"
#include "core/ops.h"

namespace ag::nn {

DoraLinear::DoraLinear(std::shared_ptr<Linear> base, const LoraConfig& config)
    : DoraLinear(std::move(base), config, MagnitudeAxis::kOutput) {
  init_magnitude();
}

DoraLinear::DoraLinear(std::shared_ptr<Linear> base, const LoraConfig& config, MagnitudeAxis axis)
    : LoraLinear("DoraLinear", std::move(base), config), axis_(axis) {
  const Linear& b = base_layer();
  const int64_t size = axis == MagnitudeAxis::kOutput ? b.out_features() : b.in_features();
  magnitude_ = register_parameter("lora_magnitude_vector", Tensor::empty({size}));
}

void DoraLinear::init_magnitude() {
  if (!SkipInit::active()) magnitude_.copy_(weight_norms());  // output unchanged at step 0
}

Tensor DoraLinear::weight_row_sq_norms() {
  if (weight_row_sq_norms_.defined()) return weight_row_sq_norms_;
  const Tensor& w = base_layer().weight;
  const int64_t out = w.size(0), in = w.size(1);
  weight_row_sq_norms_ = Tensor::empty({out});
  for (int64_t i = 0; i < out; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < in; ++j) s += double(w.data()[i * in + j]) * w.data()[i * in + j];
    weight_row_sq_norms_.data()[i] = float(s);
  }
  return weight_row_sq_norms_;
}

Tensor DoraLinear::weight_norms() {
  NoGradGuard no_grad;
  return dora_weight_norms(base_layer().weight, weight_row_sq_norms(), lora_A(), lora_B(),
                           scaling());
}

Tensor DoraLinear::forward(const Tensor& x) {
  if (merged()) return base_layer().forward(x);
  AdapterDropout drop = dropout_for(x);
  drop.adapter_only = config().dora_branch_dropout;
  const Linear& base = base_layer();
  return dora_linear(x, base.weight, base.bias, lora_A(), lora_B(), magnitude_,
                     weight_row_sq_norms(), scaling(), drop, config().dora_norm_gradient);
}

// W_ij ← (W_ij + s·(B A)_ij) · m_k / n_k, where k is i (output axis) or j (input axis): the
// strides (row_step, column_step) pick k once for the whole loop.
void DoraLinear::merge() {
  if (merged()) return;
  Tensor w = base_layer().weight, delta = delta_weight();
  merge_norms_ = weight_norms();
  const int64_t out = w.size(0), in = w.size(1);
  const bool rows = axis_ == MagnitudeAxis::kOutput;
  const int64_t row_step = rows ? 1 : 0, column_step = rows ? 0 : 1;
  const float *m = magnitude_.data(), *n = merge_norms_.data(), *d = delta.data();
  float* pw = w.data();
  const float s = scaling();
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      const int64_t k = i * row_step + j * column_step;
      float v = pw[i * in + j] + s * d[i * in + j];
      v *= m[k] / n[k];
      pw[i * in + j] = v;
    }
  weight_row_sq_norms_ = Tensor();  // W changed
  set_merged(true);
}

// The inverse: W_ij ← W_ij · n_k / m_k − s·(B A)_ij with the norms saved by merge().
void DoraLinear::unmerge() {
  if (!merged()) return;
  Tensor w = base_layer().weight, delta = delta_weight();
  const int64_t out = w.size(0), in = w.size(1);
  const bool rows = axis_ == MagnitudeAxis::kOutput;
  const int64_t row_step = rows ? 1 : 0, column_step = rows ? 0 : 1;
  const float *m = magnitude_.data(), *n = merge_norms_.data(), *d = delta.data();
  float* pw = w.data();
  const float s = scaling();
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      const int64_t k = i * row_step + j * column_step;
      float v = pw[i * in + j];
      v *= n[k] / m[k];
      pw[i * in + j] = v - s * d[i * in + j];
    }
  weight_row_sq_norms_ = Tensor();
  set_merged(false);
}

InputAxisDoraLinear::InputAxisDoraLinear(std::shared_ptr<Linear> base, const LoraConfig& config)
    : DoraLinear(std::move(base), config, MagnitudeAxis::kInput) {
  init_magnitude();
}

Tensor InputAxisDoraLinear::weight_norms() {
  NoGradGuard no_grad;
  Tensor wp = base_layer().weight.clone(), delta = delta_weight();
  for (int64_t i = 0; i < wp.numel(); ++i) wp.data()[i] += scaling() * delta.data()[i];
  return row_l2_norm(transpose2d(wp));
}

Tensor InputAxisDoraLinear::forward(const Tensor& x) {
  if (merged()) return base_layer().forward(x);
  const AdapterDropout drop = dropout_for(x);
  const Tensor input_scale = div(magnitude(), weight_norms());  // m / n, n a constant
  const Linear& base = base_layer();
  return lora_linear(mul(x, input_scale), base.weight, base.bias, lora_A(), lora_B(), scaling(),
                     drop);
}

}  // namespace ag::nn
