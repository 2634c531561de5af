// SplitMix64 (Steele, Lea & Flood 2014): the one source of pseudo-random numbers in adaptgrad.
//
// The mixing function turns any 64-bit number into a well-scrambled one; it passes BigCrush on a
// counter. Two ways to use it:
//   - as a hash of a counter: splitmix64(i) for i = 0, 1, 2... (core/rng.h: dropout masks and
//     initialisers, where element i must not depend on who computes it);
//   - as a stream: the class SplitMix64 below (data/random.h: shuffles and splits; the
//     benchmark's synthetic batches). std::mt19937 with std::shuffle or a distribution would be
//     implementation-defined; this is fully specified, so the same seed gives the same numbers
//     with every compiler and standard library.
// Header-only and dependency-free, so that data/ (which does not link core/) can use it too.
#pragma once

#include <cstdint>

namespace ag {

inline constexpr uint64_t kSplitMix64Increment = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio

inline uint64_t splitmix64(uint64_t z) {
  z += kSplitMix64Increment;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The stream form: the n-th number (from 0) is splitmix64(seed + n * increment).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    const uint64_t value = splitmix64(state_);
    state_ += kSplitMix64Increment;
    return value;
  }

  // A number in [0, bound), bound > 0 (Lemire's multiply-shift; the bias is below 2^-32 for
  // any bound a dataset can have).
  uint64_t below(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
  }

 private:
  uint64_t state_;
};

}  // namespace ag
