// Matrix products through cblas_sgemm. Row-major throughout; transposes are cblas flags and
// leading dimensions, never copies. A weight that carries a bf16 copy (core/bf16_gemm.h) has its
// two products, x Wᵀ and dy W, run in bf16 through oneDNN instead (gemm_x_wt, gemm_dy_w).
#include "core/autograd.h"
#include "core/errors.h"
#include "core/linear_kernel.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/profiler.h"

namespace ag {

constexpr OpKind kLinearOp{"linear", OpFamily::kGemm};
constexpr OpKind kLinearGeluOp{"linear_gelu", OpFamily::kGemm};
constexpr OpKind kMatmulOp{"matmul", OpFamily::kGemm};

// The inputs of a linear or linear_gelu node, in record() order.
enum class LinearSlot : size_t { kX, kWeight, kBias };
// The inputs of a matmul node: C = op(A) op(B).
enum class MatmulSlot : size_t { kA, kB };

static void check_linear(const Tensor& x, const Tensor& w, const Tensor& b, const char* op) {
  if (w.dim() != 2 || x.dim() < 1 || x.size(-1) != w.size(1))
    throw ShapeError(std::string(op) + ": input " + to_string(x.shape()) +
                     " does not match weight (out, in) " + to_string(w.shape()));
  if (b.defined() && (b.dim() != 1 || b.size(0) != w.size(0)))
    throw ShapeError(std::string(op) + ": bias " + to_string(b.shape()) + " does not match " +
                     std::to_string(w.size(0)) + " outputs");
}

// Forward of y = x Wᵀ (+ b): x (M, in), W (out, in), y (M, out).
Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t in = w.size(1), out = w.size(0), M = x.numel() / in;
  Shape shape = x.shape();
  shape.back() = out;
  Tensor y = Tensor::empty(shape);
  gemm_x_wt(x.data(), M, w, 0.0f, y.data());
  if (b.defined()) {
    float* py = y.data();
    const float* pb = b.data();
#pragma omp parallel for if (M * out > kParallelGrain)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < out; ++j) py[i * out + j] += pb[j];
  }
  return y;
}

// Backward of y = x Wᵀ + b given dy (M, out); the node's inputs are (x, W, b):
//   dx (M, in)   += dy W        (sgemm NN, or bf16) — x and W saved only when the other needs it
//   dW (out, in) += dyᵀ x       (sgemm TN)   — only when W requires a gradient
//   db (out)     += Σ_rows dy
static void linear_backward(Node& n, const float* x, const Tensor& w, int64_t M, int64_t in,
                            int64_t out, const float* dy) {
  if (n.needs_grad(LinearSlot::kX)) {
    GradBuffer dx = n.grad_for(LinearSlot::kX);
    gemm_dy_w(dy, M, w, dx.beta(), dx.data);
  }
  if (n.needs_grad(LinearSlot::kWeight)) {
    GradBuffer dw = n.grad_for(LinearSlot::kWeight);
    gemm(Trans::kYes, Trans::kNo, out, in, M, 1.0f, dy, x, dw.beta(), dw.data);
  }
  if (n.needs_grad(LinearSlot::kBias)) column_sums(dy, M, out, n.grad_for(LinearSlot::kBias));
}

static const float* data_or_null(const Tensor& t) {
  return t.defined() ? t.data() : nullptr;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  ProfileScope profile(kLinearOp);
  check_linear(x, weight, bias, "linear");
  Tensor y = linear_forward(x, weight, bias);
  if (auto node = record(kLinearOp, {x, weight, bias}, y)) {
    // x is saved only when W needs its gradient; W only when x needs one.
    Tensor saved_x = node->needs_grad(LinearSlot::kWeight) ? x : Tensor();
    Tensor saved_w = node->needs_grad(LinearSlot::kX) ? weight : Tensor();
    const int64_t in = weight.size(1), out = weight.size(0), M = x.numel() / in;
    node->backward_fn = [saved_x, saved_w, M, in, out](Node& n) {
      linear_backward(n, data_or_null(saved_x), saved_w, M, in, out, n.grad.data());
    };
  }
  return y;
}

Tensor linear_gelu(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  ProfileScope profile(kLinearGeluOp);
  check_linear(x, weight, bias, "linear_gelu");
  // h = x Wᵀ + b is kept for backward; y = gelu(h) is computed in the same pass as the bias.
  Tensor h = linear_forward(x, weight, bias);
  Tensor y = Tensor::empty(h.shape());
  gelu_forward(h.data(), y.data(), h.numel());
  if (auto node = record(kLinearGeluOp, {x, weight, bias}, y)) {
    Tensor saved_x = node->needs_grad(LinearSlot::kWeight) ? x : Tensor();
    Tensor saved_w = node->needs_grad(LinearSlot::kX) ? weight : Tensor();
    const int64_t in = weight.size(1), out = weight.size(0), M = x.numel() / in;
    node->backward_fn = [saved_x, saved_w, h, M, in, out](Node& n) {
      // dh = dy ⊙ gelu'(h), then the linear backward with dh in place of dy.
      Tensor dh = Tensor::empty(h.shape());
      gelu_backward(h.data(), n.grad.data(), dh.data(), h.numel());
      linear_backward(n, data_or_null(saved_x), saved_w, M, in, out, dh.data());
    };
  }
  return y;
}

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  ProfileScope profile(kMatmulOp);
  if (a.dim() != 2 || b.dim() != 2)
    throw ShapeError("matmul: needs 2-D operands, got " + to_string(a.shape()) + " and " +
                     to_string(b.shape()));
  const int64_t M = ta ? a.size(1) : a.size(0), K = ta ? a.size(0) : a.size(1);
  const int64_t Kb = tb ? b.size(1) : b.size(0), N = tb ? b.size(0) : b.size(1);
  if (K != Kb)
    throw ShapeError("matmul: inner dimensions differ: " + to_string(a.shape()) + (ta ? "ᵀ" : "") +
                     " x " + to_string(b.shape()) + (tb ? "ᵀ" : ""));
  Tensor c = Tensor::empty({M, N});
  gemm(trans_if(ta), trans_if(tb), M, N, K, 1.0f, a.data(), b.data(), 0.0f, c.data());
  if (auto node = record(kMatmulOp, {a, b}, c)) {
    Tensor saved_a = node->needs_grad(MatmulSlot::kB) ? a : Tensor();
    Tensor saved_b = node->needs_grad(MatmulSlot::kA) ? b : Tensor();
    node->backward_fn = [saved_a, saved_b, ta, tb, M, N, K](Node& n) {
      // C = op(A) op(B). dop(A) (M, K) = dC op(B)ᵀ; dop(B) (K, N) = op(A)ᵀ dC.
      // Writing dA directly in A's layout: if ta, dA (K, M) = op(B) dCᵀ, else dA = dC op(B)ᵀ.
      const float* dc = n.grad.data();
      if (n.needs_grad(MatmulSlot::kA)) {
        GradBuffer da = n.grad_for(MatmulSlot::kA);
        if (!ta)
          gemm(Trans::kNo, trans_if(!tb), M, K, N, 1.0f, dc, saved_b.data(), da.beta(), da.data);
        else
          gemm(trans_if(tb), Trans::kYes, K, M, N, 1.0f, saved_b.data(), dc, da.beta(), da.data);
      }
      if (n.needs_grad(MatmulSlot::kB)) {
        GradBuffer db = n.grad_for(MatmulSlot::kB);
        if (!tb)
          gemm(trans_if(!ta), Trans::kNo, K, N, M, 1.0f, saved_a.data(), dc, db.beta(), db.data);
        else
          gemm(Trans::kYes, trans_if(ta), N, K, M, 1.0f, dc, saved_a.data(), db.beta(), db.data);
      }
    };
  }
  return c;
}

}  // namespace ag
