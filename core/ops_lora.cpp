// LoRA as one fused op: y = x Wᵀ + b + s · (x' Aᵀ) Bᵀ, x' = drop(x).
//
// Shapes: x (M, in) (leading dims flattened), W (out, in), b (out), A (r, in), B (out, r),
// t = x' Aᵀ (M, r). Forward is three GEMMs, the last accumulating into y (beta = 1):
//   y  = x Wᵀ (+ b)        M·out·in
//   t  = x' Aᵀ             M·r·in     (thin)
//   y += s · t Bᵀ          M·out·r    (thin)
// Backward with dy (M, out):
//   dt  = s · dy B         (M, r)
//   dB += s · dyᵀ t        (out, r)
//   dA += dtᵀ x'           (r, in)     x' regenerated from x and the dropout seed
//   dx += dy W + drop(dt A)            (drop() is the same mask again)
//   dW += dyᵀ x, db += Σ dy            only if the base layer trains (normally frozen)
#include "core/adapter_kernels.h"
#include "core/autograd.h"
#include "core/errors.h"
#include "core/linear_kernel.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/profiler.h"

namespace ag {

constexpr OpKind kLoraLinearOp{"lora_linear", OpFamily::kGemm};

// The inputs of a lora_linear node, in record() order.
enum class LoraSlot : size_t { kX, kWeight, kBias, kA, kB };

void check_adapter_shapes(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& a,
                          const Tensor& bm, const char* op) {
  const bool ok = w.dim() == 2 && x.dim() >= 1 && x.size(-1) == w.size(1) && a.dim() == 2 &&
                  bm.dim() == 2 && a.size(1) == w.size(1) && bm.size(0) == w.size(0) &&
                  bm.size(1) == a.size(0) &&
                  (!b.defined() || (b.dim() == 1 && b.size(0) == w.size(0)));
  if (!ok)
    throw ShapeError(std::string(op) + ": shapes do not fit: x " + to_string(x.shape()) + ", W " +
                     to_string(w.shape()) + ", A " + to_string(a.shape()) + ", B " +
                     to_string(bm.shape()) + " (need W (out, in), A (r, in), B (out, r))");
}

// x' = drop(x) into a fresh tensor, or x itself when dropout is off.
Tensor adapter_input(const Tensor& x, const AdapterDropout& d) {
  if (!d.active()) return x;
  Tensor xd = Tensor::empty(x.shape());
  apply_adapter_dropout(d, x.data(), xd.data(), false, x.numel());
  return xd;
}

Tensor lora_linear(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& a,
                   const Tensor& bm, float s, const AdapterDropout& drop) {
  ProfileScope profile(kLoraLinearOp);
  check_adapter_shapes(x, w, b, a, bm, "lora_linear");
  const int64_t in = w.size(1), out = w.size(0), r = a.size(0), M = x.numel() / in;
  Tensor y = linear_forward(x, w, b);
  Tensor xd = adapter_input(x, drop);
  Tensor t = Tensor::empty({M, r});
  gemm(Trans::kNo, Trans::kYes, M, r, in, 1.0f, xd.data(), a.data(), 0.0f, t.data());
  gemm(Trans::kNo, Trans::kYes, M, out, r, s, t.data(), bm.data(), 1.0f, y.data());

  if (auto node = record(kLoraLinearOp, {x, w, b, a, bm}, y)) {
    node->backward_fn = [x, w, a, bm, t, s, drop, M, in, out, r](Node& n) {
      const float* dy = n.grad.data();
      Tensor dt = Tensor::empty({M, r});
      gemm(Trans::kNo, Trans::kNo, M, r, out, s, dy, bm.data(), 0.0f, dt.data());
      if (n.needs_grad(LoraSlot::kB)) {
        GradBuffer dB = n.grad_for(LoraSlot::kB);
        gemm(Trans::kYes, Trans::kNo, out, r, M, s, dy, t.data(), dB.beta(), dB.data);
      }
      if (n.needs_grad(LoraSlot::kA)) {
        Tensor xd = adapter_input(x, drop);
        GradBuffer dA = n.grad_for(LoraSlot::kA);
        gemm(Trans::kYes, Trans::kNo, r, in, M, 1.0f, dt.data(), xd.data(), dA.beta(), dA.data);
      }
      if (n.needs_grad(LoraSlot::kX)) {
        GradBuffer dx = n.grad_for(LoraSlot::kX);
        gemm_dy_w(dy, M, w, dx.beta(), dx.data);
        if (!drop.active()) {
          gemm(Trans::kNo, Trans::kNo, M, in, r, 1.0f, dt.data(), a.data(), 1.0f, dx.data);
        } else {
          Tensor dxd = Tensor::empty({M, in});
          gemm(Trans::kNo, Trans::kNo, M, in, r, 1.0f, dt.data(), a.data(), 0.0f, dxd.data());
          apply_adapter_dropout(drop, dxd.data(), dx.data, true, M * in);
        }
      }
      if (n.needs_grad(LoraSlot::kWeight)) {
        GradBuffer dW = n.grad_for(LoraSlot::kWeight);
        gemm(Trans::kYes, Trans::kNo, out, in, M, 1.0f, dy, x.data(), dW.beta(), dW.data);
      }
      if (n.needs_grad(LoraSlot::kBias)) column_sums(dy, M, out, n.grad_for(LoraSlot::kBias));
    };
  }
  return y;
}

}  // namespace ag
