// What the CPU can run, read once with CPUID: the vendor, family/model and the SIMD extensions
// that decide which OpenBLAS kernel family fits (see core/machine/blas_check.h).
#pragma once

#include <string>

namespace ag {

struct CpuFeatures {
  std::string vendor;  // "GenuineIntel", "AuthenticAMD", ...
  int family = 0;      // display family (base + extended)
  int model = 0;       // display model (extended << 4 | base, for families 6 and 15+)
  // Each flag is set only when the operating system also saves the registers (XGETBV).
  bool avx = false, fma = false, avx2 = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
  bool avx512_bf16 = false, amx = false;

  bool is_amd() const { return vendor == "AuthenticAMD" || vendor == "HygonGenuine"; }
  // The AVX-512 subset OpenBLAS's SkylakeX kernels use.
  bool has_avx512() const { return avx512f && avx512bw && avx512dq && avx512vl; }
  bool has_avx2_fma() const { return avx2 && fma; }
};

// Reads this machine's CPUID leaves 0, 1 and 7.
CpuFeatures detect_cpu_features();

// The widest SIMD level in a few words, for messages: "AVX-512", "AVX2+FMA", "AVX", "SSE only".
std::string simd_level(const CpuFeatures& cpu);

}  // namespace ag
