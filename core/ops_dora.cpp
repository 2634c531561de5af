// DoRA as one fused op (Liu et al. 2024; forward and bias handling as PEFT).
//
// Shapes: x (M, in), W (out, in), b (out), A (r, in), B (out, r), m (out), t (M, r).
// n_i = ‖W_i + s·B_i A‖ comes from the factored form (dora_weight_norms), g = m / n.
//
// Without dropout (the common path: no extra full GEMM over LoRA):
//   c = x Wᵀ + s · t Bᵀ      (one GEMM + one thin GEMM accumulated, t = x Aᵀ)
//   y = g ⊙ c + b
// Backward with dy:
//   dm_i += Σ_rows dy_i c_i / n_i,   db += Σ_rows dy
//   dc = g ⊙ dy, then LoRA's backward with dc: dB += s dcᵀ t, dt = s dc B, dA += dtᵀ x,
//   dx += dc W + dt A
//
// With dropout x' = drop(x) (PEFT's formula, one more full GEMM z = x' Wᵀ):
//   u = z + s · t Bᵀ   with t = x' Aᵀ
//   y = x Wᵀ + b + (g − 1) ⊙ z + g ⊙ s · t Bᵀ  =  x Wᵀ + b − z + g ⊙ u
// Backward: dm_i += Σ dy_i u_i / n_i; dz = (g − 1) ⊙ dy; dl = g ⊙ dy (the adapter term);
//   dB += s dlᵀ t, dt = s dl B, dA += dtᵀ x', dx += dy W + drop(dz W + dt A)
//
// With dropout on the low-rank branch only (AdapterDropout::adapter_only, not PEFT's):
//   c = x Wᵀ + s · t Bᵀ with t = x' Aᵀ, y = g ⊙ c + b: the no-dropout path with x' in t, and
//   in backward dA += dtᵀ x', dx += dl W + drop(dt A). No GEMM beyond LoRA's.
//
// Gradient through n (optional; PEFT and the paper treat n as a constant):
//   dn_i = −Σ_rows dy_i c_i m_i / n_i²  (c replaced by u with dropout), k_i = dn_i / n_i
//   n_i² = ‖W_i‖² + 2s B_i·P_i + s² B_i G B_iᵀ with P = W Aᵀ, G = A Aᵀ, so
//   dB_i += k_i (s P_i + s² (B G)_i),   dA += s (k ⊙ B)ᵀ W + s² ((k ⊙ B)ᵀ B) A
#include <omp.h>

#include <cmath>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/ops_lora.h"
#include "core/ops_util.h"
#include "core/profiler.h"

namespace ag {

// Guards n against zero rows (a zero weight row with a zero adapter row).
constexpr float kNormEpsilon = 1e-12f;

Tensor dora_weight_norms(const Tensor& w, const Tensor& w_sq, const Tensor& a, const Tensor& bm,
                         float s) {
  const int64_t in = w.size(1), out = w.size(0), r = a.size(0);
  if (w_sq.numel() != out)
    throw ShapeError("dora_weight_norms: cached row norms " + to_string(w_sq.shape()) +
                     " do not match W " + to_string(w.shape()));
  Tensor P = Tensor::empty({out, r}), G = Tensor::empty({r, r}), n = Tensor::empty({out});
  gemm(false, true, out, r, in, 1.0f, w.data(), a.data(), 0.0f, P.data());  // P = W Aᵀ
  gemm(false, true, r, r, in, 1.0f, a.data(), a.data(), 0.0f, G.data());    // G = A Aᵀ
  const float *pb = bm.data(), *pp = P.data(), *pg = G.data(), *pw = w_sq.data();
  float* pn = n.data();
  for (int64_t i = 0; i < out; ++i) {
    const float* Bi = pb + i * r;
    double cross = 0.0, quad = 0.0;  // B_i·P_i and B_i G B_iᵀ
    for (int64_t k = 0; k < r; ++k) {
      cross += double(Bi[k]) * pp[i * r + k];
      double gb = 0.0;
      for (int64_t l = 0; l < r; ++l) gb += double(pg[k * r + l]) * Bi[l];
      quad += double(Bi[k]) * gb;
    }
    const double sq = double(pw[i]) + 2.0 * s * cross + double(s) * s * quad;
    pn[i] = std::max(float(std::sqrt(std::max(sq, 0.0))), kNormEpsilon);
  }
  return n;
}

// The gradient through n (see the header comment): adds into dA and dB given k = dn / n.
static void norm_backward(const Tensor& w, const Tensor& a, const Tensor& bm, const float* k,
                          float s, GradBuffer* dA, GradBuffer* dB) {
  const int64_t in = w.size(1), out = w.size(0), r = a.size(0);
  Tensor kB = Tensor::empty({out, r});  // rows of B scaled by k
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < r; ++j) kB.data()[i * r + j] = k[i] * bm.data()[i * r + j];
  if (dB) {
    Tensor P = Tensor::empty({out, r}), G = Tensor::empty({r, r});
    gemm(false, true, out, r, in, 1.0f, w.data(), a.data(), 0.0f, P.data());
    gemm(false, true, r, r, in, 1.0f, a.data(), a.data(), 0.0f, G.data());
    // dB += s · diag(k) P + s² · diag(k) B G = s · diag(k) P + s² · kB G
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < r; ++j) dB->data[i * r + j] += s * k[i] * P.data()[i * r + j];
    gemm(false, false, out, r, r, s * s, kB.data(), G.data(), 1.0f, dB->data);
  }
  if (dA) {
    Tensor H = Tensor::empty({r, r});  // (k ⊙ B)ᵀ B
    gemm(true, false, r, r, out, 1.0f, kB.data(), bm.data(), 0.0f, H.data());
    gemm(true, false, r, in, out, s, kB.data(), w.data(), 1.0f, dA->data);
    gemm(false, false, r, in, r, s * s, H.data(), a.data(), 1.0f, dA->data);
  }
}

Tensor dora_linear(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& a,
                   const Tensor& bm, const Tensor& m, const Tensor& w_sq, float s,
                   const AdapterDropout& drop, bool norm_gradient) {
  ProfileScope profile(OpFamily::kGemm);
  check_adapter_shapes(x, w, b, a, bm, "dora_linear");
  const int64_t in = w.size(1), out = w.size(0), r = a.size(0), M = x.numel() / in;
  if (m.numel() != out)
    throw ShapeError("dora_linear: magnitude " + to_string(m.shape()) + " needs " +
                     std::to_string(out) + " entries (one per output row)");
  if (w.requires_grad())
    throw Error("dora_linear: the base weight must be frozen (DoRA trains m, A and B)");
  // PEFT's dropout formula, or (adapter_only) dropout inside the low-rank branch alone.
  const bool dropping = drop.active() && !drop.adapter_only;
  const bool branch_dropout = drop.active() && drop.adapter_only;
  Tensor n = dora_weight_norms(w, w_sq, a, bm, s);
  Tensor g = Tensor::empty({out});
  for (int64_t i = 0; i < out; ++i) g.data()[i] = m.data()[i] / n.data()[i];

  Shape shape = x.shape();
  shape.back() = out;
  Tensor y = Tensor::empty(shape);
  Tensor xd = adapter_input(x, drop);
  Tensor t = Tensor::empty({M, r});
  gemm(false, true, M, r, in, 1.0f, xd.data(), a.data(), 0.0f, t.data());
  // c is the unscaled adapted output (no dropout) or u = z + s t Bᵀ (dropout); kept for dm.
  Tensor c = Tensor::empty(shape);
  gemm(false, true, M, out, in, 1.0f, (dropping ? xd : x).data(), w.data(), 0.0f, c.data());
  gemm(false, true, M, out, r, s, t.data(), bm.data(), 1.0f, c.data());
  if (dropping) {
    // y = x Wᵀ − z + g ⊙ u + b and z = u − s·t Bᵀ, so y = (x Wᵀ + s·t Bᵀ) + (g − 1) ⊙ u + b:
    // the bracket here (one full and one thin GEMM), the rest in the loop below.
    gemm(false, true, M, out, in, 1.0f, x.data(), w.data(), 0.0f, y.data());
    gemm(false, true, M, out, r, s, t.data(), bm.data(), 1.0f, y.data());
  }
  {
    const float *pc = c.data(), *pg = g.data(), *pbias = b.defined() ? b.data() : nullptr;
    float* py = y.data();
#pragma omp parallel for if (M * out > kParallelGrain)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < out; ++j) {
        const float scaled = pg[j] * pc[i * out + j];
        const float base = dropping ? py[i * out + j] - pc[i * out + j] : 0.0f;
        py[i * out + j] = base + scaled + (pbias ? pbias[j] : 0.0f);
      }
  }

  if (auto node = record("dora_linear", {x, w, b, a, bm, m}, y)) {
    node->backward_fn = [=](Node& nd) {
      const float* dy = nd.grad.data();
      const float *pg = g.data(), *pn = n.data(), *pc = c.data(), *pm = m.data();
      // dl = g ⊙ dy, the gradient of the adapter term (and of everything when not dropping),
      // and dyc_j = Σ_rows dy_ij c_ij (for dm and the norm gradient), in one pass over dy:
      // each thread sums its rows into its own row of `partial`, then the rows are added.
      Tensor dl = Tensor::empty({M, out});
      Tensor partial = Tensor::zeros({omp_get_max_threads(), out});
#pragma omp parallel if (M * out > kParallelGrain)
      {
        float* acc = partial.data() + omp_get_thread_num() * out;
#pragma omp for
        for (int64_t i = 0; i < M; ++i) {
          const float *dyi = dy + i * out, *ci = pc + i * out;
          float* dli = dl.data() + i * out;
#pragma omp simd
          for (int64_t j = 0; j < out; ++j) {
            dli[j] = pg[j] * dyi[j];
            acc[j] += dyi[j] * ci[j];
          }
        }
      }
      Tensor dyc = Tensor::zeros({out});
      for (int64_t t = 0; t < partial.size(0); ++t)
        for (int64_t j = 0; j < out; ++j) dyc.data()[j] += partial.data()[t * out + j];
      if (nd.needs_grad(5)) {
        GradBuffer dm = nd.grad_for(5);
        for (int64_t j = 0; j < out; ++j)
          dm.data[j] = (dm.accumulate ? dm.data[j] : 0.0f) + dyc.data()[j] / pn[j];
      }
      if (nd.needs_grad(2)) column_sums(dy, M, out, nd.grad_for(2));
      Tensor dt = Tensor::empty({M, r});
      gemm(false, false, M, r, out, s, dl.data(), bm.data(), 0.0f, dt.data());
      GradBuffer dA, dB;
      if (nd.needs_grad(4)) {
        dB = nd.grad_for(4);
        gemm(true, false, out, r, M, s, dl.data(), t.data(), dB.beta(), dB.data);
      }
      Tensor xd = adapter_input(x, drop);  // x' regenerated (x itself without dropout)
      if (nd.needs_grad(3)) {
        dA = nd.grad_for(3);
        gemm(true, false, r, in, M, 1.0f, dt.data(), xd.data(), dA.beta(), dA.data);
      }
      if (norm_gradient && (dA.data || dB.data)) {
        std::vector<float> k(out);
        for (int64_t j = 0; j < out; ++j) k[j] = -dyc.data()[j] * pm[j] / (pn[j] * pn[j]) / pn[j];
        norm_backward(w, a, bm, k.data(), s, dA.data ? &dA : nullptr, dB.data ? &dB : nullptr);
      }
      if (nd.needs_grad(0)) {
        GradBuffer dx = nd.grad_for(0);
        if (!dropping) {
          // dx += dl W + dt A, or dl W + drop(dt A) with branch dropout (dl: the gradient of c)
          gemm(false, false, M, in, out, 1.0f, dl.data(), w.data(), dx.beta(), dx.data);
          if (branch_dropout) {
            Tensor dxd = Tensor::empty({M, in});
            gemm(false, false, M, in, r, 1.0f, dt.data(), a.data(), 0.0f, dxd.data());
            apply_adapter_dropout(drop, dxd.data(), dx.data, true, M * in);
          } else {
            gemm(false, false, M, in, r, 1.0f, dt.data(), a.data(), 1.0f, dx.data);
          }
        } else {
          // dx += dy W + drop(dz W + dt A) with dz = (g − 1) ⊙ dy = dl − dy
          Tensor dz = Tensor::empty({M, out});
          for (int64_t i = 0; i < M * out; ++i) dz.data()[i] = dl.data()[i] - dy[i];
          Tensor dxd = Tensor::empty({M, in});
          gemm(false, false, M, in, out, 1.0f, dz.data(), w.data(), 0.0f, dxd.data());
          gemm(false, false, M, in, r, 1.0f, dt.data(), a.data(), 1.0f, dxd.data());
          gemm(false, false, M, in, out, 1.0f, dy, w.data(), dx.beta(), dx.data);
          apply_adapter_dropout(drop, dxd.data(), dx.data, true, M * in);
        }
      }
    };
  }
  return y;
}

}  // namespace ag
