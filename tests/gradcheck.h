// Gradient checking against an independent reference in double precision.
//
// For an op y = f(x1, ..., xk) the check
//   1. runs the float op and a naive double-precision reference of the same math on the same
//      inputs, and compares the outputs;
//   2. draws a fixed random cotangent g, runs backward(g) through the float op, and compares
//      every input gradient with central finite differences of L = Σ g · f_ref(...) taken on
//      the double reference (step 1e-6: truncation error ~1e-12, rounding ~1e-10, so the
//      reference gradient is exact to far below float precision).
// Errors are measured relative to the largest magnitude of the reference (a max-norm), so one
// tolerance fits tensors whose entries vary in size.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/ops.h"
#include "core/rng.h"
#include "core/tensor.h"

namespace gradcheck {

using Vec = std::vector<double>;
using Reference = std::function<Vec(const std::vector<Vec>&)>;
using Op = std::function<ag::Tensor(const std::vector<ag::Tensor>&)>;

inline ag::Tensor random_tensor(const ag::Shape& shape, uint64_t seed, float lo = -1.0f,
                                float hi = 1.0f) {
  ag::Tensor t = ag::Tensor::empty(shape);
  ag::fill_uniform(t, lo, hi, seed);
  return t;
}

inline Vec to_double(const ag::Tensor& t) {
  Vec v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.data()[i];
  return v;
}

// max |a − b| / max(max |b|, floor)
inline double relative_error(const Vec& a, const Vec& b, double floor = 1e-3) {
  REQUIRE(a.size() == b.size());
  double err = 0.0, scale = floor;
  for (size_t i = 0; i < a.size(); ++i) {
    err = std::max(err, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return err / scale;
}

// Checks forward values and the gradients of the inputs whose requires_grad is set.
inline void check(const std::string& what, std::vector<ag::Tensor> inputs, const Op& op,
                  const Reference& reference, double forward_tol, double grad_tol) {
  INFO(what);
  std::vector<Vec> ref_inputs;
  for (auto& t : inputs) ref_inputs.push_back(to_double(t));
  ag::Tensor y = op(inputs);
  const Vec ref_y = reference(ref_inputs);
  CHECK(relative_error(to_double(y), ref_y) <= forward_tol);

  ag::Tensor g = random_tensor(y.shape(), 999);
  const Vec gd = to_double(g);
  y.backward(g);
  auto loss = [&](const std::vector<Vec>& xs) {
    Vec out = reference(xs);
    double s = 0.0;
    for (size_t i = 0; i < out.size(); ++i) s += gd[i] * out[i];
    return s;
  };
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].requires_grad()) continue;
    INFO("gradient of input " << k);
    REQUIRE(inputs[k].grad().defined());
    Vec numeric(ref_inputs[k].size());
    std::vector<Vec> xs = ref_inputs;
    constexpr double h = 1e-6;
    for (size_t i = 0; i < numeric.size(); ++i) {
      const double saved = xs[k][i];
      xs[k][i] = saved + h;
      const double up = loss(xs);
      xs[k][i] = saved - h;
      const double down = loss(xs);
      xs[k][i] = saved;
      numeric[i] = (up - down) / (2 * h);
    }
    const double err = relative_error(to_double(inputs[k].grad()), numeric);
    CHECK(err <= grad_tol);
  }
}

}  // namespace gradcheck
