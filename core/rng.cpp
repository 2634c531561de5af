#include "core/rng.h"

#include <atomic>
#include <cmath>
#include <string>

#include "core/errors.h"

namespace ag {
namespace {
std::atomic<uint64_t> g_state{0x5EED5EED5EED5EEDull};
}  // namespace

void manual_seed(uint64_t seed) {
  g_state = splitmix64(seed);
}
uint64_t next_seed() {
  return splitmix64(g_state.fetch_add(1));
}
void skip_seeds(uint64_t count) {
  g_state.fetch_add(count);
}
uint64_t generator_state() {
  return g_state;
}
void set_generator_state(uint64_t s) {
  g_state = s;
}

void fill_uniform(const Tensor& t, float low, float high) {
  fill_uniform(t, low, high, next_seed());
}
void fill_normal(const Tensor& t, float mean, float std) {
  fill_normal(t, mean, std, next_seed());
}

void fill_uniform(const Tensor& t, float low, float high, uint64_t seed) {
  float* p = t.data();
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) p[i] = low + (high - low) * random_uniform(seed, i);
}

// Box-Muller: two uniforms per normal; u1 is shifted into (0, 1] so that log() is finite.
void fill_normal(const Tensor& t, float mean, float std, uint64_t seed) {
  float* p = t.data();
  const int64_t n = t.numel();
  constexpr double kTwoPi = 6.283185307179586;
  for (int64_t i = 0; i < n; ++i) {
    double u1 = 1.0 - random_uniform(seed, 2 * uint64_t(i));
    double u2 = random_uniform(seed, 2 * uint64_t(i) + 1);
    p[i] = float(mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2));
  }
}

}  // namespace ag
