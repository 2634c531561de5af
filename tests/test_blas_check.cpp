// The BLAS kernel check: the decision on recorded CPUs (CPUID features and the family OpenBLAS
// chose), CPUID decoding against /proc/cpuinfo, the sgemm self-test, and the restart end to end
// through build/bin/train with the test hooks of core/machine/blas_startup.h.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include <cblas.h>
#include "app_runner.h"

#include "core/machine/blas_check.h"
#include "core/machine/blas_selftest.h"
#include "core/machine/blas_startup.h"
#include "core/machine/cpu_features.h"

using namespace ag;

namespace {

// The families Debian 12's OpenBLAS 0.3.21 (DYNAMIC_ARCH) contains.
const std::vector<std::string> kOpenBlas0321 = {
    "Prescott",    "Core2",     "Penryn",  "Dunnington", "Nehalem",     "Opteron",   "Opteron_SSE3",
    "Barcelona",   "Bobcat",    "Atom",    "Nano",       "Sandybridge", "Bulldozer", "Piledriver",
    "Steamroller", "Excavator", "Haswell", "Zen",        "SkylakeX",    "Cooperlake"};

CpuFeatures cpu(const std::string& vendor, int family, int model, const std::string& level,
                bool bf16 = false, bool amx = false) {
  CpuFeatures c;
  c.vendor = vendor;
  c.family = family;
  c.model = model;
  c.avx = level != "sse";
  c.fma = c.avx2 = level == "avx2" || level == "avx512";
  c.avx512f = c.avx512bw = c.avx512dq = c.avx512vl = level == "avx512";
  c.avx512_bf16 = bf16;
  c.amx = amx;
  return c;
}

BlasDecision decide(const CpuFeatures& c, const std::string& chosen,
                    std::optional<std::string> user = std::nullopt,
                    const std::vector<std::string>& available = kOpenBlas0321) {
  return decide_blas_kernels({c, chosen, available, user});
}

const CpuFeatures kEmeraldRapids = cpu("GenuineIntel", 6, 207, "avx512", true, true);
const CpuFeatures kSkylakeSP = cpu("GenuineIntel", 6, 85, "avx512");
const CpuFeatures kZen4 = cpu("AuthenticAMD", 25, 17, "avx512", true);
const CpuFeatures kZen5 = cpu("AuthenticAMD", 26, 2, "avx512", true);
const CpuFeatures kSandyBridge = cpu("GenuineIntel", 6, 42, "avx");
const CpuFeatures kCore2 = cpu("GenuineIntel", 6, 23, "sse");

}  // namespace

TEST_CASE("kernel families are ordered by the widest SIMD they use, names in any case") {
  CHECK(*kernel_family_tier("Prescott") < *kernel_family_tier("Sandybridge"));
  CHECK(*kernel_family_tier("Sandybridge") < *kernel_family_tier("Haswell"));
  CHECK(*kernel_family_tier("Haswell") == *kernel_family_tier("zen"));
  CHECK(*kernel_family_tier("Haswell") < *kernel_family_tier("SKYLAKEX"));
  CHECK(*kernel_family_tier("SkylakeX") == *kernel_family_tier("Cooperlake"));
  CHECK(*kernel_family_tier("SkylakeX") == *kernel_family_tier("SapphireRapids"));
  CHECK_FALSE(kernel_family_tier("Foo").has_value());
}

TEST_CASE("Intel family 6 model 207 with Prescott kernels restarts with SkylakeX") {
  const BlasDecision d = decide(kEmeraldRapids, "Prescott");
  CHECK(d.restart);
  CHECK(d.family == "SkylakeX");
  CHECK(d.reason == "Prescott kernels on a CPU with AVX-512; SkylakeX fits it");
}

TEST_CASE("Skylake-SP with SkylakeX kernels keeps them") {
  const BlasDecision d = decide(kSkylakeSP, "SkylakeX");
  CHECK_FALSE(d.restart);
  CHECK(d.family == "SkylakeX");
}

TEST_CASE("AMD Zen 4 and Zen 5 with Prescott or Zen kernels restart with SkylakeX") {
  for (const CpuFeatures& c : {kZen4, kZen5})
    for (const char* chosen : {"Prescott", "Zen", "Haswell"}) {
      INFO(c.family << " " << chosen);
      const BlasDecision d = decide(c, chosen);
      CHECK(d.restart);
      CHECK(d.family == "SkylakeX");
    }
  // 0.3.21 picks Cooperlake on a Zen 5 (its bf16 test): the same AVX-512 sgemm, kept.
  CHECK_FALSE(decide(kZen5, "Cooperlake").restart);
}

TEST_CASE("Sandy Bridge (AVX only) gets Sandybridge, never an AVX2 family") {
  const BlasDecision d = decide(kSandyBridge, "Prescott");
  CHECK(d.restart);
  CHECK(d.family == "Sandybridge");
  CHECK_FALSE(decide(kSandyBridge, "Sandybridge").restart);
}

TEST_CASE("a CPU without AVX keeps the library's choice") {
  const BlasDecision d = decide(kCore2, "Prescott");
  CHECK_FALSE(d.restart);
  CHECK(d.family == "Prescott");
}

TEST_CASE("a user-set OPENBLAS_CORETYPE is always kept, even when weaker") {
  const BlasDecision d = decide(kEmeraldRapids, "Prescott", "Prescott");
  CHECK_FALSE(d.restart);
  CHECK(d.family == "Prescott");
  CHECK(d.reason == "OPENBLAS_CORETYPE=Prescott is set: kept");
  CHECK_FALSE(decide(kZen5, "Haswell", "Haswell").restart);
}

TEST_CASE("only the families the build contains are chosen") {
  // A build without AVX-512 kernels (NO_AVX512): Haswell is the best it has.
  std::vector<std::string> no_avx512 = {"Prescott", "Sandybridge", "Haswell", "Zen"};
  const BlasDecision d = decide(kEmeraldRapids, "Prescott", std::nullopt, no_avx512);
  CHECK(d.restart);
  CHECK(d.family == "Haswell");
  // AMD with AVX2 alone prefers Zen's tuning; Cooperlake needs bf16.
  CHECK(*best_kernel_family(cpu("AuthenticAMD", 23, 49, "avx2"), kOpenBlas0321) == "Zen");
  CHECK(*best_kernel_family(cpu("GenuineIntel", 6, 63, "avx2"), kOpenBlas0321) == "Haswell");
  CHECK_FALSE(best_kernel_family(kSkylakeSP, {"Prescott", "Cooperlake"}).has_value());
  // A name this table does not know is a newer family: the library is trusted.
  CHECK_FALSE(decide(kEmeraldRapids, "GraniteRapids").restart);
}

TEST_CASE("CPUID decoding agrees with /proc/cpuinfo") {
  std::ifstream in("/proc/cpuinfo");
  REQUIRE(in);
  std::string line, vendor, flags;
  int family = -1, model = -1;
  while (std::getline(in, line) && !line.empty()) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find('\t'));
    const std::string value = line.substr(std::min(line.size(), colon + 2));
    if (key == "vendor_id") vendor = value;
    if (key == "cpu family") family = std::stoi(value);
    if (key == "model") model = std::stoi(value);
    if (key == "flags") flags = value;
  }
  std::set<std::string> has;
  std::istringstream words(flags);
  for (std::string w; words >> w;) has.insert(w);
  const CpuFeatures c = detect_cpu_features();
  CHECK(c.vendor == vendor);
  CHECK(c.family == family);
  CHECK(c.model == model);
  CHECK(c.avx == bool(has.count("avx")));
  CHECK(c.fma == bool(has.count("fma")));
  CHECK(c.avx2 == bool(has.count("avx2")));
  CHECK(c.avx512f == bool(has.count("avx512f")));
  CHECK(c.avx512bw == bool(has.count("avx512bw")));
  CHECK(c.avx512dq == bool(has.count("avx512dq")));
  CHECK(c.avx512vl == bool(has.count("avx512vl")));
  CHECK(c.avx512_bf16 == bool(has.count("avx512_bf16")));
  CHECK(c.amx == bool(has.count("amx_tile") && has.count("amx_bf16")));
}

TEST_CASE("the sgemm self-test finds a wrong product") {
  // The kernels of the loaded OpenBLAS, then the same with one transposed case broken.
  const SgemmFunction blas = [](bool ta, bool tb, int m, int n, int k, const float* a, int lda,
                                const float* b, int ldb, float* c) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
                k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
  };
  CHECK(sgemm_self_test(blas) == "");
  const std::string failure =
      sgemm_self_test([&](bool ta, bool tb, int m, int n, int k, const float* a, int lda,
                          const float* b, int ldb, float* c) {
        blas(ta, tb, m, n, k, a, lda, b, ldb, c);
        if (ta && tb) c[n + 1] *= 1.01f;  // one element, 1% off
      });
  CHECK(failure.rfind("sgemm 67x45x131 A^T B^T: C[1,1] = ", 0) == 0);
  const std::vector<std::string> found = available_kernel_families();
  CHECK(std::find(found.begin(), found.end(), "Haswell") != found.end());
  CHECK(std::find(found.begin(), found.end(), "Foo") == found.end());
}

// ---- The restart, end to end: build/bin/train on the tiny demo task ----

namespace {

using app_runner::Result;

// build/bin/train with `env`; when `env` asks for a pretence (ADAPTGRAD_BLAS_PRETEND_...), the
// tests' train_faults, which passes it to the check (the platform may set OPENBLAS_CORETYPE
// itself; the pretence makes the check ignore it).
Result train_with(const std::string& env, const std::string& out) {
  const bool pretends = env.find("ADAPTGRAD_BLAS_PRETEND_") != std::string::npos;
  return app_runner::run_command(
      env + " " + (app_runner::bin_dir() / (pretends ? "train_faults" : "train")).string() + " " +
      app_runner::demo_args(out));
}

nlohmann::json summary_of(const std::string& out) {
  return nlohmann::json::parse(app_runner::slurp(app_runner::scratch() / out / "summary.json"));
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

const char* kPretend = "ADAPTGRAD_BLAS_PRETEND_CHOSEN=Prescott";

}  // namespace

TEST_CASE("train restarts once with the better kernels and trains to the same numbers") {
  REQUIRE(app_runner::have_apps());
  const std::optional<std::string> best =
      best_kernel_family(detect_cpu_features(), available_kernel_families());
  REQUIRE(best.has_value());  // this build and CPU have an AVX family
  const Result plain = train_with("ADAPTGRAD_BLAS_CHECK=0", "blas_plain");  // no restart
  const Result hooked = train_with(kPretend, "blas_hooked");
  INFO("stderr: " << hooked.err);
  REQUIRE(plain.code == 0);
  REQUIRE(hooked.code == 0);
  const std::string line = "BLAS: OpenBLAS 0.3.21 chose Prescott kernels on a CPU with " +
                           simd_level(detect_cpu_features()) + "; restarted with " + *best +
                           " (set OPENBLAS_CORETYPE to choose yourself)\n";
  CHECK(hooked.err.find(line) != std::string::npos);
  CHECK(count(hooked.err, "BLAS: ") == 1);
  CHECK(count(plain.err, "BLAS: ") == 0);
  CHECK(hooked.out.find(", " + *best + " kernels (chosen by the check), 1 thread,") !=
        std::string::npos);
  const nlohmann::json a = summary_of("blas_plain"), b = summary_of("blas_hooked");
  CHECK(b["blas"]["kernels"] == *best);
  CHECK(b["blas"]["kernels_source"] == "chosen by the check");
  CHECK(b["blas"]["omp_wait"] == "OMP_WAIT_POLICY=passive");
  // Other kernels round differently; the results agree to the digits the app prints.
  CHECK(a["test_acc"] == b["test_acc"]);
  CHECK(a["best_val_acc"] == b["best_val_acc"]);
  CHECK(double(a["test_loss"]) == doctest::Approx(double(b["test_loss"])).epsilon(1e-4));
}

TEST_CASE("build/bin/train itself pretends nothing: the test variables change nothing there") {
  REQUIRE(app_runner::have_apps());
  const Result r = app_runner::run_command(
      std::string(kPretend) + " ADAPTGRAD_BLAS_PRETEND_SELFTEST_FAIL=1 " +
      (app_runner::bin_dir() / "train").string() + " " + app_runner::demo_args("blas_real"));
  INFO("stderr: " << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.find("chose Prescott") == std::string::npos);
  CHECK(r.err.find("pretended") == std::string::npos);
}

TEST_CASE("a failing self-test restarts once more with the library's own choice") {
  REQUIRE(app_runner::have_apps());
  const Result r =
      train_with(std::string(kPretend) + " ADAPTGRAD_BLAS_PRETEND_SELFTEST_FAIL=1", "blas_fail");
  INFO("stderr: " << r.err);
  REQUIRE(r.code == 0);
  CHECK(count(r.err, "BLAS: ") == 2);  // the restart, the fallback, and no third
  CHECK(count(r.err, "; restarted with ") == 2);
  CHECK(count(r.err,
              " kernels failed (a failure the caller pretended);"
              " restarted with OpenBLAS's own choice\n") == 1);
  // Back to what the environment asked for before the hook.
  const char* user = std::getenv("OPENBLAS_CORETYPE");
  const nlohmann::json s = summary_of("blas_fail");
  CHECK(std::string(s["blas"]["kernels_source"]).find("failed") != std::string::npos);
  if (user) CHECK(s["blas"]["kernels"] == user);
}

TEST_CASE("ADAPTGRAD_BLAS_CHECK=0 and a user-set wait policy are respected") {
  REQUIRE(app_runner::have_apps());
  const Result off = train_with(std::string(kPretend) + " ADAPTGRAD_BLAS_CHECK=0", "blas_off");
  REQUIRE(off.code == 0);
  CHECK(count(off.err, "BLAS: ") == 0);
  const nlohmann::json s = summary_of("blas_off");
  CHECK(s["blas"]["omp_wait_source"] != "adaptgrad's default");
  const Result active = train_with("OMP_WAIT_POLICY=active", "blas_active");
  REQUIRE(active.code == 0);
  CHECK(active.out.find("OpenMP wait OMP_WAIT_POLICY=active (set by user)") != std::string::npos);
}
