#include "nn/dora.h"

#include "core/autograd.h"
#include "core/bf16_gemm.h"
#include "core/ops.h"

namespace ag::nn {

DoraLinear::DoraLinear(std::shared_ptr<Linear> base, const LoraConfig& config)
    : DoraLinear("DoraLinear", std::move(base), config, MagnitudeAxis::kOutput) {
  init_magnitude();
}

DoraLinear::DoraLinear(const char* type_name, std::shared_ptr<Linear> base,
                       const LoraConfig& config, MagnitudeAxis axis)
    : LoraLinear(type_name, std::move(base), config), axis_(axis) {
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

DoraOperands DoraLinear::operands() {
  const Linear& base = base_layer();
  return {.weight = base.weight,
          .bias = base.bias,
          .lora_a = lora_A(),
          .lora_b = lora_B(),
          .magnitude = magnitude_,
          .weight_row_sq_norms = weight_row_sq_norms(),
          .scaling = scaling()};
}

Tensor DoraLinear::weight_norms() {
  NoGradGuard no_grad;
  return dora_weight_norms(operands());
}

Tensor DoraLinear::forward(const Tensor& x) {
  if (merged()) return base_layer().forward(x);
  const DoraOptions options{
      .dropout_formula = config().dora_branch_dropout ? DoraDropout::kBranch : DoraDropout::kPeft,
      .norm_gradient = config().dora_norm_gradient};
  return dora_linear(x, operands(), dropout_for(x), options);
}

// Calls update(W_ij, (B A)_ij, k) for every element of W (out, in), where k is the index of the
// magnitude entry the element belongs to: i along the output axis, j along the input axis. The
// axis is chosen once, through the strides, not per element.
template <typename Update>
static void for_each_weight(const Tensor& w, const Tensor& delta, MagnitudeAxis axis,
                            Update update) {
  const int64_t out = w.size(0), in = w.size(1);
  const int64_t row_step = axis == MagnitudeAxis::kOutput ? 1 : 0, column_step = 1 - row_step;
  float* pw = w.data();
  const float* d = delta.data();
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j)
      update(pw[i * in + j], d[i * in + j], i * row_step + j * column_step);
}

// W'_ij = (W_ij + s·(B A)_ij) · m_k / n_k.
Tensor DoraLinear::merged_weight(const Tensor& norms) {
  const Tensor merged = base_layer().weight.clone(), delta = delta_weight();
  const float *m = magnitude_.data(), *n = norms.data(), s = scaling();
  for_each_weight(merged, delta, axis_, [&](float& w, float d, int64_t k) {
    float v = w + s * d;
    v *= m[k] / n[k];
    w = v;
  });
  return merged;
}

Tensor DoraLinear::merged_weight() {
  if (merged()) return base_layer().weight.clone();
  return merged_weight(weight_norms());
}

void DoraLinear::merge() {
  if (merged()) return;
  merge_norms_ = weight_norms();
  base_layer().weight.copy_(merged_weight(merge_norms_));
  weight_row_sq_norms_ = Tensor();  // W changed
  set_merged(true);
}

// The inverse, with the norms saved by merge(): W_ij ← W_ij · n_k / m_k − s·(B A)_ij.
void DoraLinear::unmerge() {
  if (!merged()) return;
  const float *m = magnitude_.data(), *n = merge_norms_.data(), s = scaling();
  for_each_weight(base_layer().weight, delta_weight(), axis_, [&](float& w, float d, int64_t k) {
    float v = w;
    v *= n[k] / m[k];
    w = v - s * d;
  });
  refresh_bf16_copy(base_layer().weight);  // W changed in place
  weight_row_sq_norms_ = Tensor();
  set_merged(false);
}

InputAxisDoraLinear::InputAxisDoraLinear(std::shared_ptr<Linear> base, const LoraConfig& config)
    : DoraLinear("InputAxisDoraLinear", std::move(base), config, MagnitudeAxis::kInput) {
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
