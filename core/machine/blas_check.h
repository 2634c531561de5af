// Which OpenBLAS kernel family should run on this CPU: a pure decision, so that tests can feed it
// recorded CPUs. OpenBLAS's DYNAMIC_ARCH build picks its kernels from the CPU model when it
// loads; a model newer than the library falls back to an old family (OpenBLAS 0.3.21 runs
// Prescott's SSE3 kernels on Intel family 6 model 207, 4-5x slower than SkylakeX's).
// core/machine/blas_startup.h acts on the decision (restart with OPENBLAS_CORETYPE set).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/machine/cpu_features.h"

namespace ag {

// A family's place in the ordering table: higher runs wider SIMD. Families with the same sgemm
// kernels share a tier (SkylakeX and Cooperlake: the same AVX-512 sgemm; Haswell and Zen).
// Names compare case-insensitively; an unknown name gives nothing.
std::optional<int> kernel_family_tier(const std::string& family);

// Every family name of the ordering table (for asking a library which it contains).
std::vector<std::string> known_kernel_families();

// The best family of `available` for this CPU, or nothing when none is better than SSE.
std::optional<std::string> best_kernel_family(const CpuFeatures& cpu,
                                              const std::vector<std::string>& available);

struct BlasCheckInput {
  CpuFeatures cpu;
  std::string chosen;                        // openblas_get_corename()
  std::vector<std::string> available;        // the families this OpenBLAS build contains
  std::optional<std::string> user_coretype;  // OPENBLAS_CORETYPE as the user set it
};

struct BlasDecision {
  bool restart = false;
  std::string family;  // the family to run: `chosen`, or the better one to restart with
  std::string reason;  // one line for people
};

// Keeps a user-set OPENBLAS_CORETYPE and any choice at least as strong as the best family;
// otherwise asks for a restart with the best family.
BlasDecision decide_blas_kernels(const BlasCheckInput& in);

}  // namespace ag
