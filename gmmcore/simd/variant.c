/* One instruction-set variant of the chunk loops (see kernels.h).
 *
 * Compiled once per variant by setup.py with that variant's target flags and
 * -DGMM_VARIANT=<identifier> -DGMM_VARIANT_NAME="<name>" -DGMM_VEC_BYTES=<16|32|64>;
 * exports ``const gmm_kernels gmm_kernels_<identifier>``.
 */
#include <stdint.h>
#include <string.h>

#include "kernels.h"

#ifndef GMM_VARIANT
#define GMM_VARIANT baseline
#define GMM_VARIANT_NAME "baseline"
#endif
#ifndef GMM_VEC_BYTES
#define GMM_VEC_BYTES 16
#endif
#include "vec.h"

/* ------------------------------------------------------------------ vector exp
 * exp(x) for x in [-708, 0]: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite, ln2 split in
 * two so n * LN2_HI is exact), exp(r) by its Taylor polynomial of degree 13 (truncation
 * < 5e-18 relative), times 2^n built in the exponent bits.  Branch-free, so loops over
 * it vectorise; within 1 ulp of a correctly rounded exp on that range (tested against
 * libm). */
static inline double gmm_exp(double x)
{
    const double shift = 0x1.8p52;              /* 1.5 * 2^52: rounds to an integer */
    const double log2e = 0x1.71547652b82fep0;
    const double ln2_hi = 0x1.62e42fefa3800p-1; /* 43 significant bits */
    const double ln2_lo = 0x1.ef35793c76730p-45;
    double t = x * log2e + shift;
    double n = t - shift;
    double r = (x - n * ln2_hi) - n * ln2_lo;
    double p = 1.0 / 6227020800.0;              /* 1/13! */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    int64_t bits, shift_bits;
    memcpy(&bits, &t, sizeof bits);
    memcpy(&shift_bits, &shift, sizeof shift_bits);
    uint64_t scale_bits = (uint64_t) (bits - shift_bits + 1023) << 52;
    double scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    return p * scale;
}

/* ------------------------------------------------------------------ vector log
 * log(x) for finite x >= 2^-1022: x = 2^e m with m in [sqrt(1/2), sqrt(2)), s = (m - 1) /
 * (m + 1), log m = 2 atanh(s) = 2 s (1 + s^2/3 + ... + s^22/23) (|s| < 0.172: truncation
 * < 1e-18 relative), plus e ln 2 in two parts.  Branch-free; within 2 ulp of libm
 * (tested, also on the row totals in [1, n_components] it is used for). */
static inline double gmm_log(double x)
{
    const double ln2_hi = 0x1.62e42fefa3800p-1;
    const double ln2_lo = 0x1.ef35793c76730p-45;
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    /* the biased exponent as a double, exactly, by the 2^52 trick (no int64->double) */
    uint64_t eb = (bits >> 52) | 0x4330000000000000ULL;
    double e;
    memcpy(&e, &eb, sizeof e);
    e -= 0x1p52 + 1023.0;
    uint64_t mb = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double m;
    memcpy(&m, &mb, sizeof m);
    const int big = m > 0x1.6a09e667f3bcdp0;   /* sqrt(2) */
    m = big ? 0.5 * m : m;
    e = big ? e + 1.0 : e;
    const double f = m - 1.0;
    const double s = f / (2.0 + f);
    const double z = s * s;
    double p = 1.0 / 23.0;
    p = p * z + 1.0 / 21.0;
    p = p * z + 1.0 / 19.0;
    p = p * z + 1.0 / 17.0;
    p = p * z + 1.0 / 15.0;
    p = p * z + 1.0 / 13.0;
    p = p * z + 1.0 / 11.0;
    p = p * z + 1.0 / 9.0;
    p = p * z + 1.0 / 7.0;
    p = p * z + 1.0 / 5.0;
    p = p * z + 1.0 / 3.0;
    const double two_s = 2.0 * s;
    return e * ln2_hi + (two_s + (two_s * z * p + e * ln2_lo));
}

static void vlog(const double *restrict x, ptrdiff_t n, double *restrict out)
{
    for (ptrdiff_t i = 0; i < n; i++)
        out[i] = gmm_log(x[i]);
}

static void vexp(const double *restrict x, ptrdiff_t n, double *restrict out)
{
    for (ptrdiff_t i = 0; i < n; i++)
        out[i] = gmm_exp(x[i]);
}

static double responsibilities(double *restrict L, ptrdiff_t c, ptrdiff_t cp,
                               ptrdiff_t k, ptrdiff_t ldl, const double *restrict w,
                               double *restrict top, double *restrict scale)
{
    for (ptrdiff_t i = 0; i < c; i++)
        top[i] = L[i];
    for (ptrdiff_t p = 1; p < k; p++) {
        const double *restrict row = L + p * ldl;
        for (ptrdiff_t i = 0; i < c; i++)
            top[i] = row[i] > top[i] ? row[i] : top[i];
    }
    for (ptrdiff_t i = 0; i < c; i++)
        scale[i] = 0.0;
    for (ptrdiff_t p = 0; p < k; p++) {
        double *restrict row = L + p * ldl;
        for (ptrdiff_t i = 0; i < c; i++) {
            /* z < -700: exp(z) < 1e-304 next to the row maximum's 1, nothing */
            const double z = row[i] - top[i];
            const double e = gmm_exp(z > -708.0 ? z : -708.0);
            row[i] = z < GMM_EXP_NEGLIGIBLE ? 0.0 : e;
            scale[i] += row[i];
        }
    }
    /* top := the log of the row totals (in [1, k]) plus the row maxima; a zero-weight
       row adds nothing, even where its densities are -inf */
    for (ptrdiff_t i = 0; i < c; i++)
        top[i] += gmm_log(scale[i]);
    double ll = 0.0;
    for (ptrdiff_t i = 0; i < c; i++) {
        const double wi = (w == NULL) ? 1.0 : w[i];
        ll += wi == 0.0 ? 0.0 : wi * top[i];
        scale[i] = wi == 0.0 ? 0.0 : wi / scale[i];
    }
    for (ptrdiff_t p = 0; p < k; p++) {
        double *restrict row = L + p * ldl;
        for (ptrdiff_t i = 0; i < c; i++)
            row[i] = scale[i] == 0.0 ? 0.0 : row[i] * scale[i];
        for (ptrdiff_t i = c; i < cp; i++)
            row[i] = 0.0;
    }
    return ll;
}

#define REAL double
#define S d
#define VR gmm_vd
#define WN GMM_WD
#include "impl.h"
#undef REAL
#undef S
#undef VR
#undef WN

#define REAL float
#define S f
#define VR gmm_vf
#define WN GMM_WF
#include "impl.h"
#undef REAL
#undef S
#undef VR
#undef WN

#define TABLE_(v) gmm_kernels_##v
#define TABLE(v) TABLE_(v)

const gmm_kernels TABLE(GMM_VARIANT) = {
    GMM_VARIANT_NAME,
    transpose_f, tri_log_prob_f, tri_project_f, diag_log_prob_f, stats_f, pooled_gram_f,
    transpose_d, tri_log_prob_d, tri_project_d, diag_log_prob_d, stats_d, pooled_gram_d,
    responsibilities,
    vexp,
    vlog,
};
