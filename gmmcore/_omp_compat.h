/* OpenMP when the compiler has it; serial stand-ins otherwise, so a build without
 * OpenMP still compiles and computes the same numbers (prange then runs serially). */
#ifndef GMMCORE_OMP_COMPAT_H
#define GMMCORE_OMP_COMPAT_H
#ifdef _OPENMP
#include <omp.h>
#define GMMCORE_OPENMP 1
#else
#define GMMCORE_OPENMP 0
static inline int omp_get_max_threads(void) { return 1; }
#endif
#endif
