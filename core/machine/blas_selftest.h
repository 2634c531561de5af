// A quick guard for a kernel family chosen by the BLAS check: a few sgemm shapes and all four
// transpose combinations against a naive double-precision product (a few milliseconds).
#pragma once

#include <functional>
#include <string>

namespace ag {

// Row-major c[m x n] = op(a) op(b) with leading dimensions lda, ldb and n.
using SgemmFunction =
    std::function<void(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda,
                       const float* b, int ldb, float* c)>;

// Empty when every product of `gemm` (OpenBLAS's cblas_sgemm by default) matches; otherwise
// the first mismatch in one line.
std::string sgemm_self_test();
std::string sgemm_self_test(const SgemmFunction& gemm);

}  // namespace ag
