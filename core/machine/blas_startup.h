// What runs the matmuls, settled before an app does any work. OpenBLAS reads OPENBLAS_CORETYPE
// and libgomp reads OMP_WAIT_POLICY / GOMP_SPINCOUNT only when they load, so the only way to
// change them is to restart the process: check_blas_at_startup() re-executes the program once
// (execv of /proc/self/exe, same arguments, same pid) when
//   - OpenBLAS chose a weaker kernel family than the CPU runs (core/machine/blas_check.h) and the
//   user
//     did not set OPENBLAS_CORETYPE: restart with the better family, said in one line; after
//     the restart a self-test (core/machine/blas_selftest.h) guards it, and on failure the program
//     restarts once more with OpenBLAS's own choice, said in one line;
//   - the user set neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT: restart with
//     OMP_WAIT_POLICY=passive, so that a thread waiting at a barrier sleeps at once instead of
//     spinning (libgomp's default spins ~300,000 times): on a machine where another process
//     keeps a core busy, the spinning thread holds the free core that its late partner needs.
// A marker variable makes the restarted process skip the check: it never loops.
// Environment: ADAPTGRAD_BLAS_CHECK=0 turns all of this off.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ag {

// The OpenMP wait policy set when the user chose none (measured: README, Performance).
constexpr const char* kDefaultWaitPolicy = "passive";

// The kernel families the loaded OpenBLAS contains (its exported gotoblas_<FAMILY> tables).
std::vector<std::string> available_kernel_families();

// What a caller may make the check believe, so that a test reaches every restart on any machine
// (the tests' build/bin/train_faults passes it; the apps pass nothing).
struct BlasCheckPretence {
  // OpenBLAS chose this kernel family, and the user set no OPENBLAS_CORETYPE.
  std::optional<std::string> chosen;
  bool self_test_fails = false;  // the self-test after the restart fails
};

// Call first thing in main(), before MPI_Init and before any thread starts. A restart runs the
// program again with the same arguments: its main() must pass the same `pretence`.
void check_blas_at_startup(char** argv, const BlasCheckPretence& pretence = {});

struct BlasRuntime {
  std::string library = "OpenBLAS";
  std::string version;         // "0.3.21"
  std::string kernels;         // openblas_get_corename(): "SkylakeX"
  std::string kernels_source;  // "library's own", "set by user", "chosen by the check", ...
  std::string wait_policy;     // "OMP_WAIT_POLICY=passive", "GOMP_SPINCOUNT=1000", "default"
  std::string wait_source;     // "set by user", "adaptgrad's default", "libgomp's default"
};

// What runs in this process (after check_blas_at_startup, or as loaded without it).
BlasRuntime blas_runtime();
// "OpenBLAS 0.3.21, SkylakeX kernels (chosen by the check), 2 threads, OpenMP wait
// OMP_WAIT_POLICY=passive (adaptgrad's default)"
std::string blas_runtime_line(int threads);
// The same as JSON: library, version, kernels, kernels_source, threads, omp_wait, omp_wait_source.
nlohmann::ordered_json blas_runtime_json(int threads);

}  // namespace ag
