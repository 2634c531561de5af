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

// Data-parallel training (apps/train/trainer.cpp): this process holds rows
// [first_row, first_row + rows) of every global batch. The mask of the dropout op on a
// batch-major tensor then starts at the counter the whole batch would have reached at
// first_row, so that N processes draw exactly the mask entries one process would: same
// training, dropout included. (Adapters are given their first row explicitly instead:
// nn::set_adapter_dropout_first_row.)
struct BatchShard {
  int64_t first_row = 0, rows = 0;  // rows == 0: not sharded
};
void set_batch_shard(BatchShard shard);
// The counter of element 0 of a batch-major tensor of `numel` values under the current shard
// (0 when not sharded). Throws when numel is not a multiple of the shard's rows.
uint64_t shard_first_index(int64_t numel);

// In-place fills, drawing one seed from the global generator (or a given seed).
void fill_uniform(const Tensor& t, float low, float high);
void fill_normal(const Tensor& t, float mean, float std);
void fill_uniform(const Tensor& t, float low, float high, uint64_t seed);
void fill_normal(const Tensor& t, float mean, float std, uint64_t seed);

}  // namespace ag
