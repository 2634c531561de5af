// What the LoRA op of ops_lora.cpp shares with the DoRA op of ops_dora.cpp (internal to core/;
// the ops themselves, lora_linear and dora_linear, are declared in core/ops.h).
#pragma once

#include "core/ops.h"

namespace ag {

// Checks x (M, in), W (out, in), b (out), A (r, in) and B (out, r) against each other; the
// error names `op`.
void check_adapter_shapes(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& a,
                          const Tensor& bm, const char* op);
// x' = drop(x): the adapter's input with its dropout applied (x itself when there is none).
Tensor adapter_input(const Tensor& x, const AdapterDropout& d);

}  // namespace ag
