#include "apps/bench/bench_measure.h"

#include <cblas.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

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

SgemmSpeed measure_sgemm() {
  constexpr int M = 4096, K = 768, N = 768;
  std::vector<float> a(size_t(M) * K), b(size_t(K) * N), c(size_t(M) * N);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(int(i * 7919 % 2001) - 1000) * 1e-3f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = float(int(i * 104729 % 2001) - 1000) * 1e-3f;
  auto run = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a.data(), K, b.data(), N,
                0.0f, c.data(), N);
  };
  for (int i = 0; i < 2; ++i) run();
  std::vector<double> seconds;
  for (int i = 0; i < 10; ++i) {
    const double t0 = now_seconds();
    run();
    seconds.push_back(now_seconds() - t0);
  }
  const double flop = 2.0 * M * K * N;
  return {flop / median(seconds) / 1e9,
          flop / *std::min_element(seconds.begin(), seconds.end()) / 1e9};
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
