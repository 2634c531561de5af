// Finite-difference gradient checks for elementwise ops (with broadcasting), reductions,
// layer norm, softmax, dropout and the shape ops. See gradcheck.h for the method.
//
// Tolerances: forward 1e-5 and gradients 5e-5, relative to the largest reference magnitude:
// float32 rounding (6e-8) over reductions of at most ~100 terms, against exact references.
#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "core/ops.h"
#include "core/rng.h"
#include "gradcheck.h"

using ag::Tensor;
using gradcheck::Vec;

constexpr double kForwardTol = 1e-5, kGradTol = 5e-5;

// Applies f(a[i % na], b[i % nb]) over n outputs: the broadcast rule of ops.h for operands
// whose smaller shape equals the trailing dimensions of the larger.
template <class F>
static Vec broadcast_ref(const Vec& a, const Vec& b, F f) {
  const size_t n = std::max(a.size(), b.size());
  Vec out(n);
  for (size_t i = 0; i < n; ++i) out[i] = f(a[i % a.size()], b[i % b.size()]);
  return out;
}

TEST_CASE("gradcheck add, sub, mul, div with same shapes and broadcast operands") {
  struct Case {
    ag::Shape a, b;
  };
  const Case cases[] = {{{3, 4}, {3, 4}}, {{2, 3, 5}, {5}},    {{5}, {2, 3, 5}},
                        {{2, 3}, {1}},    {{2, 3, 4}, {3, 4}}, {{2, 3, 4}, {1, 4}}};
  uint64_t seed = 100;
  for (const Case& c : cases) {
    for (int op = 0; op < 4; ++op) {
      // Divisors are kept away from zero so the quotient stays well conditioned.
      Tensor a = gradcheck::random_tensor(c.a, seed++);
      Tensor b = op == 3 ? gradcheck::random_tensor(c.b, seed++, 0.5f, 2.0f)
                         : gradcheck::random_tensor(c.b, seed++);
      a.set_requires_grad(true), b.set_requires_grad(true);
      const char* names[] = {"add", "sub", "mul", "div"};
      gradcheck::check(
          std::string(names[op]) + " " + ag::to_string(c.a) + " " + ag::to_string(c.b), {a, b},
          [op](auto& t) {
            switch (op) {
              case 0:
                return ag::add(t[0], t[1]);
              case 1:
                return ag::sub(t[0], t[1]);
              case 2:
                return ag::mul(t[0], t[1]);
              default:
                return ag::div(t[0], t[1]);
            }
          },
          [op](auto& v) {
            return broadcast_ref(v[0], v[1], [op](double x, double y) {
              return op == 0 ? x + y : op == 1 ? x - y : op == 2 ? x * y : x / y;
            });
          },
          kForwardTol, kGradTol);
    }
  }
}

TEST_CASE("broadcasting rejects incompatible shapes") {
  CHECK_THROWS_AS(ag::add(Tensor::zeros({2, 3}), Tensor::zeros({2})), ag::ShapeError);
}

// A unary op checked on inputs drawn from [lo, hi] (kept away from kinks and poles).
static void check_unary(const std::string& name, std::function<Tensor(const Tensor&)> op,
                        std::function<double(double)> ref, float lo, float hi, uint64_t seed) {
  Tensor x = gradcheck::random_tensor({3, 7}, seed, lo, hi);
  x.set_requires_grad(true);
  gradcheck::check(
      name, {x}, [op](auto& t) { return op(t[0]); },
      [ref](auto& v) {
        Vec out(v[0].size());
        for (size_t i = 0; i < out.size(); ++i) out[i] = ref(v[0][i]);
        return out;
      },
      kForwardTol, kGradTol);
}

TEST_CASE("gradcheck scale") {
  check_unary(
      "scale", [](auto& x) { return ag::scale(x, -2.5f); }, [](double v) { return -2.5 * v; }, -1,
      1, 200);
}
TEST_CASE("gradcheck relu (inputs away from the kink at 0)") {
  Tensor x = gradcheck::random_tensor({4, 5}, 201, 0.1f, 1.0f);
  for (int64_t i = 0; i < x.numel(); i += 2) x.data()[i] = -x.data()[i];
  x.set_requires_grad(true);
  gradcheck::check(
      "relu", {x}, [](auto& t) { return ag::relu(t[0]); },
      [](auto& v) {
        Vec out(v[0].size());
        for (size_t i = 0; i < out.size(); ++i) out[i] = std::max(0.0, v[0][i]);
        return out;
      },
      kForwardTol, kGradTol);
}
TEST_CASE("gradcheck tanh") {
  check_unary(
      "tanh", [](auto& x) { return ag::tanh(x); }, [](double v) { return std::tanh(v); }, -2, 2,
      202);
}
TEST_CASE("gradcheck gelu") {
  check_unary(
      "gelu", [](auto& x) { return ag::gelu(x); },
      [](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }, -3, 3, 203);
}
TEST_CASE("gradcheck sqrt (positive inputs)") {
  check_unary(
      "sqrt", [](auto& x) { return ag::sqrt(x); }, [](double v) { return std::sqrt(v); }, 0.2f, 3,
      204);
}
TEST_CASE("gradcheck reciprocal (inputs away from 0)") {
  check_unary(
      "reciprocal", [](auto& x) { return ag::reciprocal(x); }, [](double v) { return 1.0 / v; },
      0.5f, 2, 205);
}

TEST_CASE("gradcheck sum and mean") {
  Tensor x = gradcheck::random_tensor({4, 6}, 300);
  x.set_requires_grad(true);
  gradcheck::check(
      "sum", {x}, [](auto& t) { return ag::sum(t[0]); },
      [](auto& v) {
        double s = 0;
        for (double e : v[0]) s += e;
        return Vec{s};
      },
      kForwardTol, kGradTol);
  Tensor y = gradcheck::random_tensor({3, 5}, 301);
  y.set_requires_grad(true);
  gradcheck::check(
      "mean", {y}, [](auto& t) { return ag::mean(t[0]); },
      [](auto& v) {
        double s = 0;
        for (double e : v[0]) s += e;
        return Vec{s / v[0].size()};
      },
      kForwardTol, kGradTol);
}

TEST_CASE("gradcheck row_l2_norm") {
  Tensor x = gradcheck::random_tensor({5, 9}, 302);
  x.set_requires_grad(true);
  gradcheck::check(
      "row_l2_norm", {x}, [](auto& t) { return ag::row_l2_norm(t[0]); },
      [](auto& v) {
        Vec n(5, 0.0);
        for (int i = 0; i < 5; ++i) {
          for (int j = 0; j < 9; ++j) n[i] += v[0][i * 9 + j] * v[0][i * 9 + j];
          n[i] = std::sqrt(n[i]);
        }
        return n;
      },
      kForwardTol, kGradTol);
}

// Layer norm over rows of length D, biased variance, in double.
static Vec layer_norm_ref(const Vec& x, const Vec& g, const Vec& b, int64_t D, double eps) {
  Vec y(x.size());
  for (size_t r = 0; r < x.size() / D; ++r) {
    double mu = 0, var = 0;
    for (int64_t j = 0; j < D; ++j) mu += x[r * D + j];
    mu /= D;
    for (int64_t j = 0; j < D; ++j) var += (x[r * D + j] - mu) * (x[r * D + j] - mu);
    var /= D;
    for (int64_t j = 0; j < D; ++j)
      y[r * D + j] = (x[r * D + j] - mu) / std::sqrt(var + eps) * g[j] + b[j];
  }
  return y;
}

TEST_CASE("gradcheck layer_norm") {
  const int64_t D = 10;
  Tensor x = gradcheck::random_tensor({2, 3, D}, 400, -2, 2),
         g = gradcheck::random_tensor({D}, 401), b = gradcheck::random_tensor({D}, 402);
  x.set_requires_grad(true), g.set_requires_grad(true), b.set_requires_grad(true);
  gradcheck::check(
      "layer_norm", {x, g, b}, [](auto& t) { return ag::layer_norm(t[0], t[1], t[2], 1e-5f); },
      [](auto& v) { return layer_norm_ref(v[0], v[1], v[2], D, 1e-5); }, kForwardTol, kGradTol);
}

TEST_CASE("gradcheck add_layer_norm (fused residual add)") {
  const int64_t D = 7;
  Tensor x = gradcheck::random_tensor({4, D}, 410, -2, 2),
         r = gradcheck::random_tensor({4, D}, 411), g = gradcheck::random_tensor({D}, 412),
         b = gradcheck::random_tensor({D}, 413);
  for (auto* t : {&x, &r, &g, &b}) t->set_requires_grad(true);
  gradcheck::check(
      "add_layer_norm", {x, r, g, b},
      [](auto& t) { return ag::add_layer_norm(t[0], t[1], t[2], t[3], 1e-12f); },
      [](auto& v) {
        Vec s(v[0].size());
        for (size_t i = 0; i < s.size(); ++i) s[i] = v[0][i] + v[1][i];
        return layer_norm_ref(s, v[2], v[3], D, 1e-12);
      },
      kForwardTol, kGradTol);
}

TEST_CASE("gradcheck softmax with an additive mask") {
  const int64_t C = 6;
  Tensor x = gradcheck::random_tensor({3, C}, 500, -2, 2);
  Tensor mask = Tensor::from_vector({C}, {0, 0, -1.5f, 0, 0.5f, 0});
  x.set_requires_grad(true);
  gradcheck::check(
      "softmax", {x}, [&](auto& t) { return ag::softmax(t[0], mask); },
      [&](auto& v) {
        Vec y(v[0].size());
        for (int r = 0; r < 3; ++r) {
          double z = 0;
          for (int j = 0; j < C; ++j) z += std::exp(v[0][r * C + j] + mask.data()[j]);
          for (int j = 0; j < C; ++j) y[r * C + j] = std::exp(v[0][r * C + j] + mask.data()[j]) / z;
        }
        return y;
      },
      kForwardTol, kGradTol);
}

TEST_CASE("gradcheck dropout (the mask is regenerated in backward)") {
  const float p = 0.3f;
  const uint64_t seed = 77;
  Tensor x = gradcheck::random_tensor({8, 9}, 600);
  x.set_requires_grad(true);
  // The reference applies the same counter-based mask: keep element i iff u(seed, i) >= p.
  gradcheck::check(
      "dropout", {x}, [&](auto& t) { return ag::dropout_with_seed(t[0], p, seed); },
      [&](auto& v) {
        Vec y(v[0].size());
        for (size_t i = 0; i < y.size(); ++i)
          y[i] = ag::random_uniform(seed, i) >= p ? v[0][i] / (1.0 - p) : 0.0;
        return y;
      },
      kForwardTol, kGradTol);
}

TEST_CASE("dropout keeps about 1 - p of the elements and is identity when not training") {
  Tensor x = Tensor::ones({100000});
  Tensor y = ag::dropout_with_seed(x, 0.25f, 5);
  int64_t kept = 0, other = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    kept += y.data()[i] == 1.0f / 0.75f;
    other += y.data()[i] != 0.0f && y.data()[i] != 1.0f / 0.75f;
  }
  CHECK(std::abs(double(kept) / y.numel() - 0.75) < 0.01);  // binomial sd ≈ 0.0014
  CHECK(other == 0);  // every element is dropped (0) or scaled by exactly 1 / (1 − p)
  CHECK(ag::dropout(x, 0.25f, /*training=*/false).same_storage(x));
  CHECK_THROWS_AS(ag::dropout_with_seed(x, 1.0f, 5), ag::Error);
}

// Rows [first, first + rows) of a (batch, ...) tensor, copied.
static Tensor rows_of(const Tensor& x, int64_t first, int64_t rows) {
  ag::Shape shape = x.shape();
  const int64_t per_row = x.numel() / shape[0];
  shape[0] = rows;
  Tensor out = Tensor::empty(shape);
  std::copy(x.data() + first * per_row, x.data() + (first + rows) * per_row, out.data());
  return out;
}

TEST_CASE("dropout on a batch shard draws the whole batch's mask for those rows") {
  // Data-parallel training: a process holding rows 2..4 of a batch of 6 must drop exactly the
  // elements one process would drop there, in forward (dropout, LoRA's fused dropout) and in
  // backward (the mask regenerated).
  const Tensor x = gradcheck::random_tensor({6, 5, 4}, 31);
  const Tensor whole = ag::dropout_with_seed(x, 0.3f, 9);
  Tensor part_in = rows_of(x, 2, 3);
  part_in.set_requires_grad(true);
  // The counter of element 0: the 2 rows of 5 x 4 values before the shard's.
  CHECK(ag::batch_first_index(part_in, 2) == 2 * 5 * 4);
  CHECK(ag::batch_first_index(part_in, 0) == 0);
  const Tensor part = ag::dropout_with_seed(part_in, 0.3f, 9, ag::batch_first_index(part_in, 2));
  ag::sum(part).backward();
  const Tensor expected = rows_of(whole, 2, 3);
  for (int64_t i = 0; i < part.numel(); ++i) {
    REQUIRE(part.data()[i] == expected.data()[i]);
    // d sum / dx is the mask itself: 0 or 1 / (1 − p), where the forward kept the value.
    CHECK(part_in.grad().data()[i] == (expected.data()[i] != 0.0f ? 1.0f / 0.7f : 0.0f));
  }

  ag::AdapterDropout drop;
  drop.p = 0.3f;
  drop.seed = 11;
  const Tensor w = gradcheck::random_tensor({3, 4}, 32), a = gradcheck::random_tensor({2, 4}, 33),
               b = gradcheck::random_tensor({3, 2}, 34), bias;
  const Tensor lora_whole = ag::lora_linear(x, w, bias, a, b, 0.5f, drop);
  drop.first_index = ag::batch_first_index(rows_of(x, 2, 3), 2);
  const Tensor lora_part = ag::lora_linear(rows_of(x, 2, 3), w, bias, a, b, 0.5f, drop);
  const Tensor lora_expected = rows_of(lora_whole, 2, 3);
  for (int64_t i = 0; i < lora_part.numel(); ++i)
    CHECK(lora_part.data()[i] == doctest::Approx(lora_expected.data()[i]).epsilon(1e-6));
}

TEST_CASE("gradcheck reshape, select and transpose2d") {
  Tensor x = gradcheck::random_tensor({2, 3, 4}, 700);
  x.set_requires_grad(true);
  gradcheck::check(
      "reshape", {x},
      [](auto& t) {
        return ag::mul(ag::reshape(t[0], {6, -1}), ag::reshape(t[0], {6, 4}));
      },
      [](auto& v) {
        Vec y(v[0].size());
        for (size_t i = 0; i < y.size(); ++i) y[i] = v[0][i] * v[0][i];
        return y;
      },
      kForwardTol, kGradTol);
  Tensor s = gradcheck::random_tensor({2, 3, 4}, 701);
  s.set_requires_grad(true);
  gradcheck::check(
      "select dim 1 index 0", {s}, [](auto& t) { return ag::select(t[0], 1, 0); },
      [](auto& v) {
        Vec y;
        for (int b = 0; b < 2; ++b)
          for (int j = 0; j < 4; ++j) y.push_back(v[0][b * 12 + j]);
        return y;
      },
      kForwardTol, kGradTol);
  Tensor m = gradcheck::random_tensor({3, 5}, 702);
  m.set_requires_grad(true);
  gradcheck::check(
      "transpose2d", {m}, [](auto& t) { return ag::transpose2d(t[0]); },
      [](auto& v) {
        Vec y(15);
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 5; ++j) y[j * 3 + i] = v[0][i * 5 + j];
        return y;
      },
      kForwardTol, kGradTol);
}
