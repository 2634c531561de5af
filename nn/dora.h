// DoRA (Liu et al. 2024): weight-decomposed low-rank adaptation, beside LoRA (nn/lora.h) as
// PEFT has dora.py beside layer.py. The adapted weight W + s·B A is split into a direction,
// normalised by its norm n, and a trained magnitude m:
//   W' = m ⊙ (W + s·B A) / n
// Two layers, which differ in the axis the norm and the magnitude run along:
//   DoraLinear           one magnitude per output row: the paper and PEFT
//                        (parameter "lora_magnitude_vector" of shape (out))
//   InputAxisDoraLinear  one per input column, as the LoRA/DoRA tutorial for DistilBERT
//                        (weight.norm(dim=0); shape (in))
// Both treat n as a constant in backward (PEFT's default) unless dora_norm_gradient is set.
#pragma once

#include <memory>

#include "nn/lora.h"

namespace ag::nn {

// DoRA with the magnitude per output row, one fused op (core/ops_dora.cpp):
//   y = (m / n) ⊙ (x Wᵀ + s·(x Aᵀ) Bᵀ) + b,   n_i = ‖W_i + s·B_i A‖
// With dropout, PEFT's formula (or, with dora_branch_dropout, dropout on the low-rank branch).
class DoraLinear : public LoraLinear {
 public:
  DoraLinear(std::shared_ptr<Linear> base, const LoraConfig& config);
  Tensor forward(const Tensor& x) override;

  // W ← (m / n) ⊙ (W + s·B A) along the magnitude's axis; unmerge() restores W.
  void merge() override;
  void unmerge() override;
  Tensor merged_weight() override;
  Tensor magnitude() const override { return magnitude_; }
  // n for the current A and B: ‖W_i + s·B_i A‖ per output row (out).
  virtual Tensor weight_norms();

 protected:
  // For each concrete layer: its type name, and a magnitude along `axis`.
  DoraLinear(const char* type_name, std::shared_ptr<Linear> base, const LoraConfig& config,
             MagnitudeAxis axis);
  // m = n at creation, so that the adapted layer starts as the base layer. Called by each
  // constructor of a concrete layer (weight_norms() is virtual).
  void init_magnitude();

 private:
  Tensor weight_row_sq_norms();  // ‖W_i‖² (out): this layer's cache, computed once (W is frozen)
  DoraOperands operands();       // W, b, A, B, m, the cache and s, for the fused ops
  Tensor merged_weight(const Tensor& norms);  // (m / n) ⊙ (W + s·B A) for these norms n
  MagnitudeAxis axis_;
  Tensor magnitude_;
  Tensor weight_row_sq_norms_;
  Tensor merge_norms_;  // n at merge time, for unmerge
};

// The LoRA/DoRA tutorial's DoRA (its LinearWithDoRA): the norm and the magnitude per input
// column, W' = (W + s·B A) diag(m / n) with n_j = ‖(W + s·B A)_{:, j}‖, so
//   y = (x ⊙ m / n) (W + s·B A)ᵀ + b
// which is LoRA's fused op on the rescaled input. n is a constant (no gradient flows through it).
class InputAxisDoraLinear : public DoraLinear {
 public:
  InputAxisDoraLinear(std::shared_ptr<Linear> base, const LoraConfig& config);
  Tensor forward(const Tensor& x) override;
  // n_j = ‖(W + s·B A)_{:, j}‖ per input column (in), from the materialised W + s·B A.
  Tensor weight_norms() override;
};

}  // namespace ag::nn
