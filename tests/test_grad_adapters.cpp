// Finite-difference gradient checks for the fused LoRA and DoRA ops against naive double
// references that form W + s·B A explicitly (so the factored norm is checked independently).
//
// Tolerances: forward 1e-5 and gradients 5e-5 relative to the largest reference magnitude,
// as the other gradient checks (float32 sums of at most ~40 terms, exact references).
#include <cmath>

#include "core/ops.h"
#include "core/rng.h"
#include "gradcheck.h"

using ag::Tensor;
using gradcheck::Vec;

constexpr double kForwardTol = 1e-5, kGradTol = 5e-5;
constexpr int64_t M = 5, IN = 13, OUT = 7, R = 3;
constexpr double S = 2.0;

// W' = W + s·B A (out, in)
static Vec adapted_weight(const Vec& w, const Vec& a, const Vec& b) {
  Vec wp(w);
  for (int64_t i = 0; i < OUT; ++i)
    for (int64_t j = 0; j < IN; ++j)
      for (int64_t k = 0; k < R; ++k) wp[i * IN + j] += S * b[i * R + k] * a[k * IN + j];
  return wp;
}

static Vec row_norms(const Vec& wp) {
  Vec n(OUT, 0.0);
  for (int64_t i = 0; i < OUT; ++i) {
    for (int64_t j = 0; j < IN; ++j) n[i] += wp[i * IN + j] * wp[i * IN + j];
    n[i] = std::sqrt(n[i]);
  }
  return n;
}

// x Wᵀ for x (M, IN) and W (OUT, IN)
static Vec times_t(const Vec& x, const Vec& w) {
  Vec y(M * OUT, 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t o = 0; o < OUT; ++o)
      for (int64_t j = 0; j < IN; ++j) y[i * OUT + o] += x[i * IN + j] * w[o * IN + j];
  return y;
}

// The ops' dropout with p = 0.3 from seed 77, and its mask, scaled by 1/(1 − p): entries 0 or
// 1/0.7, element i kept iff random_uniform(77, i) >= 0.3 (core/rng.h).
static ag::AdapterDropout test_dropout() {
  return {.p = 0.3f, .seed = 77, .first_index = 0};
}
static Vec mask_of(const ag::AdapterDropout& d) {
  Vec mask(M * IN);
  for (int64_t i = 0; i < M * IN; ++i)
    mask[i] = ag::random_uniform(d.seed, uint64_t(i)) >= d.p ? 1.0 / (1.0 - double(d.p)) : 0.0;
  return mask;
}

TEST_CASE("gradcheck lora_linear, with and without dropout") {
  for (int use_mask = 0; use_mask < 2; ++use_mask) {
    Tensor x = gradcheck::random_tensor({M, IN}, 1), w = gradcheck::random_tensor({OUT, IN}, 2),
           b = gradcheck::random_tensor({OUT}, 3), a = gradcheck::random_tensor({R, IN}, 4),
           bm = gradcheck::random_tensor({OUT, R}, 5);
    for (auto* t : {&x, &w, &b, &a, &bm}) t->set_requires_grad(true);
    ag::AdapterDropout drop;
    if (use_mask) drop = test_dropout();
    Vec mask = use_mask ? mask_of(drop) : Vec(M * IN, 1.0);
    gradcheck::check(
        use_mask ? "lora_linear with dropout mask" : "lora_linear", {x, w, b, a, bm},
        [&](auto& t) { return ag::lora_linear(t[0], t[1], t[2], t[3], t[4], float(S), drop); },
        [&](auto& v) {
          // y = x Wᵀ + b + s · (x' Aᵀ) Bᵀ with x' = mask ⊙ x
          Vec xd(v[0]);
          for (size_t i = 0; i < xd.size(); ++i) xd[i] *= mask[i];
          Vec y = times_t(v[0], v[1]), zero(OUT * IN, 0.0);
          Vec lora = times_t(xd, adapted_weight(zero, v[3], v[4]));
          for (int64_t i = 0; i < M * OUT; ++i) y[i] += v[2][i % OUT] + lora[i];
          return y;
        },
        kForwardTol, kGradTol);
  }
}

// DoRA in double. `n_fixed`, when given, is used in place of the norms of the current
// W + s·B A: that is the "n is a constant" gradient, checked by finite differences. With a
// mask: PEFT's dropout formula, or dropout on the low-rank branch alone (`adapter_only`:
// DoraDropout::kBranch).
static Vec dora_ref(const std::vector<Vec>& v, const Vec* mask, const Vec* n_fixed,
                    bool adapter_only = false) {
  const Vec &x = v[0], &w = v[1], &bias = v[2], &a = v[3], &bm = v[4], &m = v[5];
  Vec wp = adapted_weight(w, a, bm);
  Vec n = n_fixed ? *n_fixed : row_norms(wp);
  Vec y(M * OUT);
  if (!mask) {
    Vec c = times_t(x, wp);
    for (int64_t i = 0; i < M * OUT; ++i) y[i] = m[i % OUT] / n[i % OUT] * c[i] + bias[i % OUT];
    return y;
  }
  // PEFT: y = x Wᵀ + b + (m/n − 1) ⊙ (x' Wᵀ) + (m/n) ⊙ s·(x' Aᵀ) Bᵀ
  // adapter_only: y = (m/n) ⊙ (x Wᵀ + s·(x' Aᵀ) Bᵀ) + b
  Vec xd(x);
  for (size_t i = 0; i < xd.size(); ++i) xd[i] *= (*mask)[i];
  Vec zero(OUT * IN, 0.0);
  Vec base = times_t(x, w), z = times_t(xd, w), lora = times_t(xd, adapted_weight(zero, a, bm));
  for (int64_t i = 0; i < M * OUT; ++i) {
    const double g = m[i % OUT] / n[i % OUT];
    y[i] = adapter_only ? g * (base[i] + lora[i]) + bias[i % OUT]
                        : base[i] + bias[i % OUT] + (g - 1.0) * z[i] + g * lora[i];
  }
  return y;
}

TEST_CASE("gradcheck dora_linear: norm as a constant and with its full gradient, +/- dropout") {
  // use_mask: 0 no dropout, 1 PEFT's dropout formula, 2 dropout on the low-rank branch alone
  for (int use_mask = 0; use_mask < 3; ++use_mask)
    for (int norm_grad = 0; norm_grad < 2; ++norm_grad) {
      Tensor x = gradcheck::random_tensor({M, IN}, 11), w = gradcheck::random_tensor({OUT, IN}, 12),
             b = gradcheck::random_tensor({OUT}, 13), a = gradcheck::random_tensor({R, IN}, 14),
             bm = gradcheck::random_tensor({OUT, R}, 15),
             m = gradcheck::random_tensor({OUT}, 16, 0.5f, 2.0f);
      for (auto* t : {&x, &b, &a, &bm, &m}) t->set_requires_grad(true);
      Tensor w_sq = ag::row_l2_norm(w);
      w_sq = ag::mul(w_sq, w_sq);
      ag::AdapterDropout drop;
      if (use_mask) drop = test_dropout();
      const ag::DoraOptions options{
          .dropout_formula = use_mask == 2 ? ag::DoraDropout::kBranch : ag::DoraDropout::kPeft,
          .norm_gradient = norm_grad == 1};
      const Vec mask = use_mask ? mask_of(drop) : Vec();
      const Vec n0 = row_norms(adapted_weight(gradcheck::to_double(w), gradcheck::to_double(a),
                                              gradcheck::to_double(bm)));
      gradcheck::check(
          std::string("dora_linear") +
              (use_mask == 1   ? " dropout"
               : use_mask == 2 ? " branch-dropout"
                               : "") +
              (norm_grad ? " norm-grad" : ""),
          {x, w, b, a, bm, m},
          [&](auto& t) {
            return ag::dora_linear(t[0],
                                   {.weight = t[1],
                                    .bias = t[2],
                                    .lora_a = t[3],
                                    .lora_b = t[4],
                                    .magnitude = t[5],
                                    .weight_row_sq_norms = w_sq,
                                    .scaling = float(S)},
                                   drop, options);
          },
          [&](auto& v) {
            return dora_ref(v, use_mask ? &mask : nullptr, norm_grad ? nullptr : &n0,
                            use_mask == 2);
          },
          kForwardTol, kGradTol);
    }
}

TEST_CASE("the factored DoRA norm equals the norm of the materialised W + s·B A") {
  Tensor w = gradcheck::random_tensor({OUT, IN}, 21), a = gradcheck::random_tensor({R, IN}, 22),
         bm = gradcheck::random_tensor({OUT, R}, 23);
  Tensor w_sq = ag::mul(ag::row_l2_norm(w), ag::row_l2_norm(w));
  Tensor n = ag::dora_weight_norms({.weight = w,
                                    .bias = Tensor(),
                                    .lora_a = a,
                                    .lora_b = bm,
                                    .magnitude = Tensor(),
                                    .weight_row_sq_norms = w_sq,
                                    .scaling = float(S)});
  Vec ref = row_norms(
      adapted_weight(gradcheck::to_double(w), gradcheck::to_double(a), gradcheck::to_double(bm)));
  CHECK(gradcheck::relative_error(gradcheck::to_double(n), ref) <= 1e-6);
}
