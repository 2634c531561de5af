// Batched bf16 matrix products over strided views, for multi-head attention (internal to core/).
//
// Attention multiplies one small matrix pair per (sequence b, head h): B·H products of a few
// hundred thousand multiply-adds each. Run one by one, each pays oneDNN's call overhead and
// leaves the AMX tiles idle between calls; handed to oneDNN as ONE 4-D matmul of dims
// {B, H, rows, cols}, they are spread over the threads by oneDNN and run back to back. The
// heads are read in place: a head of a (B, T, D) activation is a (T, dh) block with row stride
// D, which a 4-D memory descriptor addresses through its strides (no copy into a (B, H, T, dh)
// buffer, as the fp32 path reads it through cblas leading dimensions).
#pragma once

#include <cstdint>

#include "core/bf16_gemm.h"
#include "core/tensor.h"

namespace ag {

// A (B, H) batch of matrices of one shape, addressed in place: element (i, j) of matrix (b, h)
// is at b·batch_stride + h·head_stride + i·row_stride + j·col_stride (in elements).
struct MatrixBatch {
  int64_t rows, cols;
  int64_t batch_stride, head_stride, row_stride, col_stride;
  // The same values read as the transposed matrices: no data moves, two strides swap.
  MatrixBatch transposed() const {
    return {cols, rows, batch_stride, head_stride, col_stride, row_stride};
  }
};

// C[b, h] = alpha · A[b, h] B[b, h] + beta · C[b, h] for every (b, h) of a (B, H) batch, as one
// oneDNN matmul (cached per shape, strides, alpha, beta and thread count): A and B bf16, the
// products accumulated in fp32, C fp32. alpha is oneDNN's output scale, beta (0 or 1) its sum
// post-op. Throws when this build has no oneDNN.
void bf16_batched_product(int64_t B, int64_t H, float alpha, const bf16_bits* a,
                          const MatrixBatch& a_layout, const bf16_bits* b,
                          const MatrixBatch& b_layout, float beta, float* c,
                          const MatrixBatch& c_layout);

// n bf16 values in a block of the tensor block cache: the buffers of one training step are
// those of the step before, not fresh pages.
class Bf16Values {
 public:
  explicit Bf16Values(int64_t n);              // uninitialised
  Bf16Values(const float* values, int64_t n);  // the values rounded to bf16 (float_to_bf16)
  bf16_bits* data() { return reinterpret_cast<bf16_bits*>(storage_.data); }
  const bf16_bits* data() const { return reinterpret_cast<const bf16_bits*>(storage_.data); }

 private:
  Storage storage_;  // two bf16 values per float of the block
};

}  // namespace ag
