// The autograd engine's contract, and forward values of a few ops against hand-derived numbers.
#include <doctest/doctest.h>

#include <cmath>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"

using ag::Tensor;

TEST_CASE("a frozen linear layer records no node and computes no weight gradient") {
  Tensor w = Tensor::full({4, 3}, 0.5f), b = Tensor::zeros({4});  // frozen: no requires_grad
  Tensor x = Tensor::ones({2, 3});
  Tensor y = ag::linear(x, w, b);
  CHECK(ag::graph_nodes(y) == 0);  // nothing required a gradient
  CHECK_FALSE(y.requires_grad());
  CHECK(y.grad_fn() == nullptr);

  // With a trainable input, one node is recorded, but the frozen W and b get nothing.
  x.set_requires_grad(true);
  Tensor loss = ag::sum(ag::linear(x, w, b));
  CHECK(ag::graph_nodes(loss) == 2);  // linear + sum
  loss.backward();
  // dW is computed only into a gradient buffer the backward asks for: none, so no GEMM.
  CHECK_FALSE(w.grad().defined());
  CHECK_FALSE(b.grad().defined());
  // dL/dx = Σ_o W[o, :] = 4 · 0.5 = 2 for every element.
  for (float g : x.grad().to_vector()) CHECK(g == 2.0f);

  // A trainable W gets its gradient: dL/dW[o, :] = Σ_rows x = (2, 2, 2) for every o.
  w.set_requires_grad(true);
  ag::sum(ag::linear(x, w, b)).backward();
  REQUIRE(w.grad().defined());
  for (float g : w.grad().to_vector()) CHECK(g == 2.0f);
}

TEST_CASE("gradients accumulate across backward calls until zeroed") {
  Tensor x = Tensor::from_vector({3}, {1, 2, 3}).set_requires_grad(true);
  ag::sum(ag::mul(x, x)).backward();  // d/dx Σ x² = 2x
  ag::sum(ag::mul(x, x)).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{4, 8, 12});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  ag::sum(x).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{1, 1, 1});
}

TEST_CASE("a tensor used twice gets the sum of both gradients (diamond graph)") {
  Tensor x = Tensor::from_vector({2}, {3, -1}).set_requires_grad(true);
  Tensor a = ag::scale(x, 2.0f), b = ag::mul(x, x);
  ag::sum(ag::add(a, b)).backward();  // d/dx (2x + x²) = 2 + 2x
  CHECK(x.grad().to_vector() == std::vector<float>{8, 0});
}

TEST_CASE("no-grad scope records nothing; the graph is freed after backward") {
  Tensor x = Tensor::ones({2}).set_requires_grad(true);
  {
    ag::NoGradGuard guard;
    CHECK_FALSE(ag::scale(x, 2.0f).requires_grad());
  }
  Tensor loss = ag::sum(ag::scale(x, 2.0f));
  loss.backward();
  CHECK_THROWS_AS(loss.backward(), ag::Error);                        // the nodes were released
  CHECK_THROWS_AS(ag::sum(Tensor::ones({2})).backward(), ag::Error);  // nothing to differentiate
  CHECK_THROWS_AS(ag::scale(x, 1.0f).backward(), ag::ShapeError);     // not a scalar
}

TEST_CASE("clone copies, detach shares, reshape is a view") {
  Tensor x = Tensor::from_vector({2, 2}, {1, 2, 3, 4});
  Tensor c = x.clone(), d = x.detach(), r = ag::reshape(x, {4});
  x.data()[0] = 9;
  CHECK(c.data()[0] == 1);
  CHECK(d.data()[0] == 9);
  CHECK(r.data()[0] == 9);
  CHECK(r.shape() == ag::Shape{4});
  CHECK_THROWS_AS(ag::reshape(x, {3}), ag::ShapeError);
}

TEST_CASE("detach stops the gradient: d/dx sum(x * detach(x)) is x, not 2x") {
  // DoRA's norm is detached this way (apps/lora_from_scratch/main.cpp).
  Tensor x = Tensor::from_vector({3}, {1, -2, 3});
  x.set_requires_grad(true);
  ag::sum(ag::mul(x, x.detach())).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{1, -2, 3});
  CHECK_FALSE(x.detach().requires_grad());
}

TEST_CASE("softmax of a known row") {
  // e^k / (e + e² + e³) for k = 1, 2, 3.
  Tensor y = ag::softmax(Tensor::from_vector({3}, {1, 2, 3}));
  CHECK(y.data()[0] == doctest::Approx(0.0900305732).epsilon(1e-6));
  CHECK(y.data()[1] == doctest::Approx(0.2447284711).epsilon(1e-6));
  CHECK(y.data()[2] == doctest::Approx(0.6652409558).epsilon(1e-6));
}

TEST_CASE("layer norm of a known row") {
  // Row 1 2 3 4: mean 2.5, biased variance 1.25, so x̂ = (x − 2.5) / √1.25 = ±0.4472136, ±1.3416408;
  // then γ = 2, β = 1 gives 2 x̂ + 1.
  Tensor y = ag::layer_norm(Tensor::from_vector({1, 4}, {1, 2, 3, 4}), Tensor::full({4}, 2.0f),
                            Tensor::ones({4}), 0.0f);
  const float expected[] = {-1.6832816f, 0.1055728f, 1.8944272f, 3.6832816f};
  for (int i = 0; i < 4; ++i) CHECK(y.data()[i] == doctest::Approx(expected[i]).epsilon(1e-6));
}

TEST_CASE("GELU (erf form) at known points") {
  // 0.5 x (1 + erf(x/√2)): Φ(1) = 0.8413447461, Φ(−1) = 0.1586552539, Φ(2) = 0.9772498681.
  Tensor y = ag::gelu(Tensor::from_vector({4}, {0, 1, -1, 2}));
  CHECK(y.data()[0] == 0.0f);
  CHECK(y.data()[1] == doctest::Approx(0.8413447461).epsilon(1e-6));
  CHECK(y.data()[2] == doctest::Approx(-0.1586552539).epsilon(1e-6));
  CHECK(y.data()[3] == doctest::Approx(1.9544997361).epsilon(1e-6));
}

TEST_CASE("cross entropy of known logits, and bad labels") {
  // logits (0, ln 3): p = (1/4, 3/4). Label 1 gives −ln(3/4) = 0.2876820725.
  Tensor loss = ag::cross_entropy(Tensor::from_vector({1, 2}, {0, std::log(3.0f)}), {{1}, {1}});
  CHECK(loss.item() == doctest::Approx(0.2876820725).epsilon(1e-6));
  CHECK_THROWS_AS(ag::cross_entropy(Tensor::zeros({1, 2}), {{1}, {2}}), ag::Error);
  CHECK(std::isnan(ag::cross_entropy(Tensor::zeros({1, 2}), {{1}, {-100}}).item()));
}

TEST_CASE("embedding rejects ids outside the table") {
  CHECK_THROWS_AS(ag::embedding({{2}, {0, 5}}, Tensor::zeros({5, 2})), ag::Error);
  CHECK_THROWS_AS(ag::embedding({{1}, {-1}}, Tensor::zeros({5, 2})), ag::Error);
}

TEST_CASE("the attention mask gives masked keys exactly zero probability") {
  Tensor q = Tensor::ones({1, 3, 2}), k = Tensor::ones({1, 3, 2});
  Tensor p = ag::attention_probs(q, k, {{1, 3}, {1, 1, 0}}, 1, 1.0f);
  for (int i = 0; i < 3; ++i) {
    CHECK(p.data()[i * 3 + 0] == doctest::Approx(0.5));
    CHECK(p.data()[i * 3 + 2] == 0.0f);
  }
}
