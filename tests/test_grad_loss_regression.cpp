// mse_loss (core/ops_loss_regression.cpp): forward against the double-precision formula and the
// hand-derived gradient against finite differences (tests/gradcheck.h), plus a case small
// enough to check by hand.
#include <doctest/doctest.h>

#include <cmath>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "gradcheck.h"

using ag::Tensor;
using gradcheck::Vec;

namespace {
constexpr double kForwardTol = 1e-5, kGradTol = 5e-5;

Vec mse_reference(const Vec& p, const std::vector<float>& t) {
  double total = 0.0;
  for (size_t i = 0; i < p.size(); ++i) total += (p[i] - t[i]) * (p[i] - t[i]);
  return Vec{total / double(p.size())};
}
}  // namespace

TEST_CASE("gradcheck mse_loss on (N, 1) and (N) predictions") {
  const std::vector<float> targets = {0.0f, 1.25f, 5.0f, 2.5f, 3.75f, 0.5f, 4.0f};
  for (const ag::Shape& shape : {ag::Shape{7, 1}, ag::Shape{7}}) {
    Tensor p = gradcheck::random_tensor(shape, 71, -1.0f, 5.0f);
    p.set_requires_grad(true);
    gradcheck::check(
        "mse_loss", {p}, [&](auto& t) { return ag::mse_loss(t[0], targets); },
        [&](auto& v) { return mse_reference(v[0], targets); }, kForwardTol, kGradTol);
  }
}

TEST_CASE("mse_loss by hand: (0.25 + 0.25 + 2.25) / 3, gradient 2 (p - t) / N") {
  Tensor p = Tensor::from_vector({3, 1}, {0.5f, 2.0f, 3.5f});
  p.set_requires_grad(true);
  Tensor loss = ag::mse_loss(p, {1.0f, 2.5f, 2.0f});
  CHECK(loss.item() == doctest::Approx(2.75 / 3.0).epsilon(1e-6));
  loss.backward();
  CHECK(p.grad().data()[0] == doctest::Approx(-1.0 / 3.0).epsilon(1e-6));
  CHECK(p.grad().data()[1] == doctest::Approx(-1.0 / 3.0).epsilon(1e-6));
  CHECK(p.grad().data()[2] == doctest::Approx(1.0).epsilon(1e-6));
}

TEST_CASE("mse_loss refuses a shape that is not one prediction per target") {
  CHECK_THROWS_AS(ag::mse_loss(Tensor::zeros({3, 2}), {1, 2, 3}), ag::ShapeError);
  CHECK_THROWS_AS(ag::mse_loss(Tensor::zeros({2, 1}), {1, 2, 3}), ag::ShapeError);
  CHECK(std::isnan(ag::mse_loss(Tensor::zeros({0, 1}), {}).item()));
}
