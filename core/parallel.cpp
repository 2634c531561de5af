#include "core/parallel.h"

#include <cblas.h>
#include <omp.h>

extern "C" int openblas_get_parallel(void);

namespace ag {

void set_num_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int hardware_threads() {
  return omp_get_num_procs();
}

int get_num_threads() {
  return omp_get_max_threads();
}

bool blas_uses_openmp() {
  return openblas_get_parallel() == 2;
}

}  // namespace ag
