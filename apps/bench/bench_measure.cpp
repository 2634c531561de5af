#include "apps/bench/bench_measure.h"

#include <cblas.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/bf16_gemm.h"
#include "core/errors.h"

namespace ag::bench {

double median(std::vector<double> values) {
  if (values.empty()) throw Error("median: empty list");
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double round_to(double x, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::nearbyint(x * scale) / scale;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

namespace {

constexpr int kM = 4096, kK = 768, kN = 768;

void fill_operands(std::vector<float>& a, std::vector<float>& b) {
  a.resize(size_t(kM) * kK);
  b.resize(size_t(kK) * kN);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(int(i * 7919 % 2001) - 1000) * 1e-3f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = float(int(i * 104729 % 2001) - 1000) * 1e-3f;
}

// 2 warm-up runs, then the median and the best of 10 timed runs of a (kM, kK) x (kK, kN) product.
template <class Run>
SgemmSpeed time_product(Run run) {
  for (int i = 0; i < 2; ++i) run();
  std::vector<double> seconds;
  for (int i = 0; i < 10; ++i) {
    const double t0 = now_seconds();
    run();
    seconds.push_back(now_seconds() - t0);
  }
  const double flop = 2.0 * kM * kK * kN;
  return {flop / median(seconds) / 1e9,
          flop / *std::min_element(seconds.begin(), seconds.end()) / 1e9};
}

}  // namespace

SgemmSpeed measure_sgemm() {
  std::vector<float> a, b, c(size_t(kM) * kN);
  fill_operands(a, b);
  return time_product([&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kM, kN, kK, 1.0f, a.data(), kK, b.data(),
                kN, 0.0f, c.data(), kN);
  });
}

SgemmSpeed measure_bf16_gemm() {
  std::vector<float> a, b, c(size_t(kM) * kN);
  fill_operands(a, b);
  // The weight as a linear layer holds it: W (out = kN, in = kK) = bᵀ.
  Tensor w = Tensor::empty({kN, kK});
  for (int i = 0; i < kK; ++i)
    for (int j = 0; j < kN; ++j) w.data()[j * kK + i] = b[size_t(i) * kN + j];
  attach_bf16_copy(w);
  return time_product([&] { bf16_gemm_x_wt(a.data(), kM, w, 0.0f, c.data()); });
}

namespace {

std::string first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The commit HEAD points at, read from .git (loose ref or packed-refs); "" if unknown.
std::string head_commit(const std::filesystem::path& git) {
  const std::string head = first_line(git / "HEAD");
  if (head.rfind("ref: ", 0) != 0) return head;  // detached: the hash itself
  const std::string ref = head.substr(5);
  if (std::string hash = first_line(git / ref); !hash.empty()) return hash;
  std::ifstream packed(git / "packed-refs");
  for (std::string line; std::getline(packed, line);) {
    const size_t space = line.find(' ');
    if (space != std::string::npos && line.substr(space + 1) == ref) return line.substr(0, space);
  }
  return "";
}

}  // namespace

std::string version_string() {
  std::string version = "adaptgrad 0.1";
  std::error_code ec;
  // This file is apps/bench/bench_measure.cpp; the tree's root is three levels up.
  const auto root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  if (!std::filesystem::is_directory(root / ".git", ec)) return version;
  const std::string hash = head_commit(root / ".git");
  if (hash.size() >= 7 && hash.find_first_not_of("0123456789abcdef") == std::string::npos)
    version += "+g" + hash.substr(0, 7);
  return version;
}

}  // namespace ag::bench
