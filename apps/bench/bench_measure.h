// Measurement helpers for build/bin/bench: wall clock, statistics, peak RSS, the in-process
// sgemm reference and the version string.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace ag::bench {

// Seconds since an arbitrary epoch (steady clock).
inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> values);  // of a non-empty list
double round_to(double x, int decimals);    // as Python's round(x, decimals)

// getrusage(RUSAGE_SELF).ru_maxrss in MiB.
double peak_rss_mib();

// cblas_sgemm of 4096x768 @ 768x768, row-major, into a preallocated output: 2 warm-up runs,
// then 10 timed runs. GFLOP/s of the median run and of the fastest.
struct SgemmSpeed {
  double median_gflops = 0, max_gflops = 0;
};
SgemmSpeed measure_sgemm();
// The same product with bf16 operands through oneDNN (core/bf16_gemm.h), the weight's bf16
// copy made once, the activations converted in every run as a linear layer does.
SgemmSpeed measure_bf16_gemm();

// "adaptgrad 0.1" plus "+g<commit>" when the source tree's .git can be read (no git is run).
std::string version_string();

}  // namespace ag::bench
