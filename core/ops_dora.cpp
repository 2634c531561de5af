// DoRA as fused ops (Liu et al. 2024; forward and bias handling as PEFT), one function per
// dropout formula, sharing the small helpers above them.
//
// Shapes: x (M, in), W (out, in), b (out), A (r, in), B (out, r), m (out), t (M, r).
// n_i = ‖W_i + s·B_i A‖ comes from the factored form (dora_weight_norms), g = m / n.
// Each formula keeps c (M, out), the output before g scales it, for the magnitude's gradient.
//
// Backward with dy, the same for the adapter's parameters in every formula
// (dora_adapter_backward), with dl = g ⊙ dy:
//   dm_i += Σ_rows dy_i c_i / n_i,   db += Σ_rows dy
//   dt = s dl B,   dB += s dlᵀ t,   dA += dtᵀ x'      (x' = drop(x), or x without dropout)
// and different for dx (each formula's own function).
//
// Gradient through n (optional; PEFT and the paper treat n as a constant), norm_backward:
//   dn_i = −Σ_rows dy_i c_i m_i / n_i²,  k_i = dn_i / n_i
//   n_i² = ‖W_i‖² + 2s B_i·P_i + s² B_i G B_iᵀ with P = W Aᵀ, G = A Aᵀ, so
//   dB_i += k_i (s P_i + s² (B G)_i),   dA += s (k ⊙ B)ᵀ W + s² ((k ⊙ B)ᵀ B) A
#include <omp.h>

#include <cmath>
#include <vector>

#include "core/adapter_kernels.h"
#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/profiler.h"

namespace ag {

constexpr OpKind kDoraLinearOp{"dora_linear", OpFamily::kGemm};

// Guards n against zero rows (a zero weight row with a zero adapter row).
constexpr float kNormEpsilon = 1e-12f;

Tensor dora_weight_norms(const DoraOperands& layer) {
  const Tensor &w = layer.weight, &w_sq = layer.weight_row_sq_norms, &a = layer.lora_a,
               &bm = layer.lora_b;
  const float s = layer.scaling;
  const int64_t in = w.size(1), out = w.size(0), r = a.size(0);
  if (w_sq.numel() != out)
    throw ShapeError("dora_weight_norms: cached row norms " + to_string(w_sq.shape()) +
                     " do not match W " + to_string(w.shape()));
  Tensor P = Tensor::empty({out, r}), G = Tensor::empty({r, r}), n = Tensor::empty({out});
  gemm_w_at(w, a.data(), r, P.data());                                                // P = W Aᵀ
  gemm(Trans::kNo, Trans::kYes, r, r, in, 1.0f, a.data(), a.data(), 0.0f, G.data());  // G = A Aᵀ
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

namespace {

// The inputs of a dora_linear node, in record() order.
enum class DoraSlot : size_t { kX, kWeight, kBias, kA, kB, kMagnitude };

// What a DoRA backward needs, saved by its forward.
struct DoraSaved {
  Tensor x, w, a, bm, m;
  Tensor n, g;  // (out): ‖W_i + s·B_i A‖ and m_i / n_i
  Tensor t;     // (M, r): x' Aᵀ
  Tensor c;     // (M, out): the output before g scales it
  float s = 0.0f;
  AdapterDropout drop;
  bool norm_gradient = false;
  int64_t M = 0, in = 0, out = 0, r = 0;
};

void check_dora_inputs(const Tensor& x, const DoraOperands& layer) {
  const Tensor &w = layer.weight, &m = layer.magnitude;
  check_adapter_shapes(x, w, layer.bias, layer.lora_a, layer.lora_b, "dora_linear");
  if (m.numel() != w.size(0))
    throw ShapeError("dora_linear: magnitude " + to_string(m.shape()) + " needs " +
                     std::to_string(w.size(0)) + " entries (one per output row)");
  if (w.requires_grad())
    throw Error("dora_linear: the base weight must be frozen (DoRA trains m, A and B)");
}

// The start of every formula (after check_dora_inputs): n, g = m / n, and t = x' Aᵀ.
DoraSaved dora_prepare(const Tensor& x, const DoraOperands& layer, const AdapterDropout& drop,
                       bool norm_gradient, const Tensor& xd) {
  DoraSaved S;
  S.x = x, S.w = layer.weight, S.a = layer.lora_a, S.bm = layer.lora_b, S.m = layer.magnitude;
  S.in = S.w.size(1), S.out = S.w.size(0), S.r = S.a.size(0), S.M = x.numel() / S.in;
  S.s = layer.scaling;
  S.drop = drop;
  S.norm_gradient = norm_gradient;
  S.n = dora_weight_norms(layer);
  S.g = Tensor::empty({S.out});
  for (int64_t i = 0; i < S.out; ++i) S.g.data()[i] = S.m.data()[i] / S.n.data()[i];
  S.t = Tensor::empty({S.M, S.r});
  gemm(Trans::kNo, Trans::kYes, S.M, S.r, S.in, 1.0f, xd.data(), S.a.data(), 0.0f, S.t.data());
  return S;
}

// out (M, out) = v Wᵀ + s · t Bᵀ: one full GEMM and one thin one accumulated into it.
Tensor adapted_product(const DoraSaved& S, const Tensor& v, const Shape& shape) {
  Tensor out = Tensor::empty(shape);
  gemm_x_wt(v.data(), S.M, S.w, 0.0f, out.data());
  gemm(Trans::kNo, Trans::kYes, S.M, S.out, S.r, S.s, S.t.data(), S.bm.data(), 1.0f, out.data());
  return out;
}

Shape output_shape(const Tensor& x, int64_t out) {
  Shape shape = x.shape();
  shape.back() = out;
  return shape;
}

// y = (bracket − c) + g ⊙ c + b, or g ⊙ c + b without a bracket (null). y may be the bracket.
void scaled_output(const DoraSaved& S, const Tensor& b, const float* bracket, float* y) {
  const float *pc = S.c.data(), *pg = S.g.data(), *pbias = b.defined() ? b.data() : nullptr;
  const int64_t M = S.M, out = S.out;
#pragma omp parallel for if (M * out > kParallelGrain)
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < out; ++j) {
      const float scaled = pg[j] * pc[i * out + j];
      const float before = bracket ? bracket[i * out + j] - pc[i * out + j] : 0.0f;
      y[i * out + j] = before + scaled + (pbias ? pbias[j] : 0.0f);
    }
}

// y = g ⊙ c + b with c = x Wᵀ + s · t Bᵀ (kept in S.c): the formulas without PEFT's extra GEMM.
Tensor scaled_adapted_output(DoraSaved& S, const Tensor& b) {
  S.c = adapted_product(S, S.x, output_shape(S.x, S.out));
  Tensor y = Tensor::empty(S.c.shape());
  scaled_output(S, b, nullptr, y.data());
  return y;
}

// The gradient through n (see the header comment): adds into dA and dB, given
// dyc_j = Σ_rows dy_ij c_ij, through k = dn / n.
void norm_backward(const DoraSaved& S, const Tensor& dyc, GradBuffer* dA, GradBuffer* dB) {
  const int64_t in = S.in, out = S.out, r = S.r;
  const float s = S.s, *pm = S.m.data(), *pn = S.n.data(), *pb = S.bm.data();
  std::vector<float> k(out);
  for (int64_t j = 0; j < out; ++j) k[j] = -dyc.data()[j] * pm[j] / (pn[j] * pn[j]) / pn[j];
  Tensor kB = Tensor::empty({out, r});  // rows of B scaled by k
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < r; ++j) kB.data()[i * r + j] = k[i] * pb[i * r + j];
  if (dB) {
    Tensor P = Tensor::empty({out, r}), G = Tensor::empty({r, r});
    gemm_w_at(S.w, S.a.data(), r, P.data());
    gemm(Trans::kNo, Trans::kYes, r, r, in, 1.0f, S.a.data(), S.a.data(), 0.0f, G.data());
    // dB += s · diag(k) P + s² · diag(k) B G = s · diag(k) P + s² · kB G
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < r; ++j) dB->data[i * r + j] += s * k[i] * P.data()[i * r + j];
    gemm(Trans::kNo, Trans::kNo, out, r, r, s * s, kB.data(), G.data(), 1.0f, dB->data);
  }
  if (dA) {
    Tensor H = Tensor::empty({r, r});  // (k ⊙ B)ᵀ B
    gemm(Trans::kYes, Trans::kNo, r, r, out, 1.0f, kB.data(), pb, 0.0f, H.data());
    gemm_kt_w_add(kB.data(), r, S.w, s, dA->data);
    gemm(Trans::kNo, Trans::kNo, r, in, r, s * s, H.data(), S.a.data(), 1.0f, dA->data);
  }
}

// dl = g ⊙ dy (M, out), the gradient of the scaled term, and dt = s dl B (M, r).
struct AdapterGrads {
  Tensor dl, dt;
};

// The backward shared by every formula (see the header comment): dm, db, dB, dA (with the
// gradient through n when asked); returns dl and dt for the formula's own dx.
AdapterGrads dora_adapter_backward(Node& nd, const DoraSaved& S) {
  const int64_t M = S.M, in = S.in, out = S.out, r = S.r;
  const float* dy = nd.grad.data();
  const float *pg = S.g.data(), *pn = S.n.data(), *pc = S.c.data();
  // dl and dyc_j = Σ_rows dy_ij c_ij (for dm and the norm gradient) in one pass over dy:
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
  if (nd.needs_grad(DoraSlot::kMagnitude)) {
    GradBuffer dm = nd.grad_for(DoraSlot::kMagnitude);
    for (int64_t j = 0; j < out; ++j)
      dm.data[j] = (dm.accumulate ? dm.data[j] : 0.0f) + dyc.data()[j] / pn[j];
  }
  if (nd.needs_grad(DoraSlot::kBias)) column_sums(dy, M, out, nd.grad_for(DoraSlot::kBias));
  Tensor dt = Tensor::empty({M, r});
  gemm(Trans::kNo, Trans::kNo, M, r, out, S.s, dl.data(), S.bm.data(), 0.0f, dt.data());
  GradBuffer dA, dB;
  if (nd.needs_grad(DoraSlot::kB)) {
    dB = nd.grad_for(DoraSlot::kB);
    gemm(Trans::kYes, Trans::kNo, out, r, M, S.s, dl.data(), S.t.data(), dB.beta(), dB.data);
  }
  if (nd.needs_grad(DoraSlot::kA)) {
    Tensor xd = adapter_input(S.x, S.drop);  // x' regenerated (x itself without dropout)
    dA = nd.grad_for(DoraSlot::kA);
    gemm(Trans::kYes, Trans::kNo, r, in, M, 1.0f, dt.data(), xd.data(), dA.beta(), dA.data);
  }
  if (S.norm_gradient && (dA.data || dB.data))
    norm_backward(S, dyc, dA.data ? &dA : nullptr, dB.data ? &dB : nullptr);
  return {dl, dt};
}

// dx += drop(v) for v (M, in): the gradient of the path that went through the dropout.
void add_dropped(const DoraSaved& S, const Tensor& v, GradBuffer dx) {
  apply_adapter_dropout(S.drop, v.data(), dx.data, true, S.M * S.in);
}

// Records a formula's node: its backward is dora_adapter_backward, then, when x needs a
// gradient, the formula's own input_grad(S, dl and dt, dy, dx).
template <typename InputGrad>
void record_dora(const DoraSaved& S, const Tensor& b, const Tensor& y, InputGrad input_grad) {
  if (auto node = record(kDoraLinearOp, {S.x, S.w, b, S.a, S.bm, S.m}, y)) {
    node->backward_fn = [S, input_grad](Node& nd) {
      const AdapterGrads g = dora_adapter_backward(nd, S);
      if (nd.needs_grad(DoraSlot::kX)) input_grad(S, g, nd.grad.data(), nd.grad_for(DoraSlot::kX));
    };
  }
}

}  // namespace

// y = g ⊙ c + b with c = x Wᵀ + s·(x Aᵀ) Bᵀ.  dx += dl W + dt A.
Tensor dora_linear_no_dropout(const Tensor& x, const DoraOperands& layer, bool norm_gradient) {
  ProfileScope profile(kDoraLinearOp);
  check_dora_inputs(x, layer);
  const Tensor& b = layer.bias;
  DoraSaved S = dora_prepare(x, layer, {}, norm_gradient, x);
  Tensor y = scaled_adapted_output(S, b);
  record_dora(S, b, y, [](const DoraSaved& S, const AdapterGrads& g, const float*, GradBuffer dx) {
    gemm_dy_w(g.dl.data(), S.M, S.w, dx.beta(), dx.data);
    gemm(Trans::kNo, Trans::kNo, S.M, S.in, S.r, 1.0f, g.dt.data(), S.a.data(), 1.0f, dx.data);
  });
  return y;
}

// y = g ⊙ c + b with c = x Wᵀ + s·(x' Aᵀ) Bᵀ: dropout on the low-rank branch alone, as LoRA.
// dx += dl W + drop(dt A). No GEMM beyond LoRA's.
Tensor dora_linear_branch_dropout(const Tensor& x, const DoraOperands& layer,
                                  const AdapterDropout& drop, bool norm_gradient) {
  ProfileScope profile(kDoraLinearOp);
  check_dora_inputs(x, layer);
  const Tensor& b = layer.bias;
  DoraSaved S = dora_prepare(x, layer, drop, norm_gradient, adapter_input(x, drop));
  Tensor y = scaled_adapted_output(S, b);
  record_dora(S, b, y, [](const DoraSaved& S, const AdapterGrads& g, const float*, GradBuffer dx) {
    gemm_dy_w(g.dl.data(), S.M, S.w, dx.beta(), dx.data);
    Tensor dxd = Tensor::empty({S.M, S.in});
    gemm(Trans::kNo, Trans::kNo, S.M, S.in, S.r, 1.0f, g.dt.data(), S.a.data(), 0.0f, dxd.data());
    add_dropped(S, dxd, dx);
  });
  return y;
}

// PEFT's formula, with z = x' Wᵀ (one more full GEMM) and u = z + s·(x' Aᵀ) Bᵀ = c:
//   y = x Wᵀ + b + (g − 1) ⊙ z + g ⊙ s·(x' Aᵀ) Bᵀ  =  (x Wᵀ + s·(x' Aᵀ) Bᵀ) − u + g ⊙ u + b
// dx += dy W + drop(dz W + dt A) with dz = (g − 1) ⊙ dy = dl − dy.
Tensor dora_linear_peft_dropout(const Tensor& x, const DoraOperands& layer,
                                const AdapterDropout& drop, bool norm_gradient) {
  ProfileScope profile(kDoraLinearOp);
  check_dora_inputs(x, layer);
  const Tensor& b = layer.bias;
  const Tensor xd = adapter_input(x, drop);
  DoraSaved S = dora_prepare(x, layer, drop, norm_gradient, xd);
  const Shape shape = output_shape(x, S.out);
  S.c = adapted_product(S, xd, shape);
  // The bracket (one full and one thin GEMM), then y = bracket − u + g ⊙ u + b in one pass.
  Tensor y = adapted_product(S, x, shape);
  scaled_output(S, b, y.data(), y.data());
  record_dora(
      S, b, y, [](const DoraSaved& S, const AdapterGrads& g, const float* dy, GradBuffer dx) {
        const int64_t M = S.M, in = S.in, out = S.out;
        Tensor dz = Tensor::empty({M, out});
        for (int64_t i = 0; i < M * out; ++i) dz.data()[i] = g.dl.data()[i] - dy[i];
        Tensor dxd = Tensor::empty({M, in});
        gemm_dy_w(dz.data(), M, S.w, 0.0f, dxd.data());
        gemm(Trans::kNo, Trans::kNo, M, in, S.r, 1.0f, g.dt.data(), S.a.data(), 1.0f, dxd.data());
        gemm_dy_w(dy, M, S.w, dx.beta(), dx.data);
        add_dropped(S, dxd, dx);
      });
  return y;
}

Tensor dora_linear(const Tensor& x, const DoraOperands& layer, const AdapterDropout& drop,
                   DoraOptions options) {
  if (!drop.active()) return dora_linear_no_dropout(x, layer, options.norm_gradient);
  if (options.dropout_formula == DoraDropout::kBranch)
    return dora_linear_branch_dropout(x, layer, drop, options.norm_gradient);
  return dora_linear_peft_dropout(x, layer, drop, options.norm_gradient);
}

}  // namespace ag
