// Reductions: sum, mean, and the per-row L2 norm that DoRA uses.
#include <cmath>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/ops_util.h"

namespace ag {

// s = Σ x (in double, so that long sums stay accurate); ds/dx = 1.
static Tensor sum_scaled(const Tensor& x, float factor, const char* name) {
  const float* p = x.data();
  const int64_t n = x.numel();
  double s = 0.0;
#pragma omp parallel for reduction(+ : s) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) s += p[i];
  Tensor out = Tensor::scalar(float(s * factor));
  if (auto node = record(name, {x}, out)) {
    node->backward_fn = [n, factor](Node& nd) {
      GradBuffer dx = nd.grad_for(UnarySlot::kX);
      const float g = nd.grad.item() * factor;
#pragma omp parallel for simd if (n > kParallelGrain)
      for (int64_t i = 0; i < n; ++i) dx.data[i] = (dx.accumulate ? dx.data[i] : 0.0f) + g;
    };
  }
  return out;
}

Tensor sum(const Tensor& x) {
  return sum_scaled(x, 1.0f, "sum");
}

Tensor mean(const Tensor& x) {
  if (x.numel() == 0) throw ShapeError("mean of an empty tensor");
  return sum_scaled(x, 1.0f / float(x.numel()), "mean");
}

// x (R, C) -> n (R), n_i = √(Σ_j x_ij²).  Backward: dx_ij += dn_i · x_ij / n_i (0 where n_i = 0).
Tensor row_l2_norm(const Tensor& x) {
  if (x.dim() != 2) throw ShapeError("row_l2_norm: needs (R, C), got " + to_string(x.shape()));
  const int64_t R = x.size(0), C = x.size(1);
  Tensor n = Tensor::empty({R});
  const float* px = x.data();
  float* pn = n.data();
#pragma omp parallel for if (R * C > kParallelGrain)
  for (int64_t i = 0; i < R; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < C; ++j) s += double(px[i * C + j]) * px[i * C + j];
    pn[i] = float(std::sqrt(s));
  }
  if (auto node = record("row_l2_norm", {x}, n)) {
    node->backward_fn = [x, norms = n.detach(), R, C](Node& nd) {
      GradBuffer dx = nd.grad_for(UnarySlot::kX);
      const float *g = nd.grad.data(), *px = x.data(), *pn = norms.data();
#pragma omp parallel for if (R * C > kParallelGrain)
      for (int64_t i = 0; i < R; ++i) {
        const float f = pn[i] > 0.0f ? g[i] / pn[i] : 0.0f;
        for (int64_t j = 0; j < C; ++j)
          dx.data[i * C + j] = (dx.accumulate ? dx.data[i * C + j] : 0.0f) + f * px[i * C + j];
      }
    };
  }
  return n;
}

}  // namespace ag
