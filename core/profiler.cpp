#include "core/profiler.h"

#include <atomic>

namespace ag {
namespace {
std::atomic<bool> g_on{false};
double g_seconds[int(OpFamily::kCount)] = {};
}  // namespace

const char* family_name(OpFamily f) {
  static const char* names[] = {"gemm", "attention", "norm", "elementwise", "optimizer", "other"};
  return names[int(f)];
}

void set_profiling(bool on) {
  g_on = on;
}
bool profiling() {
  return g_on.load(std::memory_order_relaxed);
}
void reset_profile() {
  for (double& s : g_seconds) s = 0.0;
}
double profile_seconds(OpFamily f) {
  return g_seconds[int(f)];
}
// Called from the main thread only (ops are invoked serially; their inner loops are parallel).
void add_profile_time(OpFamily f, double seconds) {
  g_seconds[int(f)] += seconds;
}

}  // namespace ag
