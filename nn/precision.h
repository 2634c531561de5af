// The precision of a model's matrix products: fp32, or bf16 for the linear layers' weights
// (frozen ones above all) and the attention products on CPUs that multiply bf16 natively.
//
// Mixed precision as PyTorch's torch.autocast("cpu", dtype=torch.bfloat16) runs it, minus its
// per-step casts of the weights: each linear layer's weight gets a bf16 copy once
// (core/bf16_gemm.h), and the products x Wᵀ and dy W read it. The fp32 weight stays the master
// copy: the optimizer updates it and refreshes the bf16 copy after each step (full fine-tuning),
// merge and save read it. The attention products (QKᵀ, P V and their gradients) round their
// activations to bf16 at each call; a classifier gets that precision with its weights'
// (models::set_precision). LoRA/DoRA's A, B and magnitudes, every gradient, the optimizer state
// and the non-GEMM ops (softmax, LayerNorm, the loss) stay fp32.
#pragma once

#include <string>

#include "core/precision.h"
#include "nn/module.h"

namespace ag::nn {

using Precision = ag::Precision;  // kFp32 or kBf16 (core/precision.h)

struct PrecisionChoice {
  Precision precision = Precision::kFp32;
  std::string reason;  // one line: what runs and why ("bf16 (AMX-BF16, oneDNN 2.6.3)")
};

// "fp32", "bf16" or "auto" -> what this build and CPU run. auto picks bf16 only where it pays
// (ag::bf16_pays_on: AMX-BF16, or AVX512_BF16 on AMD), else fp32. bf16 asked of a build without
// oneDNN is an error; asked of a CPU without bf16 hardware it runs (emulated, slowly) and the
// reason says so. Any other word is an error naming the flag.
PrecisionChoice resolve_precision(const std::string& asked);
const char* precision_name(Precision p);

// What becomes of a frozen weight's fp32 values once it has its bf16 copy.
enum class FrozenFp32 {
  kRelease,  // freed (release_fp32_values): nothing of an adapter run reads them again, and the
             // base model takes half the memory it took in fp32
  kKeep,     // kept: the run saves the whole model at the end (--method head), or merges
};

// Gives every Linear weight of `model` a bf16 copy, except the adapters' own lora_A and lora_B
// (adapters train in fp32). Trained weights keep their fp32 values as the master copy, which
// AdamW updates; frozen ones as `frozen` says, except the base of the tutorial's input-axis
// DoRA, which forms W + s·B A in fp32 at every step. Returns how many weights carry a copy.
int64_t use_bf16_weights(Module& model, FrozenFp32 frozen = FrozenFp32::kRelease);
// Applies `p` to the model's weights: use_bf16_weights for kBf16, nothing for kFp32. (The
// attention's precision is a classifier's own setting: models::set_precision sets both.)
void set_precision(Module& model, Precision p, FrozenFp32 frozen = FrozenFp32::kRelease);

}  // namespace ag::nn
