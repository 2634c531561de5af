// bf16 matrix products for frozen weights: bf16 operands, fp32 accumulation, fp32 results,
// through oneDNN's matmul (OpenBLAS has no bf16 GEMM in Debian 12's 0.3.21).
//
// A CPU with AMX-BF16 (Intel Sapphire Rapids and later) or AVX512_BF16 on AMD (Zen 4, Zen 5)
// multiplies bf16 at two to five times its fp32 rate. A weight that carries a bf16 copy
// (attach_bf16_copy) is multiplied in bf16 by every op that takes it as a linear layer's
// weight (linear, linear_gelu, lora_linear, dora_linear): the forward product x Wᵀ and the
// input gradient dy W. The attention products take their precision as an argument
// (core/ops.h, core/bf16_batched.h). Everything else stays fp32: the fp32 weight itself (the
// master copy, which the optimizer updates and merge reads), adapters, gradients, optimizer
// state and every non-GEMM op. The precision travels with the weight, as a dtype does in
// PyTorch: no global switch is read inside an op.
//
// bf16 keeps fp32's 8 exponent bits and 7 of its 23 mantissa bits: rounding to nearest even
// changes a value by at most 2⁻⁸ of itself (relative error ≤ 2⁻⁸ ≈ 0.0039).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/machine/cpu_features.h"
#include "core/tensor.h"

namespace ag {

// One bf16 value as its 16 bits (the upper half of the fp32 with the same sign and exponent).
using bf16_bits = uint16_t;

// fp32 -> bf16, rounded to nearest even (NaN stays NaN), over n values.
void float_to_bf16(const float* in, bf16_bits* out, int64_t n);
float bf16_to_float(bf16_bits b);

// A weight W (out, in) rounded to bf16, in the blocked layouts oneDNN's matmul reads fastest
// (its kernels' tiles, chosen once by oneDNN for the shape): one for the forward's Wᵀ, made
// when the copy is attached, and one for the input gradient's W, made on the first backward
// (inference never needs it). Reordering into them costs about one product; it is paid once,
// not per step: the weight is frozen, or refreshed once per optimizer step.
struct Bf16Matrix {
  Bf16Matrix(int64_t rows, int64_t cols);
  ~Bf16Matrix();
  int64_t rows, cols;
  struct Blocked;                     // a layout and the values in it (bf16_gemm.cpp)
  std::unique_ptr<Blocked> forward;   // Wᵀ (in, out), for y = x Wᵀ
  std::unique_ptr<Blocked> backward;  // W (out, in), for dx = dy W: made from `forward` (the
                                      // same bf16 values) on the first backward
};

// Gives `w` (a 2-D weight) a bf16 copy of its current values, or refreshes the one it has
// (after the optimizer or a merge changed w). Throws when this build has no oneDNN.
void attach_bf16_copy(const Tensor& w);
// Refreshes w's bf16 copy if it has one (a no-op for fp32 weights).
void refresh_bf16_copy(const Tensor& w);
void drop_bf16_copy(const Tensor& w);
// Frees w's fp32 values and keeps only its bf16 copy, which must exist: a frozen weight of a
// bf16 run is read by nothing else, and the fp32 values are two thirds of its memory. Afterwards
// the products keep working from the copy, and w.data() throws an error naming w.
void release_fp32_values(const Tensor& w);

// --- the two products of a linear layer (each a oneDNN matmul, cached per shape) ----------------
// w must carry a bf16 copy. The activations are rounded to bf16 on the way in (float_to_bf16).
// y (M, out) = x (M, in) Wᵀ + beta · y, beta 0 or 1.
void bf16_gemm_x_wt(const float* x, int64_t M, const Tensor& w, float beta, float* y);
// dx (M, in) = dy (M, out) W + beta · dx, beta 0 or 1.
void bf16_gemm_dy_w(const float* dy, int64_t M, const Tensor& w, float beta, float* dx);

// --- where bf16 pays
// ------------------------------------------------------------------------------ Whether this build
// links oneDNN (CMake found it; -DADAPTGRAD_ONEDNN=OFF leaves it out).
bool bf16_gemm_built();
// Whether the CPU multiplies bf16 natively *and faster than fp32*: AMX-BF16 (Intel Sapphire
// Rapids and later), or AVX512_BF16 on AMD (Zen 4/5, where fp32 FMAs are half as wide). Intel's
// AVX512_BF16 without AMX (Cooper Lake) runs oneDNN's bf16 matmul at about 0.6x its own fp32
// sgemm (measured by capping oneDNN at that ISA on a Sapphire Rapids), so it stays fp32.
bool bf16_pays_on(const CpuFeatures& cpu);
// "AMX-BF16", "AVX512_BF16", or "none", for the header line.
std::string bf16_hardware(const CpuFeatures& cpu);

}  // namespace ag
