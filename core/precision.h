// The precision a matrix product runs in: one enum for the whole code base (nn::Precision is
// this type), so that a model's choice can be handed down to the ops that take it.
#pragma once

namespace ag {

// kFp32: fp32 operands, fp32 products (cblas_sgemm). kBf16: operands rounded to bf16, products
// accumulated and returned in fp32 (oneDNN's matmul, core/bf16_gemm.h), as torch.autocast's
// bf16 on the CPU multiplies them.
enum class Precision { kFp32, kBf16 };

}  // namespace ag
