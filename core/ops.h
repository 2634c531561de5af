// The differentiable ops of adaptgrad, all declared here, grouped by family. Each is
// implemented as a forward/backward pair side by side in core/ops_<family>.cpp, with the shapes
// in a comment; kernels shared by several families are in core/ops_util.h, core/linear_kernel.h
// and core/adapter_kernels.h (internal to core/).
//
// Broadcasting (elementwise binary ops) is the subset a transformer needs: the second operand
// may have the shape of the first, be a single element, or have the shape of the first's
// trailing dimensions (a bias row (D) against activations (B, T, D)). The same holds with the
// roles swapped. The gradient of a broadcast operand is summed over the repeated dimensions.
#pragma once

#include <cstdint>
#include <optional>

#include "core/precision.h"
#include "core/tensor.h"

namespace ag {

// --- matrix products (ops_linear.cpp) ----------------------------------------------------------
// y = x Wᵀ + b. x (..., in), W (out, in), b (out) or undefined; y (..., out).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
// Fused y = gelu(x Wᵀ + b): one pass over y for bias and activation (the FFN's first layer).
Tensor linear_gelu(const Tensor& x, const Tensor& weight, const Tensor& bias);
// C = op(A) op(B) for 2-D A, B, where op transposes when asked (no copies are made).
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);

// --- multi-head attention (ops_attention.cpp) --------------------------------------------------
// q is (B, Tq, D), k and v (B, Tk, D), D = heads · dh; head h is the strided column block
// [h·dh, (h+1)·dh) of every row, read in place through cblas leading dimensions.
// probs (B, H, Tq, Tk) = softmax(scale · Q_h K_hᵀ with masked keys set to the lowest float),
// fusing the QKᵀ GEMM, the scale, the mask and the softmax. key_mask (B, Tk): 1 keep, 0 mask.
// `precision` kBf16 runs the products (forward and backward) on bf16-rounded operands with fp32
// accumulation, as torch.autocast does; mask and softmax stay fp32. It needs oneDNN.
Tensor attention_probs(const Tensor& q, const Tensor& k, const Indices& key_mask, int64_t heads,
                       float scale, Precision precision = Precision::kFp32);
// context (B, Tq, D) = probs_h V_h for every head, written in place into its column block.
Tensor attention_context(const Tensor& probs, const Tensor& v, int64_t heads,
                         Precision precision = Precision::kFp32);

// --- elementwise (ops_elementwise.cpp) ---------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& a, float s);
Tensor relu(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor gelu(const Tensor& x);  // erf form: 0.5 x (1 + erf(x / √2)), as Hugging Face's "gelu"
Tensor sqrt(const Tensor& x);
Tensor reciprocal(const Tensor& x);

// --- reductions (ops_reduce.cpp) ----------------------------------------------------------------
Tensor sum(const Tensor& x);   // () = Σ x
Tensor mean(const Tensor& x);  // () = Σ x / numel
// n (R) with n_i = ‖x_i‖₂ over the last dimension of x (R, C).
Tensor row_l2_norm(const Tensor& x);

// --- normalisation and softmax (ops_norm.cpp) ---------------------------------------------------
// y = (x − mean) / √(var + eps) · gamma + beta over the last dim. x (..., D), gamma, beta (D).
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps);
// Fused layer_norm(x + residual, ...): the residual sum and the norm in one pass.
Tensor add_layer_norm(const Tensor& x, const Tensor& residual, const Tensor& gamma,
                      const Tensor& beta, float eps);
// Softmax over the last dim of x (..., C); `additive_mask`, if defined, is added first and
// broadcasts like an elementwise operand (e.g. (C) or the trailing dims of x).
Tensor softmax(const Tensor& x, const Tensor& additive_mask = Tensor());

// --- dropout (ops_dropout.cpp) ------------------------------------------------------------------
// Inverted dropout: keeps each element with probability 1 − p and scales it by 1 / (1 − p).
// The mask is a pure function of (seed, element index) — a counter-based RNG — so backward
// regenerates it instead of storing it. The random seed is drawn from the global generator.
// `first_index` is the counter of element 0: 0, or in data-parallel training the counter the
// whole batch reaches at this process's first row (batch_first_index, core/rng.h).
Tensor dropout(const Tensor& x, float p, bool training, uint64_t first_index = 0);
Tensor dropout_with_seed(const Tensor& x, float p, uint64_t seed, uint64_t first_index = 0);

// --- embeddings and shapes (ops_shape.cpp) ------------------------------------------------------
// out (..., D) = table[ids]: table (V, D), ids of any shape. The table gets a gradient only
// when it requires one; ids out of [0, V) are an error naming the offending id. Positions
// holding `padding_idx` send no gradient to the table (torch's padding_idx).
Tensor embedding(const Indices& ids, const Tensor& table, int64_t padding_idx = -1);
// A view with a new shape and the same elements (one dimension may be −1).
Tensor reshape(const Tensor& x, Shape shape);
// Picks index `index` of dimension `dim`, removing that dimension (x[:, 0] is select(x, 1, 0)).
Tensor select(const Tensor& x, int64_t dim, int64_t index);
// (R, C) -> (C, R).
Tensor transpose2d(const Tensor& x);

// --- loss (ops_loss.cpp) ------------------------------------------------------------------------
// Mean cross-entropy of logits (N, C) against labels (N); labels equal to ignore_index are
// skipped (and do not count in the mean), as torch.nn.functional.cross_entropy.
Tensor cross_entropy(const Tensor& logits, const Indices& labels, int32_t ignore_index = -100);
// Mean squared error of predictions (N) or (N, 1) against N float targets, as
// torch.nn.functional.mse_loss(predictions.squeeze(), targets) (ops_loss_regression.cpp).
Tensor mse_loss(const Tensor& predictions, const std::vector<float>& targets);

// --- adapters (ops_lora.cpp, ops_dora.cpp) -----------------------------------------------------
// Dropout on an adapter's input: off (p = 0), or the counter-based mask of dropout() from
// `seed` (element i kept iff random_uniform(seed, first_index + i) >= p, scaled by 1/(1 − p)).
struct AdapterDropout {
  float p = 0.0f;
  uint64_t seed = 0;
  // The counter of element 0: 0, or in data-parallel training the counter the whole batch
  // reaches at this process's first row (batch_first_index, core/rng.h), as for dropout().
  uint64_t first_index = 0;
  bool active() const { return p > 0.0f; }
};

// LoRA: y = x Wᵀ + b + s · (drop(x) Aᵀ) Bᵀ with x (..., in), W (out, in), b (out) or undefined,
// A (r, in), B (out, r). The adapter branch is two thin GEMMs, the second accumulated straight
// into y (cblas beta = 1): no full-size temporary.
Tensor lora_linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& lora_a,
                   const Tensor& lora_b, float scaling, const AdapterDropout& dropout = {});

// The operands of a DoRA layer (magnitude per output row, as the paper and PEFT), by name.
struct DoraOperands {
  Tensor weight;     // W (out, in), frozen
  Tensor bias;       // b (out) or undefined
  Tensor lora_a;     // A (r, in)
  Tensor lora_b;     // B (out, r)
  Tensor magnitude;  // m (out)
  // ‖W_i‖² for every row i (out). W is frozen, so its layer computes them once and keeps them
  // (nn::DoraLinear); dora_linear reads them on every call.
  Tensor weight_row_sq_norms;
  float scaling = 1.0f;  // s
};

// ‖W_i + s·B_i A‖² for every output row i, without forming W + s·B A:
//   n_i² = ‖W_i‖² + 2s·B_i·(W Aᵀ)_i + s²·B_i (A Aᵀ) B_iᵀ
// Returns n (out), not differentiated (the magnitude and the bias are not read).
Tensor dora_weight_norms(const DoraOperands& layer);

// Which of DoRA's two formulas applies dropout while training (they agree in eval mode).
enum class DoraDropout {
  kPeft,    // PEFT's formula: one more full GEMM each way
  kBranch,  // dropout on the low-rank branch's input alone, as LoRA: no extra GEMM
};
struct DoraOptions {
  DoraDropout dropout_formula = DoraDropout::kPeft;
  // n is a constant in backward (PEFT's default) unless set: then the exact gradient through n
  // flows into A and B as well.
  bool norm_gradient = false;
};

// DoRA, one function per dropout formula. x (..., in), g = m / n with n = dora_weight_norms;
// y (..., out).
//   no dropout:      y = g ⊙ (x Wᵀ + s·(x Aᵀ) Bᵀ) + b
//   branch dropout:  y = g ⊙ (x Wᵀ + s·(x' Aᵀ) Bᵀ) + b,  x' = drop(x)   (no extra GEMM)
//   PEFT's dropout:  y = x Wᵀ + b + (g − 1) ⊙ (x' Wᵀ) + g ⊙ s·(x' Aᵀ) Bᵀ (one more full GEMM)
Tensor dora_linear_no_dropout(const Tensor& x, const DoraOperands& layer, bool norm_gradient);
Tensor dora_linear_branch_dropout(const Tensor& x, const DoraOperands& layer,
                                  const AdapterDropout& dropout, bool norm_gradient);
Tensor dora_linear_peft_dropout(const Tensor& x, const DoraOperands& layer,
                                const AdapterDropout& dropout, bool norm_gradient);
// The one of the three that `dropout` and `options.dropout_formula` select: none when the
// dropout is inactive, else the formula.
Tensor dora_linear(const Tensor& x, const DoraOperands& layer, const AdapterDropout& dropout = {},
                   DoraOptions options = {});

}  // namespace ag
