// Random numbers that do not depend on the number of threads or the order of evaluation.
//
// Counter-based: the value for element i of a stream is a pure hash of (seed, i) — the idea of
// Philox/Threefry (Salmon et al. 2011), here with the SplitMix64 finaliser as the hash, which
// passes BigCrush on a counter. Dropout masks can then be regenerated in backward, and a
// parallel loop can fill any slice without coordinating with the other threads.
#pragma once

#include <cstdint>

#include "core/splitmix64.h"
#include "core/tensor.h"

namespace ag {

// 32 random bits for element `index` of the stream `seed`.
inline uint32_t random_bits(uint64_t seed, uint64_t index) {
  return static_cast<uint32_t>(splitmix64(seed ^ splitmix64(index)) >> 32);
}

// Uniform in [0, 1) with 24 random bits (every value exactly representable as a float).
inline float random_uniform(uint64_t seed, uint64_t index) {
  return float(random_bits(seed, index) >> 8) * (1.0f / 16777216.0f);
}

// The global generator hands out fresh seeds (one per dropout call, per initialiser).
void manual_seed(uint64_t seed);
uint64_t next_seed();
uint64_t generator_state();            // for checkpoints
void set_generator_state(uint64_t s);  // for resume

// Advances the generator exactly as `count` calls of next_seed() would (seeds are drawn from a
// counter). In data-parallel training a process with no rows of a batch skips the random seeds the
// others drew for it, so that every generator stays in step (apps/train/batch_shard.h).
void skip_seeds(uint64_t count);

// Data-parallel training gives each process a share of the rows of every batch
// (apps/train/batch_shard.h). When row 0 of the batch-major tensor x (dimension 0: the batch)
// is row `first_row` of the whole batch, a dropout mask on x starts at the counter the whole
// batch would have reached there, so that N processes draw exactly the mask entries one process
// would: same training, dropout included. This is that counter, for the ops' `first_index`.
inline uint64_t batch_first_index(const Tensor& x, int64_t first_row) {
  if (first_row == 0 || x.dim() == 0 || x.size(0) == 0) return 0;
  return uint64_t(first_row) * uint64_t(x.numel() / x.size(0));
}

// In-place fills, drawing one seed from the global generator (or a given seed).
void fill_uniform(const Tensor& t, float low, float high);
void fill_normal(const Tensor& t, float mean, float std);
void fill_uniform(const Tensor& t, float low, float high, uint64_t seed);
void fill_normal(const Tensor& t, float mean, float std, uint64_t seed);

}  // namespace ag
