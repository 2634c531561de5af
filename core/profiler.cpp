#include "core/profiler.h"

#include <atomic>
#include <cstring>

namespace ag {
namespace {
std::atomic<bool> g_on{false};
double g_seconds[int(OpFamily::kCount)] = {};
}  // namespace

const char* family_name(OpFamily f) {
  static const char* names[] = {"gemm", "attention", "norm", "elementwise", "optimizer", "other"};
  return names[int(f)];
}

OpFamily family_of(const char* op) {
  static const std::pair<const char*, OpFamily> table[] = {
      {"linear", OpFamily::kGemm},
      {"linear_gelu", OpFamily::kGemm},
      {"matmul", OpFamily::kGemm},
      {"lora_linear", OpFamily::kGemm},
      {"dora_linear", OpFamily::kGemm},
      {"attention_probs", OpFamily::kAttention},
      {"attention_context", OpFamily::kAttention},
      {"layer_norm", OpFamily::kNorm},
      {"add_layer_norm", OpFamily::kNorm},
      {"softmax", OpFamily::kNorm},
  };
  for (auto& [name, family] : table)
    if (std::strcmp(name, op) == 0) return family;
  return OpFamily::kElementwise;
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
