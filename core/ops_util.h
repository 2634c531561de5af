// Small kernels shared by several op families (internal to core/).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/autograd.h"
#include "core/parallel.h"

namespace ag {

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
  for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * h[i] * (1.0f + std::erf(h[i] * kInvSqrt2));
}

// dh = dy · gelu'(h), gelu'(h) = Φ(h) + h φ(h) = 0.5 (1 + erf(h/√2)) + h e^{−h²/2} / √(2π).
inline void gelu_backward(const float* h, const float* dy, float* dh, int64_t n) {
  constexpr float kInvSqrt2 = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;
#pragma omp parallel for simd if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    const float cdf = 0.5f * (1.0f + std::erf(h[i] * kInvSqrt2));
    const float pdf = kInvSqrt2Pi * std::exp(-0.5f * h[i] * h[i]);
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

}  // namespace ag
