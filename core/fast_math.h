// exp and erf for float that the compiler can vectorise (std::exp and std::erf are opaque
// library calls, so a loop over them runs one element at a time).
//
// fast_exp: Cephes' expf — x = n·ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r, and
//   2^n assembled in the exponent bits. Relative error below 2e-7 (≈ 1-2 ulp); 0 below −87,
//   e^88 above 88 (callers only pass arguments <= 0).
// fast_erf: Abramowitz & Stegun 7.1.26, erf(x) = 1 − (a1 t + … + a5 t⁵) e^{−x²}, t = 1/(1 + p|x|);
//   absolute error below 1.5e-7 — the same formula PyTorch's vectorised CPU erf uses.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace ag {

// Written without floor() or float-to-int conversions (GCC will not vectorise those in a loop
// unless -ffast-math): adding 1.5·2^23 rounds to the nearest integer in the float's low
// mantissa bits, from which n is read as an integer directly.
inline float fast_exp(float x) {
  float clamped = x < -87.0f ? -87.0f : x;
  clamped = clamped > 88.0f ? 88.0f : clamped;   // e^88 ≈ 1.65e38; larger inputs saturate
  constexpr float kRoundingShift = 12582912.0f;  // 1.5 · 2^23
  const float shifted = clamped * 1.44269504088896341f + kRoundingShift;
  const float n = shifted - kRoundingShift;  // round(x / ln2)
  const int32_t n_int = std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(kRoundingShift);
  const float r = clamped - n * 0.693359375f + n * 2.12194440e-4f;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * r2 + r + 1.0f;
  const float scale = std::bit_cast<float>((n_int + 127) << 23);  // 2^n, n in [−126, 128)
  return er * scale * float(x >= -87.0f);  // a multiply, not a branch: keeps the loop vectorisable
}

inline float fast_erf(float x) {
  const float ax = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * ax);
  float poly = 1.061405429f;
  poly = poly * t - 1.453152027f;
  poly = poly * t + 1.421413741f;
  poly = poly * t - 0.284496736f;
  poly = poly * t + 0.254829592f;
  const float y = 1.0f - poly * t * fast_exp(-ax * ax);
  return std::copysign(y, x);
}

}  // namespace ag
