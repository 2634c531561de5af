// Finite-difference gradient checks for the matrix ops: linear, linear_gelu, matmul, the two
// attention products, embedding and cross-entropy. See gradcheck.h for the method.
//
// Tolerances: forward 1e-5 and gradients 5e-5, relative to the largest reference magnitude.
// Every value here is a float32 sum of at most ~100 products, so rounding error is about
// 100 · 6e-8 ≈ 6e-6 of the largest term; the references are exact to ~1e-10.
#include <cmath>

#include "core/ops.h"
#include "gradcheck.h"

using ag::Indices;
using ag::Tensor;
using gradcheck::Vec;

constexpr double kForwardTol = 1e-5, kGradTol = 5e-5;

static double gelu_ref(double x) {
  return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
}

// y (M, out) = x (M, in) Wᵀ + b, in double.
static Vec linear_ref(const Vec& x, const Vec& w, const Vec* b, int64_t M, int64_t in,
                      int64_t out) {
  Vec y(M * out);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t o = 0; o < out; ++o) {
      double s = b ? (*b)[o] : 0.0;
      for (int64_t k = 0; k < in; ++k) s += x[i * in + k] * w[o * in + k];
      y[i * out + o] = s;
    }
  return y;
}

TEST_CASE("gradcheck linear (3-D input, bias, odd sizes)") {
  const int64_t B = 2, T = 3, in = 13, out = 7;
  Tensor x = gradcheck::random_tensor({B, T, in}, 1), w = gradcheck::random_tensor({out, in}, 2),
         b = gradcheck::random_tensor({out}, 3);
  x.set_requires_grad(true), w.set_requires_grad(true), b.set_requires_grad(true);
  gradcheck::check(
      "linear", {x, w, b}, [](auto& t) { return ag::linear(t[0], t[1], t[2]); },
      [&](auto& v) { return linear_ref(v[0], v[1], &v[2], B * T, in, out); }, kForwardTol,
      kGradTol);
}

TEST_CASE("gradcheck linear without bias") {
  Tensor x = gradcheck::random_tensor({5, 4}, 4), w = gradcheck::random_tensor({3, 4}, 5);
  x.set_requires_grad(true), w.set_requires_grad(true);
  gradcheck::check(
      "linear no bias", {x, w}, [](auto& t) { return ag::linear(t[0], t[1]); },
      [](auto& v) { return linear_ref(v[0], v[1], nullptr, 5, 4, 3); }, kForwardTol, kGradTol);
}

TEST_CASE("gradcheck linear_gelu (fused bias + GELU)") {
  Tensor x = gradcheck::random_tensor({6, 9}, 6), w = gradcheck::random_tensor({11, 9}, 7),
         b = gradcheck::random_tensor({11}, 8);
  x.set_requires_grad(true), w.set_requires_grad(true), b.set_requires_grad(true);
  gradcheck::check(
      "linear_gelu", {x, w, b}, [](auto& t) { return ag::linear_gelu(t[0], t[1], t[2]); },
      [](auto& v) {
        Vec y = linear_ref(v[0], v[1], &v[2], 6, 9, 11);
        for (double& e : y) e = gelu_ref(e);
        return y;
      },
      kForwardTol, kGradTol);
}

TEST_CASE("gradcheck matmul with every transpose combination") {
  const int64_t M = 4, K = 5, N = 3;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Tensor a = gradcheck::random_tensor(ta ? ag::Shape{K, M} : ag::Shape{M, K}, 10 + ta);
      Tensor b = gradcheck::random_tensor(tb ? ag::Shape{N, K} : ag::Shape{K, N}, 20 + tb);
      a.set_requires_grad(true), b.set_requires_grad(true);
      gradcheck::check(
          "matmul ta=" + std::to_string(ta) + " tb=" + std::to_string(tb), {a, b},
          [=](auto& t) { return ag::matmul(t[0], t[1], ta, tb); },
          [=](auto& v) {
            Vec c(M * N, 0.0);
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < N; ++j)
                for (int64_t k = 0; k < K; ++k)
                  c[i * N + j] +=
                      v[0][ta ? k * M + i : i * K + k] * v[1][tb ? j * K + k : k * N + j];
            return c;
          },
          kForwardTol, kGradTol);
    }
}

// Reference multi-head attention probabilities: P[b,h,i,j] = softmax_j(scale · q_i·k_j) with
// masked keys excluded (probability exactly 0). q (B, Tq, D), k (B, Tk, D).
static Vec attention_probs_ref(const Vec& q, const Vec& k, const std::vector<int32_t>& mask,
                               int64_t B, int64_t Tq, int64_t Tk, int64_t D, int64_t H,
                               double scale) {
  const int64_t dh = D / H;
  Vec p(B * H * Tq * Tk, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Tq; ++i) {
        Vec s(Tk);
        double mx = -1e300;
        for (int64_t j = 0; j < Tk; ++j) {
          double dot = 0.0;
          for (int64_t c = 0; c < dh; ++c)
            dot += q[(b * Tq + i) * D + h * dh + c] * k[(b * Tk + j) * D + h * dh + c];
          s[j] = scale * dot;
          if (mask[b * Tk + j]) mx = std::max(mx, s[j]);
        }
        double z = 0.0;
        for (int64_t j = 0; j < Tk; ++j) z += mask[b * Tk + j] ? std::exp(s[j] - mx) : 0.0;
        for (int64_t j = 0; j < Tk; ++j)
          p[((b * H + h) * Tq + i) * Tk + j] = mask[b * Tk + j] ? std::exp(s[j] - mx) / z : 0.0;
      }
  return p;
}

TEST_CASE("gradcheck attention_probs (scale + key mask + softmax, strided heads)") {
  const int64_t B = 2, T = 5, D = 12, H = 3;
  Indices mask{{B, T}, {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}};  // second sequence has 2 padding keys
  const float scale = 1.0f / std::sqrt(4.0f);
  for (int64_t Tq : {T, int64_t(1)}) {  // all queries, and the first token's only
    Tensor q = gradcheck::random_tensor({B, Tq, D}, 30),
           k = gradcheck::random_tensor({B, T, D}, 31);
    q.set_requires_grad(true), k.set_requires_grad(true);
    gradcheck::check(
        "attention_probs Tq=" + std::to_string(Tq), {q, k},
        [&](auto& t) { return ag::attention_probs(t[0], t[1], mask, H, scale); },
        [&](auto& v) {
          return attention_probs_ref(v[0], v[1], mask.values, B, Tq, T, D, H, scale);
        },
        kForwardTol, kGradTol);
  }
}

TEST_CASE("gradcheck attention_context (probs times strided value heads)") {
  const int64_t B = 2, T = 4, D = 6, H = 2, dh = D / H;
  for (int64_t Tq : {T, int64_t(1)}) {
    Tensor p = gradcheck::random_tensor({B, H, Tq, T}, 40, 0.0f, 1.0f),
           v = gradcheck::random_tensor({B, T, D}, 41);
    p.set_requires_grad(true), v.set_requires_grad(true);
    gradcheck::check(
        "attention_context Tq=" + std::to_string(Tq), {p, v},
        [&](auto& t) { return ag::attention_context(t[0], t[1], H); },
        [&](auto& x) {
          Vec c(B * Tq * D, 0.0);
          for (int64_t b = 0; b < B; ++b)
            for (int64_t h = 0; h < H; ++h)
              for (int64_t i = 0; i < Tq; ++i)
                for (int64_t e = 0; e < dh; ++e)
                  for (int64_t j = 0; j < T; ++j)
                    c[(b * Tq + i) * D + h * dh + e] +=
                        x[0][((b * H + h) * Tq + i) * T + j] * x[1][(b * T + j) * D + h * dh + e];
          return c;
        },
        kForwardTol, kGradTol);
  }
}

TEST_CASE("gradcheck embedding (repeated ids accumulate into the table)") {
  const int64_t V = 6, D = 5;
  Indices ids{{2, 3}, {1, 4, 1, 0, 5, 1}};
  Tensor table = gradcheck::random_tensor({V, D}, 50);
  table.set_requires_grad(true);
  gradcheck::check(
      "embedding", {table}, [&](auto& t) { return ag::embedding(ids, t[0]); },
      [&](auto& v) {
        Vec out;
        for (int32_t id : ids.values)
          for (int64_t j = 0; j < D; ++j) out.push_back(v[0][id * D + j]);
        return out;
      },
      kForwardTol, kGradTol);
}

TEST_CASE("gradcheck cross_entropy with ignore_index") {
  const int64_t N = 5, C = 4;
  Indices labels{{N}, {2, -100, 0, 3, 1}};
  Tensor logits = gradcheck::random_tensor({N, C}, 60, -3.0f, 3.0f);
  logits.set_requires_grad(true);
  gradcheck::check(
      "cross_entropy", {logits}, [&](auto& t) { return ag::cross_entropy(t[0], labels); },
      [&](auto& v) {
        double total = 0.0;
        int counted = 0;
        for (int64_t i = 0; i < N; ++i) {
          if (labels.values[i] == -100) continue;
          double z = 0.0;
          for (int64_t j = 0; j < C; ++j) z += std::exp(v[0][i * C + j]);
          total -= v[0][i * C + labels.values[i]] - std::log(z);
          ++counted;
        }
        return Vec{total / counted};
      },
      kForwardTol, kGradTol);
}
