/* The per-chunk loops of the fused pass, compiled once per instruction set.
 *
 * ``variant.c`` includes ``impl.h`` twice (float and double) and is compiled several
 * times with different target flags (baseline, x86-64-v3 = AVX2+FMA, x86-64-v4 =
 * AVX-512); each build exports one ``gmm_kernels`` table under its own name.
 * ``dispatch.c`` (compiled with the baseline flags) picks the table the CPU can run.
 *
 * Layout conventions (all row-major, all pointers non-aliasing):
 *   X      (c, d)    rows of a chunk, c <= GMM_CHUNK
 *   Xt     (d, cp)   the chunk transposed, cp = gmm_padded(c) columns, pad columns 0
 *   L / R  (k, ldl)  component-major log-densities, then weighted responsibilities;
 *                    columns c..cp of R are set to 0
 *   U      (d, d)    row-major upper-triangular factor of a precision
 * Accumulators (nk, s1, s2) are float64 and are added to, never overwritten.
 */
#ifndef GMM_SIMD_KERNELS_H
#define GMM_SIMD_KERNELS_H

#include <stddef.h>

#define GMM_CHUNK 256
/* Columns of a transposed chunk are padded to a multiple of GMM_PAD (a multiple of
 * every variant's row tile), so the tiled loops need no remainder code. */
#define GMM_PAD 32
/* log-densities this far below the row maximum get responsibility 0 (exp < 1e-304) */
#define GMM_EXP_NEGLIGIBLE (-700.0)
/* what stats adds to s2 */
#define GMM_S2_FULL 0
#define GMM_S2_DIAG 1
#define GMM_S2_NONE 2

static inline ptrdiff_t gmm_padded(ptrdiff_t c) { return (c + GMM_PAD - 1) / GMM_PAD * GMM_PAD; }

#define GMM_DECLARE(REAL, S)                                                            \
    /* Xt := X^T (pad columns zero) */                                                  \
    void (*transpose_##S)(const REAL *X, ptrdiff_t c, ptrdiff_t d, REAL *Xt);          \
    /* out[i] = log_norm - 0.5 ||(x_i - m) @ U||^2, squares summed in double;          \
       D is (d, cp) scratch */                                                          \
    void (*tri_log_prob_##S)(const REAL *Xt, ptrdiff_t cp, ptrdiff_t d, const REAL *m, \
                             const REAL *U, double log_norm, REAL *D, double *out);     \
    /* Y := (Xt - a)^T @ U, stored transposed (d, cp) */                                \
    void (*tri_project_##S)(const REAL *Xt, ptrdiff_t cp, ptrdiff_t d, const REAL *a,  \
                            const REAL *U, REAL *D, REAL *Y);                           \
    /* out[i] = log_norm - 0.5 sum_f ((Xt[f, i] - m[f]) * s[f])^2  (s NULL: 1) */      \
    void (*diag_log_prob_##S)(const REAL *Xt, ptrdiff_t cp, ptrdiff_t d, const REAL *m,\
                              const REAL *s, double log_norm, double *out);             \
    /* weighted statistics of component p, centred at m: nk += sum r, s1 += sum r D,   \
       by mode s2 += sum r D D^T (lower triangle of (d, d)), its diagonal, or nothing. \
       Rows with r == 0 are skipped.  D, E: (round_up(d, 4), cp), idx, rw: (cp) scratch */\
    void (*stats_##S)(const REAL *Xt, ptrdiff_t c, ptrdiff_t cp, ptrdiff_t d,          \
                      const REAL *m, const double *r, int mode, REAL *D, REAL *E,       \
                      int *idx, double *rw, double *nk, double *s1, double *s2);          \
    /* s2 += sum_i w_i (x_i - a)(x_i - a)^T, lower triangle, in double; w NULL: 1.     \
       Dd, Ed: (round_up(d, 4), cp) double scratch */                                   \
    void (*pooled_gram_##S)(const REAL *Xt, ptrdiff_t c, ptrdiff_t cp, ptrdiff_t d,    \
                            const REAL *a, const double *w, double *Dd, double *Ed,     \
                            double *s2);

typedef struct {
    const char *name;
    GMM_DECLARE(float, f)
    GMM_DECLARE(double, d)
    /* in place: L (k, ldl) log-densities -> weighted responsibilities; returns
       sum_i w_i logsumexp_p L[p, i].  w NULL: unit weights.  top, scale: (cp) */
    double (*responsibilities)(double *L, ptrdiff_t c, ptrdiff_t cp, ptrdiff_t k,
                               ptrdiff_t ldl, const double *w, double *top, double *scale);
    /* out[i] = exp(x[i]) for x in [-708, 0] (the vector exp, exposed for its test) */
    void (*vexp)(const double *x, ptrdiff_t n, double *out);
    /* out[i] = log(x[i]) for finite x >= 2^-1022 (the vector log, likewise) */
    void (*vlog)(const double *x, ptrdiff_t n, double *out);
} gmm_kernels;

#undef GMM_DECLARE

/* dispatch.c */
const gmm_kernels *gmm_kernels_named(const char *name); /* NULL: not built here */
int gmm_cpu_supports(const char *name);                 /* 1 if this CPU runs it */
const char *gmm_variant_name(int i);                    /* i-th variant built, or NULL */

#endif
