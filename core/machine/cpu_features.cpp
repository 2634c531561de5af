#include "core/machine/cpu_features.h"

#include <cpuid.h>

#include <cstdint>
#include <cstring>

namespace ag {

namespace {

bool bit(uint32_t reg, int n) {
  return (reg >> n) & 1u;
}

// XCR0: which register states the operating system saves on a context switch.
uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

}  // namespace

CpuFeatures detect_cpu_features() {
  CpuFeatures cpu;
  uint32_t a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return cpu;
  const uint32_t max_leaf = a;
  char vendor[13] = {};
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  cpu.vendor = vendor;

  __get_cpuid(1, &a, &b, &c, &d);
  const int base_family = int((a >> 8) & 0xf), base_model = int((a >> 4) & 0xf);
  cpu.family = base_family == 0xf ? base_family + int((a >> 20) & 0xff) : base_family;
  cpu.model = (base_family == 6 || base_family == 0xf) ? int((a >> 16) & 0xf) << 4 | base_model
                                                       : base_model;
  const bool osxsave = bit(c, 27);
  const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  const bool ymm_saved = (xcr0 & 0x6) == 0x6;                 // SSE + AVX state
  const bool zmm_saved = ymm_saved && (xcr0 & 0xe0) == 0xe0;  // opmask + upper zmm
  const bool tiles_saved = (xcr0 & 0x60000) == 0x60000;       // AMX tile config + data
  cpu.avx = ymm_saved && bit(c, 28);
  cpu.fma = cpu.avx && bit(c, 12);
  if (max_leaf < 7) return cpu;

  __get_cpuid_count(7, 0, &a, &b, &c, &d);
  cpu.avx2 = cpu.avx && bit(b, 5);
  cpu.avx512f = zmm_saved && bit(b, 16);
  cpu.avx512dq = cpu.avx512f && bit(b, 17);
  cpu.avx512bw = cpu.avx512f && bit(b, 30);
  cpu.avx512vl = cpu.avx512f && bit(b, 31);
  cpu.amx = tiles_saved && bit(d, 24) && bit(d, 22);  // AMX-TILE and AMX-BF16
  const uint32_t max_subleaf = a;
  if (max_subleaf >= 1) {
    __get_cpuid_count(7, 1, &a, &b, &c, &d);
    cpu.avx512_bf16 = cpu.avx512f && bit(a, 5);
  }
  return cpu;
}

std::string simd_level(const CpuFeatures& cpu) {
  if (cpu.has_avx512()) return "AVX-512";
  if (cpu.has_avx2_fma()) return "AVX2+FMA";
  if (cpu.avx) return "AVX";
  return "SSE only";
}

}  // namespace ag
