#include "core/machine/blas_selftest.h"

#include <cblas.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace ag {

namespace {

struct Shape {
  int m, n, k;
};

// Small exact-ish values in [-1, 1) from a fixed integer hash: no RNG state touched.
float test_value(uint32_t i) {
  i = (i ^ 61u) ^ (i >> 16);
  i *= 9u;
  i ^= i >> 4;
  i *= 0x27d4eb2du;
  i ^= i >> 15;
  return float(int(i % 2001u) - 1000) / 1000.0f;
}

// Row-major C = op(A) op(B) against the double-precision sum; empty when every element is
// within float rounding of it, otherwise the first wrong element in one line.
std::string check(const SgemmFunction& gemm, const Shape& s, bool trans_a, bool trans_b) {
  const int lda = trans_a ? s.m : s.k, ldb = trans_b ? s.k : s.n;
  std::vector<float> a(size_t(s.m) * s.k), b(size_t(s.k) * s.n), c(size_t(s.m) * s.n, 7.0f);
  for (size_t i = 0; i < a.size(); ++i) a[i] = test_value(uint32_t(i));
  for (size_t i = 0; i < b.size(); ++i) b[i] = test_value(uint32_t(i + a.size()));
  gemm(trans_a, trans_b, s.m, s.n, s.k, a.data(), lda, b.data(), ldb, c.data());
  for (int i = 0; i < s.m; ++i)
    for (int j = 0; j < s.n; ++j) {
      double exact = 0, magnitude = 0;
      for (int p = 0; p < s.k; ++p) {
        const double x = trans_a ? a[size_t(p) * lda + i] : a[size_t(i) * lda + p];
        const double y = trans_b ? b[size_t(j) * ldb + p] : b[size_t(p) * ldb + j];
        exact += x * y;
        magnitude += std::abs(x * y);
      }
      // fp32 accumulation of k products: error below k * 2^-24 * sum |x y|, with margin.
      const double bound = 4.0 * s.k * 6e-8 * magnitude + 1e-6;
      const double got = c[size_t(i) * s.n + j];
      if (!(std::abs(got - exact) <= bound))
        return "sgemm " + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" +
               std::to_string(s.k) + (trans_a ? " A^T" : "") + (trans_b ? " B^T" : "") + ": C[" +
               std::to_string(i) + "," + std::to_string(j) + "] = " + std::to_string(got) +
               ", expected " + std::to_string(exact);
    }
  return "";
}

}  // namespace

std::string sgemm_self_test() {
  return sgemm_self_test([](bool trans_a, bool trans_b, int m, int n, int k, const float* a,
                            int lda, const float* b, int ldb, float* c) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
  });
}

std::string sgemm_self_test(const SgemmFunction& gemm) {
  // Odd sizes exercise the kernels' edge paths; n = 8 and k = 8 are LoRA's rank.
  const Shape shapes[] = {{67, 45, 131}, {96, 8, 200}, {33, 120, 8}, {130, 70, 64}};
  for (const Shape& s : shapes)
    for (int t = 0; t < 4; ++t)
      if (std::string failure = check(gemm, s, t & 1, t & 2); !failure.empty()) return failure;
  return "";
}

}  // namespace ag
