#include "core/machine/blas_startup.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>
#include <vector>

#include "core/machine/blas_check.h"
#include "core/machine/blas_selftest.h"
#include "core/machine/cpu_features.h"

extern "C" char* openblas_get_corename(void);
extern "C" char* openblas_get_config(void);

namespace ag {

namespace {

constexpr const char* kCoretype = "OPENBLAS_CORETYPE";
constexpr const char* kWaitPolicy = "OMP_WAIT_POLICY";
constexpr const char* kSpinCount = "GOMP_SPINCOUNT";
// Set on the restarted process: what the restart changed, comma-separated items
// "coretype", "wait", "prior=<user's OPENBLAS_CORETYPE>" (pretend hook), "failed=<family>".
constexpr const char* kMarker = "ADAPTGRAD_BLAS_RESTARTED";

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> items;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& item : items) s += (s.empty() ? "" : ",") + item;
  return s;
}

// The value of "key=value" in the marker's items, if present.
std::optional<std::string> item_value(const std::vector<std::string>& items,
                                      const std::string& key) {
  for (const std::string& item : items)
    if (item.rfind(key + "=", 0) == 0) return item.substr(key.size() + 1);
  return std::nullopt;
}

bool has_item(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

std::string openblas_version() {
  std::istringstream config(openblas_get_config());  // "OpenBLAS 0.3.21 NO_LAPACKE ..."
  std::string name, version;
  config >> name >> version;
  return version;
}

}  // namespace

// A DYNAMIC_ARCH OpenBLAS exports one gotoblas_<FAMILY> table per family it contains.
std::vector<std::string> available_kernel_families() {
  std::vector<std::string> found;
  for (const std::string& family : known_kernel_families()) {
    std::string upper = family;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return char(std::toupper(c)); });
    if (dlsym(RTLD_DEFAULT, ("gotoblas_" + upper).c_str())) found.push_back(family);
  }
  return found;
}

namespace {

// Under mpirun every rank starts the same way: rank 0 alone speaks.
bool is_first_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"})
    if (const auto rank = env(name)) return *rank == "0";
  return true;
}

void say(const std::string& line) {
  if (is_first_rank()) std::cerr << "BLAS: " << line << std::endl;
}

// Restarts this program with the environment as it is now; returns only when execv fails.
void restart(char** argv, const std::vector<std::string>& marker_items) {
  setenv(kMarker, join(marker_items).c_str(), 1);
  execv("/proc/self/exe", argv);
  say(std::string("could not restart (") + std::strerror(errno) + "); running " +
      openblas_get_corename() + " kernels");
  unsetenv(kMarker);
}

// Puts OPENBLAS_CORETYPE back as it was before the restart (unset, or the value the pretend
// hook overrode).
void restore_coretype(const std::vector<std::string>& items) {
  if (const auto prior = item_value(items, "prior"))
    setenv(kCoretype, prior->c_str(), 1);
  else
    unsetenv(kCoretype);
}

std::optional<BlasRuntime> settled;  // filled by check_blas_at_startup

std::string kernels_source_from_env() {
  return env(kCoretype) ? "set by user" : "library's own";
}

void describe_wait(BlasRuntime& r, bool set_by_us) {
  const auto policy = env(kWaitPolicy), spin = env(kSpinCount);
  r.wait_policy = policy ? std::string(kWaitPolicy) + "=" + *policy : "";
  if (spin)
    r.wait_policy += (r.wait_policy.empty() ? "" : " ") + std::string(kSpinCount) + "=" + *spin;
  if (r.wait_policy.empty()) r.wait_policy = "default";
  r.wait_source = set_by_us          ? "adaptgrad's default"
                  : (policy || spin) ? "set by user"
                                     : "libgomp's default";
}

// The first process: decide, and restart when the kernels or the wait policy should change.
void first_start(char** argv, const BlasCheckPretence& pretence) {
  const auto& pretend = pretence.chosen;
  BlasCheckInput in{detect_cpu_features(), pretend ? *pretend : openblas_get_corename(),
                    available_kernel_families(), pretend ? std::nullopt : env(kCoretype)};
  const BlasDecision decision = decide_blas_kernels(in);
  std::vector<std::string> items;
  if (decision.restart) {
    if (const auto prior = env(kCoretype)) items.push_back("prior=" + *prior);
    setenv(kCoretype, decision.family.c_str(), 1);
    items.push_back("coretype");
    say("OpenBLAS " + openblas_version() + " chose " + in.chosen + " kernels on a CPU with " +
        simd_level(in.cpu) + "; restarted with " + decision.family +
        " (set OPENBLAS_CORETYPE to choose yourself)");
  }
  if (!env(kWaitPolicy) && !env(kSpinCount)) {
    setenv(kWaitPolicy, kDefaultWaitPolicy, 1);
    items.push_back("wait");
  }
  if (!items.empty()) restart(argv, items);
  // Still here: nothing to change, or execv failed (then undo what was set).
  if (has_item(items, "coretype")) restore_coretype(items);
  if (has_item(items, "wait")) unsetenv(kWaitPolicy);
}

// The restarted process: guard the new kernels, then give the environment back to the user so
// that programs started from here see what they would have seen.
void restarted(char** argv, std::vector<std::string> items, const BlasCheckPretence& pretence) {
  BlasRuntime r;
  r.kernels_source = kernels_source_from_env();
  if (has_item(items, "coretype")) {
    const std::string wanted = *env(kCoretype), got = openblas_get_corename();
    std::string failure = got == wanted ? sgemm_self_test() : "OpenBLAS runs " + got;
    if (failure.empty() && pretence.self_test_fails) failure = "a failure the caller pretended";
    if (!failure.empty()) {
      say("the self-test of " + wanted + " kernels failed (" + failure +
          "); restarted with OpenBLAS's own choice");
      restore_coretype(items);
      items.erase(std::remove(items.begin(), items.end(), "coretype"), items.end());
      items.push_back("failed=" + wanted);
      restart(argv, items);
      return;  // execv failed: running the family that failed, said above
    }
    r.kernels_source = "chosen by the check";
  }
  if (const auto failed = item_value(items, "failed"))
    r.kernels_source += "; the self-test of " + *failed + " failed";
  describe_wait(r, has_item(items, "wait"));
  r.version = openblas_version();
  r.kernels = openblas_get_corename();
  settled = r;
  if (has_item(items, "coretype")) restore_coretype(items);
  if (has_item(items, "wait")) unsetenv(kWaitPolicy);
  unsetenv(kMarker);
}

}  // namespace

void check_blas_at_startup(char** argv, const BlasCheckPretence& pretence) {
  if (env("ADAPTGRAD_BLAS_CHECK") == "0") return;
  if (const auto marker = env(kMarker))
    restarted(argv, split(*marker), pretence);
  else
    first_start(argv, pretence);
}

BlasRuntime blas_runtime() {
  if (settled) return *settled;
  BlasRuntime r;
  r.version = openblas_version();
  r.kernels = openblas_get_corename();
  r.kernels_source = kernels_source_from_env();
  describe_wait(r, false);
  return r;
}

std::string blas_runtime_line(int threads) {
  const BlasRuntime r = blas_runtime();
  return r.library + " " + r.version + ", " + r.kernels + " kernels (" + r.kernels_source + "), " +
         std::to_string(threads) + " thread" + (threads == 1 ? "" : "s") + ", OpenMP wait " +
         r.wait_policy + " (" + r.wait_source + ")";
}

nlohmann::ordered_json blas_runtime_json(int threads) {
  const BlasRuntime r = blas_runtime();
  return {{"library", r.library},
          {"version", r.version},
          {"kernels", r.kernels},
          {"kernels_source", r.kernels_source},
          {"threads", threads},
          {"omp_wait", r.wait_policy},
          {"omp_wait_source", r.wait_source}};
}

}  // namespace ag
