// Small kernels shared by several op families (internal to core/).
#pragma once

#include <cblas.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/autograd.h"
#include "core/bf16_gemm.h"
#include "core/fast_math.h"
#include "core/ops.h"
#include "core/parallel.h"
#include "core/rng.h"

namespace ag {

// The input of a node of a one-input op (dropout, unary elementwise ops, reductions, softmax,
// shape ops): every backward of such an op writes grad_for(UnarySlot::kX).
enum class UnarySlot : size_t { kX };

// Whether a product uses an operand as stored (kNo) or transposed (kYes).
enum class Trans { kNo, kYes };
inline Trans trans_if(bool transpose) {
  return transpose ? Trans::kYes : Trans::kNo;
}

// Row-major C (M, N) = alpha · op(A) op(B) + beta · C with explicit leading dimensions; op
// transposes through the cblas flag, never by copying.
inline void gemm_ld(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha,
                    const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                    int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta == Trans::kYes ? CblasTrans : CblasNoTrans,
              tb == Trans::kYes ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta,
              C, ldc);
}

// The same for contiguous operands: A is (M, K), or (K, M) with ta = kYes; B is (K, N), or (N, K)
// with tb = kYes.
inline void gemm(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 const float* B, float beta, float* C) {
  gemm_ld(ta, tb, M, N, K, alpha, A, ta == Trans::kYes ? M : K, B, tb == Trans::kYes ? K : N, beta,
          C, N);
}

// The two products of a linear layer with its weight W (out, in), in the weight's precision:
// bf16 through oneDNN when W carries a bf16 copy (core/bf16_gemm.h), else fp32 sgemm.
// y (M, out) = x (M, in) Wᵀ + beta · y                       (forward)
inline void gemm_x_wt(const float* x, int64_t M, const Tensor& w, float beta, float* y) {
  if (w.bf16_copy())
    bf16_gemm_x_wt(x, M, w, beta, y);
  else
    gemm(Trans::kNo, Trans::kYes, M, w.size(0), w.size(1), 1.0f, x, w.data(), beta, y);
}
// dx (M, in) = dy (M, out) W + beta · dx                     (input gradient)
inline void gemm_dy_w(const float* dy, int64_t M, const Tensor& w, float beta, float* dx) {
  if (w.bf16_copy())
    bf16_gemm_dy_w(dy, M, w, beta, dx);
  else
    gemm(Trans::kNo, Trans::kNo, M, w.size(1), w.size(0), 1.0f, dy, w.data(), beta, dx);
}

// P (out, r) = W Aᵀ for A (r, in), in W's precision. In bf16 it is the forward product with A's
// r rows as the input, Pᵀ = A Wᵀ (r, out), transposed back (r is small: a few rows).
inline void gemm_w_at(const Tensor& w, const float* a, int64_t r, float* p) {
  const int64_t out = w.size(0), in = w.size(1);
  if (!w.bf16_copy()) return gemm(Trans::kNo, Trans::kYes, out, r, in, 1.0f, w.data(), a, 0.0f, p);
  std::vector<float> pt(size_t(r * out));
  bf16_gemm_x_wt(a, r, w, 0.0f, pt.data());
  for (int64_t i = 0; i < out; ++i)
    for (int64_t k = 0; k < r; ++k) p[i * r + k] = pt[size_t(k * out + i)];
}

// C (r, in) += alpha · Kᵀ W for K (out, r), in W's precision. In bf16 it is the input-gradient
// product with alpha · Kᵀ (r, out) as the output gradient.
inline void gemm_kt_w_add(const float* k, int64_t r, const Tensor& w, float alpha, float* c) {
  const int64_t out = w.size(0), in = w.size(1);
  if (!w.bf16_copy()) return gemm(Trans::kYes, Trans::kNo, r, in, out, alpha, k, w.data(), 1.0f, c);
  std::vector<float> kt(size_t(r * out));
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < r; ++j) kt[size_t(j * out + i)] = alpha * k[i * r + j];
  bf16_gemm_dy_w(kt.data(), r, w, 1.0f, c);
}

// db (C) (+)= Σ_rows x, for x (R, C). Threads split the columns, so no reduction is needed.
inline void column_sums(const float* x, int64_t R, int64_t C, GradBuffer db) {
#pragma omp parallel for if (R * C > kParallelGrain)
  for (int64_t j = 0; j < C; ++j) {
    float s = 0.0f;
    for (int64_t i = 0; i < R; ++i) s += x[i * C + j];
    db.data[j] = (db.accumulate ? db.data[j] : 0.0f) + s;
  }
}

// gelu(h) = 0.5 h (1 + erf(h / √2)), elementwise over n values.
inline void gelu_forward(const float* h, float* y, int64_t n) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
#pragma omp parallel for simd if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * h[i] * (1.0f + fast_erf(h[i] * kInvSqrt2));
}

// dh = dy · gelu'(h), gelu'(h) = Φ(h) + h φ(h) = 0.5 (1 + erf(h/√2)) + h e^{−h²/2} / √(2π).
inline void gelu_backward(const float* h, const float* dy, float* dh, int64_t n) {
  constexpr float kInvSqrt2 = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;
#pragma omp parallel for simd if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    const float cdf = 0.5f * (1.0f + fast_erf(h[i] * kInvSqrt2));
    const float pdf = kInvSqrt2Pi * fast_exp(-0.5f * h[i] * h[i]);
    dh[i] = dy[i] * (cdf + h[i] * pdf);
  }
}

// dst (+)= src over n values (an elementwise gradient handed on unchanged).
inline void accumulate(GradBuffer dst, const float* src, int64_t n) {
  if (dst.accumulate) {
#pragma omp parallel for simd if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) dst.data[i] += src[i];
  } else {
#pragma omp parallel for simd if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) dst.data[i] = src[i];
  }
}

// out[i] (+)= keep(i) ? in[i] / (1 − p) : 0 with keep(i) = random_uniform(seed, first + i) >= p:
// the counter-based dropout mask, recomputed wherever it is needed instead of stored. `first`
// is the counter of element 0 (non-zero on a shard of a batch in data-parallel training).
// random_uniform is k·2⁻²⁴ for the integer k = random_bits >> 8, so keep(i) is exactly
// k >= ⌈p·2²⁴⌉: an integer compare. Two loops, because a branch on `accumulate` inside an
// `omp parallel for simd` loop stops GCC from vectorising it (3-4x slower).
inline void apply_dropout_mask(const float* in, float* out, bool accumulate, int64_t n, float p,
                               uint64_t seed, uint64_t first) {
  const float factor = 1.0f / (1.0f - p);
  const auto threshold = uint32_t(std::ceil(double(p) * 16777216.0));
  if (accumulate) {
#pragma omp parallel for simd if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i)
      out[i] += (random_bits(seed, first + uint64_t(i)) >> 8) >= threshold ? in[i] * factor : 0.0f;
  } else {
#pragma omp parallel for simd if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i)
      out[i] = (random_bits(seed, first + uint64_t(i)) >> 8) >= threshold ? in[i] * factor : 0.0f;
  }
}

// The same for an adapter's dropout.
inline void apply_adapter_dropout(const AdapterDropout& d, const float* in, float* out,
                                  bool accumulate, int64_t n) {
  apply_dropout_mask(in, out, accumulate, n, d.p, d.seed, d.first_index);
}

}  // namespace ag
