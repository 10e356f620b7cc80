/* The loops behind ``gmm_kernels``, for one floating type.  Included by variant.c
 * with REAL (float or double), S (its suffix, f or d), VR (the vector of REAL) and WN
 * (how many double vectors hold VR's lanes) defined.
 *
 * Every loop runs over the rows of a transposed chunk (unit stride), in tiles of
 * TILE = 2 vectors of rows, with explicit vector accumulators (vec.h).  Accumulations
 * run in a fixed order per lane; lanes are summed in a fixed order at the end, so the
 * only difference between variants is the vector width's lane assignment and fused
 * multiply-adds.  Sums of squares are formed in double, or, for float32, in float32
 * unless one overflows; the statistics are summed in REAL lanes over at most a chunk,
 * then in double.
 */

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(CAT(name, _), S)
#define NL ((ptrdiff_t) (sizeof(VR) / sizeof(REAL)))
#define TILE (2 * NL)

typedef gmm_vd FN(wide)[WN];            /* VR's lanes, as doubles */
#define VW FN(wide)

static inline VR FN(load)(const REAL *p) { VR v; memcpy(&v, p, sizeof v); return v; }
static inline void FN(store)(REAL *p, VR v) { memcpy(p, &v, sizeof v); }
static inline void FN(loadw)(const double *p, VW out)
{
    for (int q = 0; q < WN; q++)
        out[q] = gmm_load_d(p + q * (ptrdiff_t) (sizeof(gmm_vd) / sizeof(double)));
}
static inline double FN(hsum)(const VW v)
{
    double total = 0.0;
    for (int w = 0; w < WN; w++)
        total += gmm_hsum_d(v[w]);
    return total;
}
/* acc += y^2, lane by lane, in double */
static inline void FN(add_squares)(VW acc, VR y)
{
    VW w;
    CAT(gmm_widen_, S)(y, w);
    for (int q = 0; q < WN; q++)
        acc[q] += w[q] * w[q];
}
/* out[t] = log_norm - 0.5 sq[t] for the TILE rows whose squares are in sq (2 VW) */
static inline void FN(store_log_prob)(double *out, double log_norm, const gmm_vd *sq)
{
    double lanes[TILE];
    memcpy(lanes, sq, sizeof lanes);
    for (ptrdiff_t t = 0; t < TILE; t++)
        out[t] = log_norm - 0.5 * lanes[t];
}

#define NARROW (sizeof(REAL) < sizeof(double))

static void FN(transpose)(const REAL *restrict X, ptrdiff_t c, ptrdiff_t d,
                          REAL *restrict Xt)
{
    ptrdiff_t cp = gmm_padded(c);
    for (ptrdiff_t f = 0; f < d; f++) {
        REAL *restrict row = Xt + f * cp;
        for (ptrdiff_t i = 0; i < c; i++)
            row[i] = X[i * d + f];
        for (ptrdiff_t i = c; i < cp; i++)
            row[i] = 0;
    }
}

/* D := Xt - m (feature rows) */
static inline void FN(centre)(const REAL *restrict Xt, ptrdiff_t cp, ptrdiff_t d,
                              const REAL *restrict m, REAL *restrict D)
{
    for (ptrdiff_t f = 0; f < d; f++) {
        const REAL mf = m[f];
        for (ptrdiff_t i = 0; i < cp; i += NL)
            FN(store)(D + f * cp + i, FN(load)(Xt + f * cp + i) - mf);
    }
}

/* For the rows i0..i0+TILE: y_g = sum_{f <= g} D[f] U[f, g], for all g < d, in blocks
   of four g (eight independent vector chains); stored in Y, or squared and summed into
   sqr (in REAL) or else into sq (in double). */
static inline void FN(tri_rows)(const REAL *restrict D, ptrdiff_t cp, ptrdiff_t d,
                                const REAL *restrict U, ptrdiff_t i0,
                                gmm_vd *restrict sq, VR *restrict sqr, REAL *restrict Y)
{
    const VR zero = {0};
    ptrdiff_t g = 0;
    for (; g + 4 <= d; g += 4) {
        VR a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        VR b0 = zero, b1 = zero, b2 = zero, b3 = zero;
        for (ptrdiff_t f = 0; f <= g + 3; f++) {
            const VR x0 = FN(load)(D + f * cp + i0), x1 = FN(load)(D + f * cp + i0 + NL);
            const REAL *u = U + f * d + g;
            a0 += x0 * u[0]; b0 += x1 * u[0];
            a1 += x0 * u[1]; b1 += x1 * u[1];
            a2 += x0 * u[2]; b2 += x1 * u[2];
            a3 += x0 * u[3]; b3 += x1 * u[3];
        }
        if (Y != NULL) {
            FN(store)(Y + g * cp + i0, a0); FN(store)(Y + g * cp + i0 + NL, b0);
            FN(store)(Y + (g + 1) * cp + i0, a1); FN(store)(Y + (g + 1) * cp + i0 + NL, b1);
            FN(store)(Y + (g + 2) * cp + i0, a2); FN(store)(Y + (g + 2) * cp + i0 + NL, b2);
            FN(store)(Y + (g + 3) * cp + i0, a3); FN(store)(Y + (g + 3) * cp + i0 + NL, b3);
        } else if (sqr != NULL) {
            sqr[0] += (a0 * a0 + a1 * a1) + (a2 * a2 + a3 * a3);
            sqr[1] += (b0 * b0 + b1 * b1) + (b2 * b2 + b3 * b3);
        } else {
            FN(add_squares)(sq, a0); FN(add_squares)(sq + WN, b0);
            FN(add_squares)(sq, a1); FN(add_squares)(sq + WN, b1);
            FN(add_squares)(sq, a2); FN(add_squares)(sq + WN, b2);
            FN(add_squares)(sq, a3); FN(add_squares)(sq + WN, b3);
        }
    }
    for (; g < d; g++) {
        VR a = zero, b = zero;
        for (ptrdiff_t f = 0; f <= g; f++) {
            const REAL u = U[f * d + g];
            a += FN(load)(D + f * cp + i0) * u;
            b += FN(load)(D + f * cp + i0 + NL) * u;
        }
        if (Y != NULL) {
            FN(store)(Y + g * cp + i0, a);
            FN(store)(Y + g * cp + i0 + NL, b);
        } else if (sqr != NULL) {
            sqr[0] += a * a;
            sqr[1] += b * b;
        } else {
            FN(add_squares)(sq, a);
            FN(add_squares)(sq + WN, b);
        }
    }
}

/* The same for the diagonal layout: sum_f ((Xt[f] - m[f]) * s[f])^2 (s NULL: 1). */
static inline void FN(diag_rows)(const REAL *restrict Xt, ptrdiff_t cp, ptrdiff_t d,
                                 const REAL *restrict m, const REAL *restrict s,
                                 ptrdiff_t i0, gmm_vd *restrict sq, VR *restrict sqr)
{
    for (ptrdiff_t f = 0; f < d; f++) {
        const REAL mf = m[f], sf = (s == NULL) ? (REAL) 1 : s[f];
        const VR z0 = (FN(load)(Xt + f * cp + i0) - mf) * sf;
        const VR z1 = (FN(load)(Xt + f * cp + i0 + NL) - mf) * sf;
        if (sqr != NULL) {
            sqr[0] += z0 * z0;
            sqr[1] += z1 * z1;
        } else {
            FN(add_squares)(sq, z0);
            FN(add_squares)(sq + WN, z1);
        }
    }
}

/* out[i] = log_norm - 0.5 * (row i's sum of squares), by tri_rows (A = the centred rows
   D, with U) or by diag_rows (A = Xt, with m and s); ``tri`` is a constant at each call,
   so the choice folds away.  float32 sums its squares in float and, if one overflowed,
   the component again in double (a float32 1e20 is far, not infinitely far). */
static inline void FN(log_prob_tiles)(int tri, const REAL *restrict A, ptrdiff_t cp,
                                      ptrdiff_t d, const REAL *restrict U,
                                      const REAL *restrict m, const REAL *restrict s,
                                      double log_norm, double *restrict out)
{
    if (NARROW) {
        for (ptrdiff_t i0 = 0; i0 < cp; i0 += TILE) {
            VR sqr[2] = {{0}, {0}};
            gmm_vd sq[2 * WN];
            if (tri)
                FN(tri_rows)(A, cp, d, U, i0, NULL, sqr, NULL);
            else
                FN(diag_rows)(A, cp, d, m, s, i0, NULL, sqr);
            CAT(gmm_widen_, S)(sqr[0], sq);
            CAT(gmm_widen_, S)(sqr[1], sq + WN);
            FN(store_log_prob)(out + i0, log_norm, sq);
        }
        if (gmm_all_finite(out, cp))
            return;
    }
    for (ptrdiff_t i0 = 0; i0 < cp; i0 += TILE) {
        gmm_vd sq[2 * WN] = {0};
        if (tri)
            FN(tri_rows)(A, cp, d, U, i0, sq, NULL, NULL);
        else
            FN(diag_rows)(A, cp, d, m, s, i0, sq, NULL);
        FN(store_log_prob)(out + i0, log_norm, sq);
    }
}

static void FN(tri_log_prob)(const REAL *restrict Xt, ptrdiff_t cp, ptrdiff_t d,
                             const REAL *restrict m, const REAL *restrict U,
                             double log_norm, REAL *restrict D, double *restrict out)
{
    FN(centre)(Xt, cp, d, m, D);
    FN(log_prob_tiles)(1, D, cp, d, U, NULL, NULL, log_norm, out);
}

static void FN(diag_log_prob)(const REAL *restrict Xt, ptrdiff_t cp, ptrdiff_t d,
                              const REAL *restrict m, const REAL *restrict s,
                              double log_norm, double *restrict out)
{
    FN(log_prob_tiles)(0, Xt, cp, d, NULL, m, s, log_norm, out);
}

static void FN(tri_project)(const REAL *restrict Xt, ptrdiff_t cp, ptrdiff_t d,
                            const REAL *restrict a, const REAL *restrict U,
                            REAL *restrict D, REAL *restrict Y)
{
    gmm_vd unused[2 * WN] = {0};        /* tri_rows stores into Y, squares nothing */
    FN(centre)(Xt, cp, d, a, D);
    for (ptrdiff_t i0 = 0; i0 < cp; i0 += TILE)
        FN(tri_rows)(D, cp, d, U, i0, unused, NULL, Y);
}

/* s2 (lower triangle, off the diagonal) += E D^T over np columns of d (dp) rows */
static void FN(gram)(const REAL *restrict E, const REAL *restrict D, ptrdiff_t np,
                     ptrdiff_t d, ptrdiff_t dp, double *restrict s2)
{
    const VR zero = {0};
    if (d < 4) {
        /* off-diagonal pairs one by one (at most three) */
        for (ptrdiff_t f = 1; f < d; f++)
            for (ptrdiff_t g = 0; g < f; g++) {
                VR a = zero, b = zero;
                for (ptrdiff_t j = 0; j < np; j += 2 * NL) {
                    a += FN(load)(E + f * np + j) * FN(load)(D + g * np + j);
                    b += FN(load)(E + f * np + j + NL) * FN(load)(D + g * np + j + NL);
                }
                VW w;
                CAT(gmm_widen_, S)(a + b, w);
                s2[f * d + g] += FN(hsum)(w);
            }
        return;
    }
    /* 4 x 2 blocks of (f, g), f > g: eight vector accumulators, six loads per eight
       multiply-adds */
    for (ptrdiff_t f0 = 0; f0 < dp; f0 += 4) {
        for (ptrdiff_t g0 = 0; g0 < f0 + 4 && g0 < d; g0 += 2) {
            VR a00 = zero, a01 = zero, a10 = zero, a11 = zero;
            VR a20 = zero, a21 = zero, a30 = zero, a31 = zero;
            for (ptrdiff_t j = 0; j < np; j += NL) {
                const VR d0 = FN(load)(D + g0 * np + j), d1 = FN(load)(D + (g0 + 1) * np + j);
                const VR e0 = FN(load)(E + f0 * np + j), e1 = FN(load)(E + (f0 + 1) * np + j);
                const VR e2 = FN(load)(E + (f0 + 2) * np + j), e3 = FN(load)(E + (f0 + 3) * np + j);
                a00 += e0 * d0; a01 += e0 * d1;
                a10 += e1 * d0; a11 += e1 * d1;
                a20 += e2 * d0; a21 += e2 * d1;
                a30 += e3 * d0; a31 += e3 * d1;
            }
            const VR acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 2; b++) {
                    const ptrdiff_t f = f0 + a, g = g0 + b;
                    if (f < d && g < f) {
                        VW w;
                        CAT(gmm_widen_, S)(acc[a][b], w);
                        s2[f * d + g] += FN(hsum)(w);
                    }
                }
        }
    }
}

/* Statistics of one component.  D := the centred rows with r > 0 (all rows when most
   have r > 0), E := r D, rw := their r, padded with zero columns (and, from d = 4,
   zero rows up to a multiple of 4); then nk += sum_j rw_j, s1[f] += sum_j E[f, j] and,
   by mode, s2[f, g] += sum_j E[f, j] D[g, j] (GMM_S2_FULL), its diagonal
   (GMM_S2_DIAG) or nothing (GMM_S2_NONE: D and E are then not stored). */
static void FN(stats)(const REAL *restrict Xt, ptrdiff_t c, ptrdiff_t cp, ptrdiff_t d,
                      const REAL *restrict m, const double *restrict r, int mode,
                      REAL *restrict D, REAL *restrict E, int *restrict idx,
                      double *restrict rw, double *restrict nk, double *restrict s1,
                      double *restrict s2)
{
    ptrdiff_t n = 0;
    for (ptrdiff_t i = 0; i < c; i++)
        n += (r[i] != 0.0);
    if (n == 0)
        return;
    /* gathering the rows with r > 0 pays when they are few and the Gram matrix is big
       (measured: at d = 2 the dense pass is faster even with 1 row in 5) */
    const int dense = 2 * n > c || d < 8;
    const int gram = mode == GMM_S2_FULL;
    if (!dense) {
        ptrdiff_t j = 0;
        for (ptrdiff_t i = 0; i < c; i++) {
            idx[j] = (int) i;
            j += (r[i] != 0.0);
        }
    }
    const ptrdiff_t np = dense ? cp : gmm_padded(n);
    const ptrdiff_t dp = d < 4 ? d : (d + 3) / 4 * 4;   /* rows of D and E */
    const double *restrict rr = dense ? r : rw;   /* columns c..cp of r are 0 */
    if (!dense) {
        for (ptrdiff_t j = 0; j < n; j++)
            rw[j] = r[idx[j]];
        for (ptrdiff_t f = 0; f < d; f++) {
            const REAL *restrict x = Xt + f * cp;
            REAL *restrict dv = D + f * np;
            const REAL mf = m[f];
            for (ptrdiff_t j = 0; j < n; j++)
                dv[j] = x[idx[j]] - mf;
            for (ptrdiff_t j = n; j < np; j++)
                dv[j] = 0;
        }
        for (ptrdiff_t j = n; j < np; j++)
            rw[j] = 0.0;
    }
    {
        VW total = {0}, rv;
        for (ptrdiff_t j = 0; j < np; j += NL) {
            FN(loadw)(rr + j, rv);
            for (int q = 0; q < WN; q++)
                total[q] += rv[q];
        }
        *nk += FN(hsum)(total);
    }
    /* the responsibilities in REAL: E = r D, its sum (S1) and E D's diagonal summed in
       REAL lanes over at most GMM_CHUNK / NL rows each, then in double (float32
       statistics thus carry float32 rounding per chunk, as a float32 syrk would) */
    REAL rbuf[GMM_CHUNK];
    const REAL *restrict rv;
    if (sizeof(REAL) == sizeof(double)) {
        rv = (const REAL *) rr;
    } else {
        for (ptrdiff_t j = 0; j < np; j++)
            rbuf[j] = (REAL) rr[j];
        rv = rbuf;
    }
    const VR zero = {0};
    for (ptrdiff_t f = 0; f < dp; f++) {
        REAL *restrict dv = D + f * np;
        REAL *restrict ev = E + f * np;
        if (f >= d) {
            memset(dv, 0, np * sizeof(REAL));
            memset(ev, 0, np * sizeof(REAL));
            continue;
        }
        /* dense rows are centred here (and stored for the Gram matrix only) */
        const REAL *restrict src = dense ? Xt + f * cp : dv;
        const REAL mf = dense ? m[f] : (REAL) 0;
        /* two independent sets of accumulators: the adds are latency-bound */
        VR a1 = zero, a2 = zero, b1 = zero, b2 = zero;
        for (ptrdiff_t j = 0; j < np; j += 2 * NL) {   /* np is a multiple of 2 NL */
            const VR z = FN(load)(src + j) - mf, y = FN(load)(src + j + NL) - mf;
            const VR ez = FN(load)(rv + j) * z, ey = FN(load)(rv + j + NL) * y;
            if (gram) {
                FN(store)(dv + j, z);
                FN(store)(dv + j + NL, y);
                FN(store)(ev + j, ez);
                FN(store)(ev + j + NL, ey);
            }
            a1 += ez;
            b1 += ey;
            a2 += ez * z;
            b2 += ey * y;
        }
        VW w1, w2;
        CAT(gmm_widen_, S)(a1 + b1, w1);
        s1[f] += FN(hsum)(w1);
        if (mode == GMM_S2_NONE)
            continue;
        CAT(gmm_widen_, S)(a2 + b2, w2);
        s2[mode == GMM_S2_DIAG ? f : f * d + f] += FN(hsum)(w2);
    }
    if (gram)
        FN(gram)(E, D, np, d, dp, s2);
}

/* The pooled second moment of a chunk about a (tied): s2 += sum_i w_i (x_i - a)(x_i -
   a)^T (lower triangle), formed in double (Dd, Ed: (dp, cp) double scratch), one Gram
   matrix for all components; the caller moves it to the component means with their
   N_k and S1_k. */
static void FN(pooled_gram)(const REAL *restrict Xt, ptrdiff_t c, ptrdiff_t cp,
                            ptrdiff_t d, const REAL *restrict a, const double *restrict w,
                            double *restrict Dd, double *restrict Ed, double *restrict s2)
{
    const ptrdiff_t dp = d < 4 ? d : (d + 3) / 4 * 4;
    for (ptrdiff_t f = 0; f < dp; f++) {
        double *restrict dv = Dd + f * cp;
        double *restrict ev = Ed + f * cp;
        if (f >= d) {
            memset(dv, 0, cp * sizeof(double));
            memset(ev, 0, cp * sizeof(double));
            continue;
        }
        const REAL *restrict x = Xt + f * cp;
        const double af = (double) a[f];
        double lanes[GMM_PAD] = {0};
        for (ptrdiff_t i0 = 0; i0 < cp; i0 += GMM_PAD)
            for (ptrdiff_t t = 0; t < GMM_PAD; t++) {
                const ptrdiff_t i = i0 + t;
                const double wi = i < c ? (w == NULL ? 1.0 : w[i]) : 0.0;
                const double z = (double) x[i] - af;
                dv[i] = z;
                ev[i] = wi * z;
                lanes[t] += wi * z * z;
            }
        double total = 0.0;
        for (ptrdiff_t t = 0; t < GMM_PAD; t++)
            total += lanes[t];
        s2[f * d + f] += total;
    }
    gram_d(Ed, Dd, cp, d, dp, s2);
}

#undef NARROW
#undef VW
#undef TILE
#undef NL
#undef FN
