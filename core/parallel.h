// One thread pool for everything: OpenMP. OpenBLAS is its OpenMP build, so BLAS calls and our
// own `#pragma omp parallel for` loops share the same threads instead of oversubscribing.
#pragma once

#include <cstdint>

namespace ag {

// Sets the threads used by our loops and by OpenBLAS (n <= 0 means all cores).
void set_num_threads(int n);
int get_num_threads();
// The cores this process may run on (omp_get_num_procs).
int hardware_threads();
// True when OpenBLAS was built with OpenMP (openblas_get_parallel() == 2).
bool blas_uses_openmp();

// Loops shorter than this run on one thread: spawning costs more than it saves.
constexpr int64_t kParallelGrain = 16384;

}  // namespace ag
