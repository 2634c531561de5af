#include "core/machine/blas_check.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace ag {

namespace {

// OpenBLAS's x86-64 families (DYNAMIC_ARCH names) by the widest SIMD their kernels use.
constexpr std::array<std::pair<const char*, int>, 24> kTiers = {{
    {"Katmai", 0},      {"Coppermine", 0}, {"Northwood", 0},  {"Banias", 0},
    {"Athlon", 0},      {"Opteron", 0},    {"Prescott", 1},   {"Opteron_SSE3", 1},
    {"Core2", 2},       {"Penryn", 2},     {"Dunnington", 2}, {"Atom", 2},
    {"Nano", 2},        {"Barcelona", 2},  {"Bobcat", 2},     {"Nehalem", 3},
    {"Sandybridge", 4}, {"Bulldozer", 4},  {"Piledriver", 5}, {"Steamroller", 5},
    {"Excavator", 5},   {"Haswell", 6},    {"Zen", 6},        {"SkylakeX", 7},
}};
// Newer AVX-512 families: the same sgemm kernels as SkylakeX (they add bf16/AMX kernels).
constexpr std::array<const char*, 2> kAvx512Extensions = {"Cooperlake", "SapphireRapids"};
constexpr int kAvx512Tier = 7;

bool same_name(const std::string& a, const std::string& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower((unsigned char)x) == std::tolower((unsigned char)y);
  });
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& n) { return same_name(n, name); });
}

}  // namespace

std::optional<int> kernel_family_tier(const std::string& family) {
  for (const auto& [name, tier] : kTiers)
    if (same_name(family, name)) return tier;
  for (const char* name : kAvx512Extensions)
    if (same_name(family, name)) return kAvx512Tier;
  return std::nullopt;
}

std::vector<std::string> known_kernel_families() {
  std::vector<std::string> names;
  for (const auto& [name, tier] : kTiers) names.emplace_back(name);
  names.insert(names.end(), kAvx512Extensions.begin(), kAvx512Extensions.end());
  return names;
}

std::optional<std::string> best_kernel_family(const CpuFeatures& cpu,
                                              const std::vector<std::string>& available) {
  // In preference order; SkylakeX first on AVX-512 parts, bf16 or not: Cooperlake's sgemm is
  // the same code and measured no faster on this project's shapes (README, Performance).
  std::vector<std::string> wanted;
  if (cpu.has_avx512()) {
    wanted.push_back("SkylakeX");
    if (cpu.avx512_bf16) wanted.push_back("Cooperlake");  // its bf16 kernels need the extension
  }
  if (cpu.has_avx2_fma()) {
    // Each vendor's own tuning first (cache blocking), the other's kernels second.
    if (cpu.is_amd())
      wanted.insert(wanted.end(), {"Zen", "Haswell"});
    else
      wanted.insert(wanted.end(), {"Haswell", "Zen"});
  }
  if (cpu.avx) wanted.push_back("Sandybridge");
  for (const std::string& family : wanted)
    if (contains(available, family)) return family;
  return std::nullopt;
}

BlasDecision decide_blas_kernels(const BlasCheckInput& in) {
  BlasDecision keep{false, in.chosen, ""};
  if (in.user_coretype) {
    keep.reason = "OPENBLAS_CORETYPE=" + *in.user_coretype + " is set: kept";
    return keep;
  }
  const std::optional<std::string> best = best_kernel_family(in.cpu, in.available);
  if (!best) {
    keep.reason = "no family of this build needs more than the CPU's " + simd_level(in.cpu);
    return keep;
  }
  const std::optional<int> chosen_tier = kernel_family_tier(in.chosen);
  // An unknown name is a family newer than this table: trust the library.
  if (!chosen_tier || *chosen_tier >= *kernel_family_tier(*best)) {
    keep.reason = in.chosen + " is as strong as " + *best + " on this CPU";
    return keep;
  }
  return {true, *best,
          in.chosen + " kernels on a CPU with " + simd_level(in.cpu) + "; " + *best + " fits it"};
}

}  // namespace ag
