// Layer norm (plain and fused with the residual add) and softmax over the last dimension.
#include <cmath>
#include <limits>
#include <vector>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/fast_math.h"
#include "core/ops.h"
#include "core/ops_util.h"
#include "core/profiler.h"

namespace ag {

constexpr OpKind kLayerNormOp{"layer_norm", OpFamily::kNorm};
constexpr OpKind kAddLayerNormOp{"add_layer_norm", OpFamily::kNorm};
constexpr OpKind kSoftmaxOp{"softmax", OpFamily::kNorm};
namespace {

// The inputs of a layer_norm node and of an add_layer_norm node, in record() order.
enum class LayerNormSlot : size_t { kX, kGamma, kBeta };
enum class AddLayerNormSlot : size_t { kX, kResidual, kGamma, kBeta };

// Normalises each row of s (R, D): y = (s − μ) · rstd · γ + β, rstd = 1/√(var + eps) with the
// biased variance (two passes, as PyTorch). Stores μ and rstd per row for backward.
void layer_norm_rows(const float* s, const float* gamma, const float* beta, float eps, int64_t R,
                     int64_t D, float* y, float* mean, float* rstd) {
#pragma omp parallel for if (R * D > kParallelGrain)
  for (int64_t r = 0; r < R; ++r) {
    const float* row = s + r * D;
    float mu = 0.0f;
    for (int64_t j = 0; j < D; ++j) mu += row[j];
    mu /= float(D);
    float var = 0.0f;
    for (int64_t j = 0; j < D; ++j) var += (row[j] - mu) * (row[j] - mu);
    var /= float(D);
    const float rs = 1.0f / std::sqrt(var + eps);
    for (int64_t j = 0; j < D; ++j) y[r * D + j] = (row[j] - mu) * rs * gamma[j] + beta[j];
    mean[r] = mu;
    rstd[r] = rs;
  }
}

// Backward of layer norm for rows of s (R, D), given dy. With x̂ = (s − μ) · rstd:
//   ds = rstd · (dy·γ − mean(dy·γ) − x̂ · mean(dy·γ · x̂))
//   dγ += Σ_rows dy · x̂,   dβ += Σ_rows dy
// ds goes to every input listed in `ds_inputs` (x, and the residual for the fused op).
template <typename Slot>
void layer_norm_backward(Node& n, const Tensor& s, const Tensor& gamma, const Tensor& mean,
                         const Tensor& rstd, std::initializer_list<Slot> ds_inputs,
                         Slot gamma_input, Slot beta_input) {
  const int64_t D = s.size(-1), R = s.numel() / D;
  const float *dy = n.grad.data(), *ps = s.data(), *pg = gamma.data();
  const float *pm = mean.data(), *pr = rstd.data();
  bool need_ds = false;
  for (Slot i : ds_inputs) need_ds = need_ds || n.needs_grad(i);
  if (need_ds) {
    Tensor ds = Tensor::empty(s.shape());
    float* pds = ds.data();
#pragma omp parallel for if (R * D > kParallelGrain)
    for (int64_t r = 0; r < R; ++r) {
      const float* row = ps + r * D;
      const float* g = dy + r * D;
      float sum_dxhat = 0.0f, sum_dxhat_xhat = 0.0f;
      for (int64_t j = 0; j < D; ++j) {
        const float xhat = (row[j] - pm[r]) * pr[r];
        sum_dxhat += g[j] * pg[j];
        sum_dxhat_xhat += g[j] * pg[j] * xhat;
      }
      const float m1 = sum_dxhat / float(D), m2 = sum_dxhat_xhat / float(D);
      for (int64_t j = 0; j < D; ++j) {
        const float xhat = (row[j] - pm[r]) * pr[r];
        pds[r * D + j] = pr[r] * (g[j] * pg[j] - m1 - xhat * m2);
      }
    }
    for (Slot i : ds_inputs)
      if (n.needs_grad(i)) accumulate(n.grad_for(i), pds, s.numel());
  }
  if (n.needs_grad(gamma_input)) {
    GradBuffer dg = n.grad_for(gamma_input);
#pragma omp parallel for if (R * D > kParallelGrain)
    for (int64_t j = 0; j < D; ++j) {
      float acc = 0.0f;
      for (int64_t r = 0; r < R; ++r) acc += dy[r * D + j] * (ps[r * D + j] - pm[r]) * pr[r];
      dg.data[j] = (dg.accumulate ? dg.data[j] : 0.0f) + acc;
    }
  }
  if (n.needs_grad(beta_input)) column_sums(dy, R, D, n.grad_for(beta_input));
}

void check_norm_params(const Tensor& x, const Tensor& gamma, const Tensor& beta) {
  const int64_t D = x.size(-1);
  if (gamma.numel() != D || beta.numel() != D)
    throw ShapeError("layer_norm: gamma " + to_string(gamma.shape()) + " and beta " +
                     to_string(beta.shape()) + " must have the last dimension of input " +
                     to_string(x.shape()));
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps) {
  ProfileScope profile(kLayerNormOp);
  check_norm_params(x, gamma, beta);
  const int64_t D = x.size(-1), R = x.numel() / D;
  Tensor y = Tensor::empty(x.shape()), mean = Tensor::empty({R}), rstd = Tensor::empty({R});
  layer_norm_rows(x.data(), gamma.data(), beta.data(), eps, R, D, y.data(), mean.data(),
                  rstd.data());
  if (auto node = record(kLayerNormOp, {x, gamma, beta}, y)) {
    node->backward_fn = [x, gamma, mean, rstd](Node& n) {
      layer_norm_backward(n, x, gamma, mean, rstd, {LayerNormSlot::kX}, LayerNormSlot::kGamma,
                          LayerNormSlot::kBeta);
    };
  }
  return y;
}

Tensor add_layer_norm(const Tensor& x, const Tensor& residual, const Tensor& gamma,
                      const Tensor& beta, float eps) {
  ProfileScope profile(kAddLayerNormOp);
  if (x.shape() != residual.shape())
    throw ShapeError("add_layer_norm: input " + to_string(x.shape()) + " and residual " +
                     to_string(residual.shape()) + " differ");
  check_norm_params(x, gamma, beta);
  const int64_t D = x.size(-1), R = x.numel() / D;
  // s = x + residual is needed by backward only; it is formed here in one pass.
  Tensor s = Tensor::empty(x.shape());
  {
    const float *a = x.data(), *b = residual.data();
    float* ps = s.data();
    const int64_t n = x.numel();
#pragma omp parallel for simd if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) ps[i] = a[i] + b[i];
  }
  Tensor y = Tensor::empty(x.shape()), mean = Tensor::empty({R}), rstd = Tensor::empty({R});
  layer_norm_rows(s.data(), gamma.data(), beta.data(), eps, R, D, y.data(), mean.data(),
                  rstd.data());
  if (auto node = record(kAddLayerNormOp, {x, residual, gamma, beta}, y)) {
    node->backward_fn = [s, gamma, mean, rstd](Node& n) {
      layer_norm_backward(n, s, gamma, mean, rstd,
                          {AddLayerNormSlot::kX, AddLayerNormSlot::kResidual},
                          AddLayerNormSlot::kGamma, AddLayerNormSlot::kBeta);
    };
  }
  return y;
}

// y = softmax(x + mask) over the last dim (C).  Backward: dx = y ⊙ (dy − Σ_j dy_j y_j).
// The mask is a constant (no gradient flows into it).
Tensor softmax(const Tensor& x, const Tensor& additive_mask) {
  ProfileScope profile(kSoftmaxOp);
  const int64_t C = x.size(-1), R = x.numel() / C;
  Tensor z = additive_mask.defined() ? add(x.detach(), additive_mask.detach()) : x;
  if (z.shape() != x.shape())
    throw ShapeError("softmax: mask " + to_string(additive_mask.shape()) +
                     " must broadcast to input " + to_string(x.shape()));
  Tensor y = Tensor::empty(x.shape());
  const float* pz = z.data();
  float* py = y.data();
#pragma omp parallel for if (R * C > kParallelGrain)
  for (int64_t r = 0; r < R; ++r) {
    const float* row = pz + r * C;
    float* out = py + r * C;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < C; ++j) mx = std::max(mx, row[j]);
    float total = 0.0f;
    for (int64_t j = 0; j < C; ++j) total += (out[j] = fast_exp(row[j] - mx));
    for (int64_t j = 0; j < C; ++j) out[j] /= total;
  }
  if (auto node = record(kSoftmaxOp, {x}, y)) {
    node->backward_fn = [probs = y.detach(), R, C](Node& n) {
      GradBuffer dx = n.grad_for(UnarySlot::kX);
      const float *g = n.grad.data(), *p = probs.data();
#pragma omp parallel for if (R * C > kParallelGrain)
      for (int64_t r = 0; r < R; ++r) {
        float dot = 0.0f;
        for (int64_t j = 0; j < C; ++j) dot += g[r * C + j] * p[r * C + j];
        for (int64_t j = 0; j < C; ++j) {
          const int64_t i = r * C + j;
          dx.data[i] = (dx.accumulate ? dx.data[i] : 0.0f) + p[i] * (g[i] - dot);
        }
      }
    };
  }
  return y;
}

}  // namespace ag
