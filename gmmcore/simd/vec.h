/* Vector types of one variant: GCC/clang vector extensions of GMM_VEC_BYTES bytes (the
 * compiler emits exactly those instructions, whatever its auto-vectoriser would do),
 * or, for other compilers, plain scalars: the loops in impl.h are written once and
 * compile to either, because vector extensions broadcast a scalar operand.
 *
 * No type is wider than the hardware's vectors (wider ones are lowered through
 * memory): a float vector widens to GMM_WF double vectors, and back. */
#ifndef GMM_SIMD_VEC_H
#define GMM_SIMD_VEC_H

#include <stddef.h>
#include <string.h>

#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict
#endif

#if defined(__GNUC__) || defined(__clang__)
typedef float gmm_vf __attribute__((vector_size(GMM_VEC_BYTES)));
typedef double gmm_vd __attribute__((vector_size(GMM_VEC_BYTES)));
typedef float gmm_vhf __attribute__((vector_size(GMM_VEC_BYTES / 2)));
#define GMM_WF 2

#if GMM_VEC_BYTES == 16
#define GMM_LO 0, 1
#define GMM_HI 2, 3
#define GMM_ALL 0, 1, 2, 3
#elif GMM_VEC_BYTES == 32
#define GMM_LO 0, 1, 2, 3
#define GMM_HI 4, 5, 6, 7
#define GMM_ALL 0, 1, 2, 3, 4, 5, 6, 7
#else
#define GMM_LO 0, 1, 2, 3, 4, 5, 6, 7
#define GMM_HI 8, 9, 10, 11, 12, 13, 14, 15
#define GMM_ALL 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
#endif

/* halves in registers (a store and two narrower loads would stall store forwarding) */
static inline void gmm_widen_f(gmm_vf v, gmm_vd *out)
{
    out[0] = __builtin_convertvector(__builtin_shufflevector(v, v, GMM_LO), gmm_vd);
    out[1] = __builtin_convertvector(__builtin_shufflevector(v, v, GMM_HI), gmm_vd);
}

static inline gmm_vf gmm_narrow_f(const gmm_vd *v)
{
    gmm_vhf lo = __builtin_convertvector(v[0], gmm_vhf);
    gmm_vhf hi = __builtin_convertvector(v[1], gmm_vhf);
    return __builtin_shufflevector(lo, hi, GMM_ALL);
}
#else
typedef float gmm_vf;
typedef double gmm_vd;
#define GMM_WF 1

static inline void gmm_widen_f(gmm_vf v, gmm_vd *out) { out[0] = (double) v; }
static inline gmm_vf gmm_narrow_f(const gmm_vd *v) { return (float) v[0]; }
#endif

static inline gmm_vd gmm_load_d(const double *p) { gmm_vd v; memcpy(&v, p, sizeof v); return v; }

/* the lanes of a double vector, summed in order */
static inline double gmm_hsum_d(gmm_vd v)
{
    double lanes[sizeof(gmm_vd) / sizeof(double)];
    memcpy(lanes, &v, sizeof v);
    double total = 0.0;
    for (size_t t = 0; t < sizeof(gmm_vd) / sizeof(double); t++)
        total += lanes[t];
    return total;
}

/* whether x[0..n) are all finite; one vectorisable pass, no early exit */
static inline int gmm_all_finite(const double *x, ptrdiff_t n)
{
    int bad = 0;
    for (ptrdiff_t i = 0; i < n; i++)
        bad |= !(x[i] - x[i] == 0.0);          /* inf - inf and NaN - NaN are NaN */
    return !bad;
}

#define GMM_WD 1
static inline void gmm_widen_d(gmm_vd v, gmm_vd *out) { out[0] = v; }
static inline gmm_vd gmm_narrow_d(const gmm_vd *v) { return v[0]; }

#endif
