// Thread-count control for the OpenMP kernels. Built without OpenMP, everything runs on one thread.
#pragma once

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rtmer {

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

inline void set_threads(int n) {
#ifdef _OPENMP
  if (n > 0) omp_set_num_threads(n);
#else
  (void)n;
#endif
}

}  // namespace rtmer

namespace rtmer {

inline int omp_threads_in_team() {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

inline int omp_thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

}  // namespace rtmer
