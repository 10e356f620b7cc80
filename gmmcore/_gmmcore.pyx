"""The fused, chunked pass over the data.

Every estimator in gaussmix needs, per component k, the Gaussian log-densities

    log_prob[n, k] = log_norm[k] - 0.5 * ||(x_n - m_k) @ U_k||^2

(``U_k`` the upper-triangular Cholesky factor of the precision, or its diagonal, and
``log_norm`` everything that does not depend on x: log-weight, log-determinant,
-d/2 log 2pi, or the variational expectations of those), then the responsibilities
r_nk = w_n softmax_k(log_prob[n]) and the sufficient statistics

    N_k  = sum_n r_nk
    S1_k = sum_n r_nk (x_n - m_k)
    S2_k = sum_n r_nk (x_n - m_k)(x_n - m_k)^T      (or its diagonal)

centred at the current means m_k so that data far from the origin loses no digits.
``accumulate_stats`` computes all of that in one pass over row chunks, in parallel,
into thread-local float64 accumulators; ``log_prob`` is the first half alone.

Two precision layouts cover the four covariance types:

* triangular (``diagonal=False``): ``factors`` is (kp, d*d), each row a row-major upper
  triangular U.  full: kp = k.  tied: kp = 1 with ``anchors`` (1, d) a reference point
  and ``offsets[k] = (m_k - anchor) @ U``, so X @ U is computed once per chunk for all
  components: (x - m_k) @ U = (x - anchor) @ U - offsets[k].
* diagonal (``diagonal=True``): ``factors`` is (k, d), the square roots of the diagonal
  precisions.  diag and spherical (a constant row) both use it.

Statistics arrays: ``s2`` is (k, d*d) per component, (1, d*d) pooled over components
(tied), or (k, d) diagonal.  Triangular ``s2`` rows hold the *lower* triangle of the
row-major d x d matrix; the caller symmetrises.

How a chunk is computed
-----------------------
Up to ``SMALL_D_MAX`` features (128; 64 in float32), and for the diagonal layout at
any d, a chunk runs in the C loops of ``simd/`` with no BLAS call: the chunk is
transposed once, so every loop runs over rows with unit stride, in explicit vector
registers; log-densities are
component-major, (k, rows); the exp and log of the softmax are branch-free vector
polynomials; each component's statistics gather its rows with r > 0 (all rows, when
most have one), then form r D and the weighted Gram matrix in 4 x 2 register blocks.
Above ``SMALL_D_MAX`` the projection and the Gram matrices are BLAS level 3 (one trmm
and one syrk per component per chunk).  Those loops are compiled for several
instruction sets and one is chosen at import (``set_variant``; see
``gaussmix._kernel``).
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.math cimport sqrt

import numpy as np

from _gmmcore_linalg cimport syrk_gram, trmm_right_upper

cdef extern from "_omp_compat.h":
    int omp_get_max_threads() noexcept nogil
    int GMMCORE_OPENMP

cdef extern from "simd/kernels.h":
    enum:
        GMM_CHUNK
        GMM_PAD
        GMM_S2_FULL
        GMM_S2_DIAG
        GMM_S2_NONE
    ctypedef struct gmm_kernels:
        const char *name
        void transpose_f(const float *X, Py_ssize_t c, Py_ssize_t d, float *Xt) noexcept nogil
        void tri_log_prob_f(const float *Xt, Py_ssize_t cp, Py_ssize_t d, const float *m,
                            const float *U, double log_norm, float *D, double *out) noexcept nogil
        void tri_project_f(const float *Xt, Py_ssize_t cp, Py_ssize_t d, const float *a,
                           const float *U, float *D, float *Y) noexcept nogil
        void diag_log_prob_f(const float *Xt, Py_ssize_t cp, Py_ssize_t d, const float *m,
                             const float *s, double log_norm, double *out) noexcept nogil
        void stats_f(const float *Xt, Py_ssize_t c, Py_ssize_t cp, Py_ssize_t d,
                     const float *m, const double *r, int mode, float *D, float *E,
                     int *idx, double *rw, double *nk, double *s1, double *s2) noexcept nogil
        void pooled_gram_f(const float *Xt, Py_ssize_t c, Py_ssize_t cp, Py_ssize_t d,
                           const float *a, const double *w, double *Dd, double *Ed,
                           double *s2) noexcept nogil
        void transpose_d(const double *X, Py_ssize_t c, Py_ssize_t d, double *Xt) noexcept nogil
        void tri_log_prob_d(const double *Xt, Py_ssize_t cp, Py_ssize_t d, const double *m,
                            const double *U, double log_norm, double *D, double *out) noexcept nogil
        void tri_project_d(const double *Xt, Py_ssize_t cp, Py_ssize_t d, const double *a,
                           const double *U, double *D, double *Y) noexcept nogil
        void diag_log_prob_d(const double *Xt, Py_ssize_t cp, Py_ssize_t d, const double *m,
                             const double *s, double log_norm, double *out) noexcept nogil
        void stats_d(const double *Xt, Py_ssize_t c, Py_ssize_t cp, Py_ssize_t d,
                     const double *m, const double *r, int mode, double *D, double *E,
                     int *idx, double *rw, double *nk, double *s1, double *s2) noexcept nogil
        void pooled_gram_d(const double *Xt, Py_ssize_t c, Py_ssize_t cp, Py_ssize_t d,
                           const double *a, const double *w, double *Dd, double *Ed,
                           double *s2) noexcept nogil
        double responsibilities(double *L, Py_ssize_t c, Py_ssize_t cp, Py_ssize_t k,
                                Py_ssize_t ldl, const double *w, double *top,
                                double *scale) noexcept nogil
        void vexp(const double *x, Py_ssize_t n, double *out) noexcept nogil
        void vlog(const double *x, Py_ssize_t n, double *out) noexcept nogil
    Py_ssize_t gmm_padded(Py_ssize_t c) noexcept nogil
    const gmm_kernels *gmm_kernels_named(const char *name) noexcept
    int gmm_cpu_supports(const char *name) noexcept
    const char *gmm_variant_name(int i) noexcept

# Rows per task: a chunk, its transpose, its log-densities and the statistics' scratch
# stay in L2 cache.  A multiple of GMM_PAD, so a full chunk needs no padding.
cdef enum:
    _CHUNK = GMM_CHUNK

CHUNK_SIZE = _CHUNK
OPENMP_ENABLED = bool(GMMCORE_OPENMP)
# Up to this many features the log-densities and statistics run in the compiled loops
# of simd/ (vectorised over rows, no BLAS call); above it BLAS level 3 (one trmm and
# one syrk per component and chunk).  Measured (benchmarks/bench_kernel.py): the loops
# are faster at d = 64 in both precisions and at d = 128 in float64; at d = 128 in
# float32 BLAS is up to 12 % faster on overlapping data.
SMALL_D_MAX = 128
SMALL_D_MAX_FLOAT32 = 64


def _use_compiled_loops(Py_ssize_t d, bint diagonal, Py_ssize_t itemsize):
    return diagonal or d <= (SMALL_D_MAX if itemsize == 8 else SMALL_D_MAX_FLOAT32)


def openmp_max_threads():
    """Threads an OpenMP parallel region would use (OMP_NUM_THREADS, threadpoolctl)."""
    return omp_get_max_threads()


# ------------------------------------------------------------- instruction sets
cdef const gmm_kernels *_ACTIVE = gmm_kernels_named(b"baseline")


def built_variants():
    """Names of the instruction-set variants of the loops compiled into this module."""
    names = []
    cdef int i = 0
    while gmm_variant_name(i) != NULL:
        names.append(gmm_variant_name(i).decode())
        i += 1
    return names


def cpu_supports(str name):
    """Whether this CPU (and its operating system) can run variant ``name``."""
    return bool(gmm_cpu_supports(name.encode()))


def set_variant(str name):
    """Make ``name`` the variant every later call uses; checked, never forced blindly."""
    global _ACTIVE
    cdef bytes key = name.encode()
    cdef const gmm_kernels *table = gmm_kernels_named(key)
    if table == NULL:
        raise ValueError(f"unknown kernel variant {name!r}; built: {built_variants()}")
    if not gmm_cpu_supports(key):
        raise RuntimeError(f"this CPU cannot run the kernel variant {name!r}")
    _ACTIVE = table


def variant():
    """Name of the variant in use."""
    return _ACTIVE.name.decode()


def vexp(const double[::1] x, double[::1] out):
    """``out = exp(x)`` by the active variant's vector exp (x in [-708, 0])."""
    if out.shape[0] != x.shape[0]:
        raise ValueError("x and out must have the same length")
    if x.shape[0]:
        _ACTIVE.vexp(&x[0], x.shape[0], &out[0])


def vlog(const double[::1] x, double[::1] out):
    """``out = log(x)`` by the active variant's vector log (finite x >= 2**-1022)."""
    if out.shape[0] != x.shape[0]:
        raise ValueError("x and out must have the same length")
    if x.shape[0]:
        _ACTIVE.vlog(&x[0], x.shape[0], &out[0])


# ------------------------------------------------- the compiled loops, per dtype
cdef inline void _transpose(const gmm_kernels *K, const floating *X, Py_ssize_t c,
                            Py_ssize_t d, floating *Xt) noexcept nogil:
    if floating is float:
        K.transpose_f(X, c, d, Xt)
    else:
        K.transpose_d(X, c, d, Xt)


cdef inline void _tri_log_prob(const gmm_kernels *K, const floating *Xt, Py_ssize_t cp,
                               Py_ssize_t d, const floating *m, const floating *U,
                               double log_norm, floating *D, double *out) noexcept nogil:
    if floating is float:
        K.tri_log_prob_f(Xt, cp, d, m, U, log_norm, D, out)
    else:
        K.tri_log_prob_d(Xt, cp, d, m, U, log_norm, D, out)


cdef inline void _tri_project(const gmm_kernels *K, const floating *Xt, Py_ssize_t cp,
                              Py_ssize_t d, const floating *a, const floating *U,
                              floating *D, floating *Y) noexcept nogil:
    if floating is float:
        K.tri_project_f(Xt, cp, d, a, U, D, Y)
    else:
        K.tri_project_d(Xt, cp, d, a, U, D, Y)


cdef inline void _diag_log_prob(const gmm_kernels *K, const floating *Xt, Py_ssize_t cp,
                                Py_ssize_t d, const floating *m, const floating *s,
                                double log_norm, double *out) noexcept nogil:
    if floating is float:
        K.diag_log_prob_f(Xt, cp, d, m, s, log_norm, out)
    else:
        K.diag_log_prob_d(Xt, cp, d, m, s, log_norm, out)


cdef inline void _stats(const gmm_kernels *K, const floating *Xt, Py_ssize_t c,
                        Py_ssize_t cp, Py_ssize_t d, const floating *m, const double *r,
                        int mode, floating *D, floating *E, int *idx, double *rw,
                        double *nk, double *s1, double *s2) noexcept nogil:
    if floating is float:
        K.stats_f(Xt, c, cp, d, m, r, mode, D, E, idx, rw, nk, s1, s2)
    else:
        K.stats_d(Xt, c, cp, d, m, r, mode, D, E, idx, rw, nk, s1, s2)


cdef inline void _pooled_gram(const gmm_kernels *K, const floating *Xt, Py_ssize_t c,
                              Py_ssize_t cp, Py_ssize_t d, const floating *a,
                              const double *w, double *Dd, double *Ed,
                              double *s2) noexcept nogil:
    if floating is float:
        K.pooled_gram_f(Xt, c, cp, d, a, w, Dd, Ed, s2)
    else:
        K.pooled_gram_d(Xt, c, cp, d, a, w, Dd, Ed, s2)


# --------------------------------------------------------------- the BLAS path
cdef inline void _centre(
    const floating *X,          # IN  (c, d)
    Py_ssize_t c,
    Py_ssize_t d,
    const floating *anchor,     # IN  (d,)
    floating *out,              # OUT (c, d)
) noexcept nogil:
    # out = X - anchor
    cdef Py_ssize_t i, f
    for i in range(c):
        for f in range(d):
            out[i * d + f] = X[i * d + f] - anchor[f]


cdef void _blas_log_prob(
    const gmm_kernels *K,
    const floating *X,          # IN  (c, d) rows of the chunk
    Py_ssize_t c,
    Py_ssize_t d,
    Py_ssize_t k,
    Py_ssize_t kp,
    const floating *anchors,    # IN  (kp, d)
    const floating *factors,    # IN  (kp, d*d) triangular
    const floating *offsets,    # IN  (k, d) when kp == 1 < k
    const double *log_norm,     # IN  (k,)
    floating *proj,             # SCRATCH (c, d)
    floating *Y,                # SCRATCH (d, cp)
    double *L,                  # OUT (k, ldl)
    Py_ssize_t ldl,
) noexcept nogil:
    # Large d: (X - m_p) @ U_p by one trmm per component (or one shared trmm and the
    # offsets o_p = (m_p - a) @ U for tied), squares summed in double.
    cdef Py_ssize_t p, i, f
    cdef double sq
    cdef Py_ssize_t cp = gmm_padded(c)
    if kp == 1 and k > 1:
        _centre(X, c, d, anchors, proj)
        trmm_right_upper(<int> c, <int> d, factors, proj)
        _transpose(K, proj, c, d, Y)
        for p in range(k):
            _diag_log_prob(K, Y, cp, d, offsets + p * d, <const floating *> NULL,
                           log_norm[p], L + p * ldl)
        return
    for p in range(kp):
        _centre(X, c, d, anchors + p * d, proj)
        trmm_right_upper(<int> c, <int> d, factors + p * d * d, proj)
        for i in range(c):
            sq = 0.0
            for f in range(d):
                # squared in double: float32 squares overflow from 1.8e19
                sq = sq + (<double> proj[i * d + f]) * (<double> proj[i * d + f])
            L[p * ldl + i] = log_norm[p] - 0.5 * sq


cdef void _blas_stats(
    const floating *X,          # IN  (c, d)
    Py_ssize_t c,
    Py_ssize_t d,
    Py_ssize_t k,
    bint pooled,                # one S2 for all components (tied)
    const floating *means,      # IN  (k, d) centring points
    const double *R,            # IN  (k, ldl) weighted responsibilities
    Py_ssize_t ldl,
    floating *dev,              # SCRATCH (c, d)
    floating *gram,             # SCRATCH (d, d)
    double *nk,                 # INOUT (k,)
    double *s1,                 # INOUT (k, d)
    double *s2,                 # INOUT (k or 1, d*d), lower triangles
) noexcept nogil:
    # dev = sqrt(r_j) * (X - m_j);  S2_j += dev^T dev (syrk);  S1_j += r_j^T (X - m_j)
    # Rows with r_ij == 0 add exactly nothing, so they are left out of dev.
    cdef Py_ssize_t j, i, f, q, rows
    cdef double r, r_sum, diff
    cdef double *target
    cdef floating sr
    for j in range(k):
        r_sum = 0.0
        rows = 0
        for i in range(c):
            r = R[j * ldl + i]
            if r == 0.0:
                continue
            r_sum = r_sum + r
            sr = <floating> sqrt(r)
            for f in range(d):
                diff = <double> (X[i * d + f] - means[j * d + f])
                s1[j * d + f] += r * diff
                dev[rows * d + f] = sr * <floating> diff
            rows = rows + 1
        nk[j] += r_sum
        if rows == 0:
            continue
        syrk_gram(<int> rows, <int> d, dev, gram)
        target = s2 + (0 if pooled else j * d * d)
        for q in range(d * d):
            target[q] += gram[q]


cdef void _chunk_log_prob(
    const gmm_kernels *K,
    const floating *X,          # IN  (c, d)
    Py_ssize_t c,
    Py_ssize_t d,
    Py_ssize_t k,
    Py_ssize_t kp,
    bint diagonal,
    bint small,                 # the compiled loops, not BLAS
    const floating *anchors,
    const floating *factors,
    const floating *offsets,
    const double *log_norm,
    floating *Xt,               # SCRATCH (d, cp): the chunk transposed (kept for stats)
    floating *D,                # SCRATCH (dp, cp)
    floating *Y,                # SCRATCH (d, cp)
    floating *proj,             # SCRATCH (c, d)
    double *L,                  # OUT (k, ldl)
    Py_ssize_t ldl,
) noexcept nogil:
    cdef Py_ssize_t p
    cdef Py_ssize_t cp = gmm_padded(c)
    if not small:
        _blas_log_prob(K, X, c, d, k, kp, anchors, factors, offsets, log_norm, proj, D,
                       L, ldl)
        return
    _transpose(K, X, c, d, Xt)
    if diagonal:
        for p in range(k):
            _diag_log_prob(K, Xt, cp, d, anchors + p * d, factors + p * d, log_norm[p],
                           L + p * ldl)
    elif kp == 1 and k > 1:
        _tri_project(K, Xt, cp, d, anchors, factors, D, Y)
        for p in range(k):
            _diag_log_prob(K, Y, cp, d, offsets + p * d, <const floating *> NULL,
                           log_norm[p], L + p * ldl)
    else:
        for p in range(kp):
            _tri_log_prob(K, Xt, cp, d, anchors + p * d, factors + p * d * d, log_norm[p],
                          D, L + p * ldl)


def _check_layout(X, anchors, offsets, factors, log_norm, bint diagonal):
    """Shape checks shared by both entry points; raise before any pointer is formed."""
    n, d = X.shape[0], X.shape[1]
    k = log_norm.shape[0]
    kp = anchors.shape[0]
    if d < 1 or k < 1:
        raise ValueError(f"need n_features >= 1 and n_components >= 1, got d={d}, k={k}")
    if anchors.shape[1] != d:
        raise ValueError(f"anchors must have {d} columns, got {anchors.shape[1]}")
    if diagonal:
        if kp != k:
            raise ValueError(f"diagonal layout needs one factor row per component ({k}), got {kp}")
        if factors.shape[0] != k or factors.shape[1] != d:
            raise ValueError(f"diagonal factors must be ({k}, {d}), got {(factors.shape[0], factors.shape[1])}")
    else:
        if kp != k and kp != 1:
            raise ValueError(f"triangular layout needs 1 or {k} factors, got {kp}")
        if factors.shape[0] != kp or factors.shape[1] != d * d:
            raise ValueError(
                f"triangular factors must be ({kp}, {d * d}), got {(factors.shape[0], factors.shape[1])}")
    if kp == k:
        if offsets is not None:
            raise ValueError("offsets are only used when all components share one factor")
    elif offsets is None or offsets.shape[0] != k or offsets.shape[1] != d:
        raise ValueError(f"a shared factor needs offsets of shape ({k}, {d})")
    return n, d, k, kp


# Chunks a thread must have before a second thread is worth waking: on small data the
# fork/join of a parallel region costs more than the pass (and much more on a busy
# machine).
_MIN_CHUNKS_PER_THREAD = 8


def _n_threads(n_threads, n_chunks):
    return int(max(1, min(int(n_threads), n_chunks // _MIN_CHUNKS_PER_THREAD)))


def _padded_rows(n_rows, width):
    """(n_rows, width') float64 zeros, width' >= width, rows 64-byte apart at least:
    thread-local accumulators that never share a cache line."""
    return np.zeros((n_rows, (width + 7) // 8 * 8 + 8))


def _scratch(int threads, Py_ssize_t d, Py_ssize_t k, dtype, bint pooled=False):
    """Per-thread scratch of one call, O(threads x chunk x (d + k)): the transposed
    chunk, centred and weighted copies, the log-densities, the float64 copies of the
    pooled (tied) second moment."""
    dp = (d + 3) // 4 * 4
    return dict(
        xt=np.zeros((threads, d * _CHUNK), dtype=dtype),
        dev=np.zeros((threads, dp * _CHUNK), dtype=dtype),
        wdev=np.zeros((threads, dp * _CHUNK), dtype=dtype),
        proj=np.zeros((threads, max(d, dp) * _CHUNK), dtype=dtype),
        gram=np.zeros((threads, d * d), dtype=dtype),
        prob=np.zeros((threads, k * _CHUNK)),
        top=np.zeros((threads, _CHUNK)),
        scale=np.zeros((threads, _CHUNK)),
        idx=np.zeros((threads, _CHUNK), dtype=np.intc),
        wide=np.zeros((threads, 2 * dp * _CHUNK if pooled else 1)),
    )


def accumulate_stats(
    const floating[:, ::1] X,               # IN  (n, d)
    const double[::1] sample_weight,        # IN  (n,) or None
    const floating[:, ::1] means,           # IN  (k, d) centring points of the statistics
    const floating[:, ::1] anchors,         # IN  (kp, d)
    const floating[:, ::1] offsets,         # IN  (k, d) when kp == 1 < k, else None
    const floating[:, ::1] factors,         # IN  (kp, d*d) or (k, d) when diagonal
    const double[::1] log_norm,             # IN  (k,)
    bint diagonal,
    double[::1] nk,                         # OUT (k,)
    double[:, ::1] s1,                      # OUT (k, d)
    double[:, ::1] s2,                      # OUT (k, d*d), (1, d*d) or (k, d)
    int n_threads=1,
):
    """One pass: log-densities, responsibilities and centred sufficient statistics.

    Returns
    -------
    log_likelihood : float
        ``sum_n w_n log sum_k exp(log_prob[n, k])``.
    """
    cdef Py_ssize_t n, d, k, kp
    n, d, k, kp = _check_layout(X, anchors, offsets, factors, log_norm, diagonal)
    if means.shape[0] != k or means.shape[1] != d:
        raise ValueError(f"means must be ({k}, {d}), got ({means.shape[0]}, {means.shape[1]})")
    if sample_weight is not None and sample_weight.shape[0] != n:
        raise ValueError(f"sample_weight must have {n} entries, got {sample_weight.shape[0]}")
    if nk.shape[0] != k or s1.shape[0] != k or s1.shape[1] != d:
        raise ValueError("nk / s1 have the wrong shape")
    s2_width = d if diagonal else d * d
    allowed_rows = [k] if diagonal else [k, 1]
    if s2.shape[1] != s2_width or s2.shape[0] not in allowed_rows:
        raise ValueError(f"s2 has the wrong shape ({s2.shape[0]}, {s2.shape[1]})")
    cdef bint pooled = (not diagonal) and s2.shape[0] == 1 and k > 1
    if n == 0:
        nk[:] = 0.0
        s1[:, :] = 0.0
        s2[:, :] = 0.0
        return 0.0

    cdef Py_ssize_t n_chunks = (n + _CHUNK - 1) // _CHUNK
    cdef int threads = _n_threads(n_threads, n_chunks)
    cdef bint small = _use_compiled_loops(d, diagonal, X.itemsize)
    dtype = np.float32 if floating is float else np.float64
    sc = _scratch(threads, d, k, dtype, pooled)
    cdef floating[:, ::1] xt = sc["xt"], dev = sc["dev"], wdev = sc["wdev"]
    cdef floating[:, ::1] proj = sc["proj"], gram = sc["gram"]
    cdef double[:, ::1] prob = sc["prob"], top = sc["top"], scale = sc["scale"]
    cdef int[:, ::1] idx = sc["idx"]
    cdef double[:, ::1] wide = sc["wide"]
    cdef Py_ssize_t dp = (d + 3) // 4 * 4 if d >= 4 else d
    cdef int mode = GMM_S2_DIAG if diagonal else (GMM_S2_NONE if pooled else GMM_S2_FULL)
    # tied (pooled) statistics: one second moment about this anchor per chunk, moved to
    # the component means after the pass
    anchor_arr = np.asarray(means, dtype=np.float64).mean(axis=0).astype(dtype)
    cdef const floating[::1] anchor = anchor_arr
    # float64 accumulators per thread, reduced after the parallel loop
    acc_nk_arr = _padded_rows(threads, k)
    acc_s1_arr = _padded_rows(threads, k * d)
    acc_s2_arr = _padded_rows(threads, s2.shape[0] * s2_width)
    acc_ll_arr = _padded_rows(threads, 1)
    cdef double[:, ::1] acc_nk = acc_nk_arr
    cdef double[:, ::1] acc_s1 = acc_s1_arr
    cdef double[:, ::1] acc_s2 = acc_s2_arr
    cdef double[:, ::1] acc_ll = acc_ll_arr

    cdef const floating *off = NULL if offsets is None else &offsets[0, 0]
    cdef const double *w = NULL if sample_weight is None else &sample_weight[0]
    cdef const gmm_kernels *K = _ACTIVE
    cdef Py_ssize_t chunk, start, c, cp, p
    cdef int tid
    cdef double *L
    cdef double *target

    with nogil:
        for chunk in prange(n_chunks, schedule="static", num_threads=threads):
            tid = threadid()
            start = chunk * _CHUNK
            c = min(<Py_ssize_t> _CHUNK, n - start)   # the last chunk may be short
            cp = gmm_padded(c)
            L = &prob[tid, 0]
            _chunk_log_prob(K, &X[start, 0], c, d, k, kp, diagonal, small, &anchors[0, 0],
                            &factors[0, 0], off, &log_norm[0], &xt[tid, 0], &dev[tid, 0],
                            &proj[tid, 0], &proj[tid, 0], L, _CHUNK)
            acc_ll[tid, 0] += K.responsibilities(
                L, c, cp, k, _CHUNK, (w + start) if w != NULL else NULL,
                &top[tid, 0], &scale[tid, 0])
            if not small:
                _blas_stats(&X[start, 0], c, d, k, pooled, &means[0, 0], L, _CHUNK,
                            &proj[tid, 0], &gram[tid, 0], &acc_nk[tid, 0],
                            &acc_s1[tid, 0], &acc_s2[tid, 0])
                continue
            if pooled:
                _pooled_gram(K, &xt[tid, 0], c, cp, d, &anchor[0],
                             (w + start) if w != NULL else NULL, &wide[tid, 0],
                             &wide[tid, dp * _CHUNK], &acc_s2[tid, 0])
            for p in range(k):
                target = &acc_s2[tid, p * (d if diagonal else d * d)]
                _stats(K, &xt[tid, 0], c, cp, d, &means[p, 0], L + p * _CHUNK, mode,
                       &dev[tid, 0], &wdev[tid, 0], &idx[tid, 0], &top[tid, 0],
                       &acc_nk[tid, p], &acc_s1[tid, p * d], target)

    # Reduce the thread-local accumulators in a fixed order.
    np.asarray(nk)[...] = acc_nk_arr[:, :k].sum(axis=0)
    np.asarray(s1)[...] = acc_s1_arr[:, :k * d].sum(axis=0).reshape(k, d)
    np.asarray(s2)[...] = acc_s2_arr[:, :s2.shape[0] * s2_width].sum(axis=0).reshape(
        s2.shape[0], s2_width)
    if pooled and small:
        _pooled_about_means(np.asarray(s2), np.asarray(nk), np.asarray(s1),
                            np.asarray(means, dtype=np.float64) - anchor_arr, d)
    return float(acc_ll_arr[:, 0].sum())


def _pooled_about_means(s2, nk, s1, delta, d):
    """s2 (1, d*d) about the anchor a -> about the means: with delta_k = m_k - a,
    sum_k sum_n r_nk (x - m_k)(x - m_k)^T = G - sum_k (delta_k S1_k^T + S1_k delta_k^T
    + N_k delta_k delta_k^T), S1_k centred at m_k (lower triangle kept)."""
    cross = delta.T @ s1
    shift = cross + cross.T + (delta.T * nk) @ delta
    s2[0] -= np.tril(shift).reshape(d * d)


def log_prob(
    const floating[:, ::1] X,               # IN  (n, d)
    const floating[:, ::1] anchors,         # IN  (kp, d)
    const floating[:, ::1] offsets,         # IN  (k, d) when kp == 1 < k, else None
    const floating[:, ::1] factors,         # IN  (kp, d*d) or (k, d) when diagonal
    const double[::1] log_norm,             # IN  (k,)
    bint diagonal,
    double[:, ::1] out,                     # OUT (n, k)
    int n_threads=1,
):
    """Fill ``out[n, k] = log_norm[k] - 0.5 * ||(x_n - m_k) @ U_k||^2``."""
    cdef Py_ssize_t n, d, k, kp
    n, d, k, kp = _check_layout(X, anchors, offsets, factors, log_norm, diagonal)
    if out.shape[0] != n or out.shape[1] != k:
        raise ValueError(f"out must be ({n}, {k}), got ({out.shape[0]}, {out.shape[1]})")
    if n == 0:
        return
    cdef Py_ssize_t n_chunks = (n + _CHUNK - 1) // _CHUNK
    cdef int threads = _n_threads(n_threads, n_chunks)
    cdef bint small = _use_compiled_loops(d, diagonal, X.itemsize)
    dtype = np.float32 if floating is float else np.float64
    sc = _scratch(threads, d, k, dtype)
    cdef floating[:, ::1] xt = sc["xt"], dev = sc["dev"], proj = sc["proj"]
    cdef double[:, ::1] prob = sc["prob"]
    cdef const floating *off = NULL if offsets is None else &offsets[0, 0]
    cdef const gmm_kernels *K = _ACTIVE
    cdef Py_ssize_t chunk, start, c, i, p
    cdef int tid
    cdef double *L
    with nogil:
        for chunk in prange(n_chunks, schedule="static", num_threads=threads):
            tid = threadid()
            start = chunk * _CHUNK
            c = min(<Py_ssize_t> _CHUNK, n - start)
            L = &prob[tid, 0]
            _chunk_log_prob(K, &X[start, 0], c, d, k, kp, diagonal, small, &anchors[0, 0],
                            &factors[0, 0], off, &log_norm[0], &xt[tid, 0], &dev[tid, 0],
                            &proj[tid, 0], &proj[tid, 0], L, _CHUNK)
            for i in range(c):
                for p in range(k):
                    out[start + i, p] = L[p * _CHUNK + i]
