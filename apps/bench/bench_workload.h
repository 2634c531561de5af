// The benchmark's workload, identical to tools/bench/bench_torch.py: the batch stream
// and the model-FLOP formula. See tools/bench/README.md for the definitions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "models/encoder.h"

namespace ag::bench {

// distilbert-base-uncased shapes.
constexpr int64_t kDim = 768, kHidden = 3072, kLayers = 6, kVocab = 30522, kLabels = 2;

struct Batch {
  models::EncoderInput input;  // token_type_ids left empty (DistilBERT has none)
  Indices labels;              // (B)
  int64_t real_tokens = 0;     // Σ attention_mask
  int64_t batch() const { return input.batch(); }
  int64_t length() const { return input.length(); }
};

// `n` batches from one splitmix64 stream seeded with `seed`: "fixed" = 16 x 128 all real,
// "mixed" = 32 rows of lengths 8..64 padded (id 0, mask 0) to the longest.
std::vector<Batch> make_batches(const std::string& shape, int64_t n, uint64_t seed);

// GEMM FLOPs of one step of `method` (lora, dora, full, infer) on a B x T padded batch with
// adapters of rank r: bench_torch.py's model_flops(), line for line.
int64_t model_flops(const std::string& method, int64_t B, int64_t T, int64_t r);

}  // namespace ag::bench
