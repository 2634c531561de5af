// The plain linear kernel of ops_linear.cpp, which the adapter ops reuse (internal to core/;
// the ops themselves, linear among them, are declared in core/ops.h).
#pragma once

#include "core/tensor.h"

namespace ag {

// y = x Wᵀ (+ b) without recording anything: x (M, in), W (out, in), b (out), y (M, out).
Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b);

}  // namespace ag
