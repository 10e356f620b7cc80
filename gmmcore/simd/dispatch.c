/* Which variants of the chunk loops were built, and which this CPU can run.
 *
 * Compiled with the baseline flags.  setup.py defines GMM_HAVE_X86_64_V3 and
 * GMM_HAVE_X86_64_V4 for the variants it compiled (x86-64 with GCC or clang only).
 * The CPU is asked with __builtin_cpu_supports, which also checks that the operating
 * system saves the wide registers (XSAVE/XCR0).
 */
#include <string.h>

#include "kernels.h"

extern const gmm_kernels gmm_kernels_baseline;
#ifdef GMM_HAVE_X86_64_V3
extern const gmm_kernels gmm_kernels_x86_64_v3;
#endif
#ifdef GMM_HAVE_X86_64_V4
extern const gmm_kernels gmm_kernels_x86_64_v4;
#endif

static const gmm_kernels *const VARIANTS[] = {
    &gmm_kernels_baseline,
#ifdef GMM_HAVE_X86_64_V3
    &gmm_kernels_x86_64_v3,
#endif
#ifdef GMM_HAVE_X86_64_V4
    &gmm_kernels_x86_64_v4,
#endif
};
#define N_VARIANTS ((int) (sizeof VARIANTS / sizeof VARIANTS[0]))

const char *gmm_variant_name(int i)
{
    return (i >= 0 && i < N_VARIANTS) ? VARIANTS[i]->name : NULL;
}

const gmm_kernels *gmm_kernels_named(const char *name)
{
    for (int i = 0; i < N_VARIANTS; i++)
        if (strcmp(VARIANTS[i]->name, name) == 0)
            return VARIANTS[i];
    return NULL;
}

int gmm_cpu_supports(const char *name)
{
    if (strcmp(name, "baseline") == 0)
        return 1;
#if defined(GMM_HAVE_X86_64_V3) || defined(GMM_HAVE_X86_64_V4)
    __builtin_cpu_init();
    /* x86-64-v3: what -march=x86-64-v3 may emit */
    int v3 = __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2")
          && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi")
          && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("f16c")
          && __builtin_cpu_supports("lzcnt") && __builtin_cpu_supports("movbe");
    if (strcmp(name, "x86-64-v3") == 0)
        return v3;
    if (strcmp(name, "x86-64-v4") == 0)
        return v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512vl");
#endif
    return 0;
}
