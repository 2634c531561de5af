#pragma once
// A small deterministic random number generator for shuffles and splits.
//
// std::shuffle and std::uniform_int_distribution are implementation-defined, so the same seed
// could give different splits with another standard library. SplitMix64 (Steele, Lea & Flood
// 2014) and the rejection-free "multiply-shift" bounded draw below are fully specified here:
// the same seed gives the same order everywhere.

#include <cstdint>
#include <utility>
#include <vector>

namespace ag::data {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // A number in [0, bound), bound > 0 (Lemire's multiply-shift; the bias is below 2^-32 for
  // any bound a dataset can have).
  uint64_t below(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
  }

 private:
  uint64_t state_;
};

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
