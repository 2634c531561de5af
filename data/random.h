#pragma once
// A small deterministic random number generator for shuffles and splits.
//
// std::shuffle and std::uniform_int_distribution are implementation-defined, so the same seed
// could give different splits with another standard library. SplitMix64 and its
// "multiply-shift" bounded draw (core/splitmix64.h) and the shuffle below are fully specified:
// the same seed gives the same order everywhere.

#include <cstdint>
#include <utility>
#include <vector>

#include "core/splitmix64.h"

namespace ag::data {

using ag::SplitMix64;

// Fisher-Yates shuffle.
template <typename T>
void shuffle(std::vector<T>& items, SplitMix64& rng) {
  for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

// A seed for one (seed, stream) pair, e.g. (run seed, epoch): different streams are unrelated.
inline uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  SplitMix64 mixer(seed ^ (0xD1B54A32D192ED03ull * (stream + 1)));
  return mixer.next();
}

}  // namespace ag::data
