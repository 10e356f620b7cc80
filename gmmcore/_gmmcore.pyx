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
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.math cimport exp, log, sqrt

import numpy as np

from _gmmcore_linalg cimport syrk_gram, trmm_right_upper

cdef extern from "_omp_compat.h":
    int omp_get_max_threads() noexcept nogil
    int GMMCORE_OPENMP

# Rows per task: large enough that BLAS level 3 runs near peak on the (chunk x d)
# blocks, small enough that a chunk, its projection and its responsibilities stay in
# L2 cache.
cdef enum:
    _CHUNK = 256

CHUNK_SIZE = _CHUNK
cdef double _EXP_NEGLIGIBLE = -700.0
OPENMP_ENABLED = bool(GMMCORE_OPENMP)


def openmp_max_threads():
    """Threads an OpenMP parallel region would use (OMP_NUM_THREADS, threadpoolctl)."""
    return omp_get_max_threads()


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


cdef void _sum_squares_transposed(
    const floating *V,          # IN  (c, d)
    Py_ssize_t c,
    Py_ssize_t d,
    Py_ssize_t k,
    const floating *centres_t,  # IN  (d, k)
    const floating *scales_t,   # IN  (d, k), or NULL for unit scales
    double *out,                # OUT (c, k)
) noexcept nogil:
    # out[i, j] = sum_f ((V[i, f] - centres_t[f, j]) * scales_t[f, j])^2
    # Parameters are stored feature-major so the innermost loop runs over components
    # with unit stride: it vectorises without reassociating any sum.
    cdef Py_ssize_t i, f, j
    cdef floating v, t
    cdef double *row
    cdef const floating *ct
    cdef const floating *st
    for i in range(c):
        row = out + i * k
        for j in range(k):
            row[j] = 0.0
        for f in range(d):
            v = V[i * d + f]
            ct = centres_t + f * k
            if scales_t == NULL:
                for j in range(k):
                    t = v - ct[j]
                    row[j] += (<double> t) * (<double> t)   # squared in double: no float32 overflow
            else:
                st = scales_t + f * k
                for j in range(k):
                    t = (v - ct[j]) * st[j]
                    row[j] += (<double> t) * (<double> t)


cdef void _chunk_log_prob(
    const floating *X,          # IN  (c, d) rows of the chunk
    Py_ssize_t c,
    Py_ssize_t d,
    Py_ssize_t k,
    Py_ssize_t kp,
    bint diagonal,
    const floating *anchors,    # IN  (kp, d)
    const floating *factors,    # IN  (kp, d*d) triangular
    const floating *centres_t,  # IN  (d, k): means (diagonal) or offsets (shared factor)
    const floating *scales_t,   # IN  (d, k): diagonal factors, else NULL
    const double *log_norm,     # IN  (k,)
    floating *proj,             # SCRATCH (c, d)
    double *log_prob,           # OUT (c, k), row stride k
) noexcept nogil:
    # log_prob[:, j] = log_norm[j] - 0.5 * ||(X - m_j) @ U_j||^2, computed as
    #   diagonal:      sum_f ((x_f - m_jf) * u_jf)^2
    #   shared factor: ||(X - a) @ U - o_j||^2 with o_j = (m_j - a) @ U (one trmm)
    #   per component: ||(X - m_j) @ U_j||^2 (one trmm per component)
    cdef Py_ssize_t p, i, f, j
    cdef double sq
    if diagonal:
        _sum_squares_transposed(X, c, d, k, centres_t, scales_t, log_prob)
    elif kp == 1 and k > 1:
        _centre(X, c, d, anchors, proj)
        trmm_right_upper(<int> c, <int> d, factors, proj)
        _sum_squares_transposed(proj, c, d, k, centres_t, NULL, log_prob)
    else:
        for p in range(kp):
            _centre(X, c, d, anchors + p * d, proj)
            trmm_right_upper(<int> c, <int> d, factors + p * d * d, proj)
            for i in range(c):
                sq = 0.0
                for f in range(d):
                    # squared in double: float32 squares overflow from 1.8e19
                    sq = sq + (<double> proj[i * d + f]) * (<double> proj[i * d + f])
                log_prob[i * k + p] = sq
    for i in range(c):
        for j in range(k):
            log_prob[i * k + j] = log_norm[j] - 0.5 * log_prob[i * k + j]


cdef double _chunk_responsibilities(
    double *log_prob,           # INOUT (c, k): log-densities in, responsibilities out
    Py_ssize_t c,
    Py_ssize_t k,
    const double *weight,       # IN  (c,) sample weights, or NULL for unit weights
) noexcept nogil:
    # lse_i = log sum_j exp(log_prob[i, j]);  log_prob[i, j] := w_i exp(log_prob[i, j] - lse_i)
    # returns sum_i w_i lse_i
    cdef Py_ssize_t i, j
    cdef double top, total, lse, w, ll = 0.0
    cdef double *row
    for i in range(c):
        row = log_prob + i * k
        w = 1.0 if weight == NULL else weight[i]
        if w == 0.0:
            # A zero-weight row contributes nothing, even where its densities
            # underflow to -inf (exp(-inf - -inf) would be NaN).
            for j in range(k):
                row[j] = 0.0
            continue
        top = row[0]
        for j in range(1, k):
            if row[j] > top:
                top = row[j]
        total = 0.0
        for j in range(k):
            # Below -700, exp() is < 1e-304 next to the row's maximum term (1): it cannot
            # change ``total`` and rounds to nothing in the statistics, but glibc's exp
            # takes a slow path for the (sub)underflowing arguments that dominate
            # well-separated data.
            if row[j] - top < _EXP_NEGLIGIBLE:
                row[j] = 0.0
            else:
                row[j] = exp(row[j] - top)
            total = total + row[j]
        lse = top + log(total)
        ll = ll + w * lse
        w = w / total
        for j in range(k):
            row[j] = row[j] * w
    return ll


cdef void _chunk_stats_triangular(
    const floating *X,          # IN  (c, d)
    Py_ssize_t c,
    Py_ssize_t d,
    Py_ssize_t k,
    bint pooled,                # one S2 for all components (tied)
    const floating *means,      # IN  (k, d) centring points
    const double *resp,         # IN  (c, k) weighted responsibilities
    floating *dev,              # SCRATCH (c, d)
    floating *gram,             # SCRATCH (d, d)
    double *nk,                 # INOUT (k,)
    double *s1,                 # INOUT (k, d)
    double *s2,                 # INOUT (k or 1, d*d), lower triangles
) noexcept nogil:
    # dev = sqrt(r_j) * (X - m_j);  S2_j += dev^T dev (syrk);  S1_j += r_j^T (X - m_j)
    # Rows with r_ij == 0 add exactly nothing, so they are left out of dev: with
    # well-separated components the syrk runs on ~c/k rows instead of c.
    cdef Py_ssize_t j, i, f, q, rows
    cdef double r, r_sum, diff
    cdef double *target
    cdef floating sr
    for j in range(k):
        r_sum = 0.0
        rows = 0
        for i in range(c):
            r = resp[i * k + j]
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


cdef void _chunk_stats_diagonal(
    const floating *X,          # IN  (c, d)
    Py_ssize_t c,
    Py_ssize_t d,
    Py_ssize_t k,
    const floating *means_t,    # IN  (d, k) centring points, feature-major
    const double *resp,         # IN  (c, k) weighted responsibilities
    double *nk,                 # INOUT (k,)
    double *s1_t,               # INOUT (d, k)
    double *s2_t,               # INOUT (d, k)
) noexcept nogil:
    # S1[j, f] += sum_i r_ij (x_if - m_jf);  S2[j, f] += sum_i r_ij (x_if - m_jf)^2
    # (feature-major accumulators: the inner loop over components is unit stride)
    cdef Py_ssize_t i, f, j
    cdef const double *r
    cdef const floating *mt
    cdef double *a1
    cdef double *a2
    cdef double diff, rd
    cdef floating v
    for i in range(c):
        r = resp + i * k
        for j in range(k):
            nk[j] += r[j]
        for f in range(d):
            v = X[i * d + f]
            mt = means_t + f * k
            a1 = s1_t + f * k
            a2 = s2_t + f * k
            for j in range(k):
                diff = <double> (v - mt[j])
                rd = r[j] * diff
                a1[j] += rd
                a2[j] += rd * diff


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


def _feature_major(anchors, offsets, factors, bint diagonal):
    """(centres_t, scales_t): the (d, k) copies the vectorised loops read, or None."""
    if diagonal:
        return (np.ascontiguousarray(np.asarray(anchors).T),
                np.ascontiguousarray(np.asarray(factors).T))
    if offsets is not None:
        return np.ascontiguousarray(np.asarray(offsets).T), None
    return None, None


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
    dtype = np.float32 if floating is float else np.float64
    # Per-thread scratch and float64 accumulators, reduced after the parallel loop.
    cdef floating[:, :, ::1] proj = np.empty((threads, _CHUNK, d), dtype=dtype)
    cdef floating[:, ::1] gram = np.zeros((threads, d * d), dtype=dtype)
    cdef double[:, :, ::1] prob = np.empty((threads, _CHUNK, k), dtype=np.float64)
    acc_nk_arr = np.zeros((threads, k))
    acc_s1_arr = np.zeros((threads, k * d))        # (k, d), or (d, k) when diagonal
    acc_s2_arr = np.zeros((threads, s2.shape[0] * s2_width))
    acc_ll_arr = np.zeros(threads)
    cdef double[:, ::1] acc_nk = acc_nk_arr
    cdef double[:, ::1] acc_s1 = acc_s1_arr
    cdef double[:, ::1] acc_s2 = acc_s2_arr
    cdef double[::1] acc_ll = acc_ll_arr

    centres_arr, scales_arr = _feature_major(anchors, offsets, factors, diagonal)
    means_t_arr = np.ascontiguousarray(np.asarray(means).T) if diagonal else np.asarray(means)
    cdef const floating[:, ::1] centres_t, scales_t
    cdef const floating[:, ::1] means_t = means_t_arr
    cdef const floating *ct = NULL
    cdef const floating *st = NULL
    if centres_arr is not None:
        centres_t = centres_arr
        ct = &centres_t[0, 0]
    if scales_arr is not None:
        scales_t = scales_arr
        st = &scales_t[0, 0]
    cdef const double *w = NULL if sample_weight is None else &sample_weight[0]
    cdef Py_ssize_t chunk, start, c
    cdef int tid

    with nogil:
        for chunk in prange(n_chunks, schedule="static", num_threads=threads):
            tid = threadid()
            start = chunk * _CHUNK
            c = min(<Py_ssize_t> _CHUNK, n - start)   # the last chunk may be short
            _chunk_log_prob(&X[start, 0], c, d, k, kp, diagonal, &anchors[0, 0],
                            &factors[0, 0], ct, st, &log_norm[0],
                            &proj[tid, 0, 0], &prob[tid, 0, 0])
            acc_ll[tid] += _chunk_responsibilities(
                &prob[tid, 0, 0], c, k, (w + start) if w != NULL else NULL)
            if diagonal:
                _chunk_stats_diagonal(&X[start, 0], c, d, k, &means_t[0, 0],
                                      &prob[tid, 0, 0], &acc_nk[tid, 0],
                                      &acc_s1[tid, 0], &acc_s2[tid, 0])
            else:
                _chunk_stats_triangular(&X[start, 0], c, d, k, pooled, &means[0, 0],
                                        &prob[tid, 0, 0], &proj[tid, 0, 0], &gram[tid, 0],
                                        &acc_nk[tid, 0], &acc_s1[tid, 0], &acc_s2[tid, 0])

    # Reduce the thread-local accumulators in a fixed order.
    np.asarray(nk)[...] = acc_nk_arr.sum(axis=0)
    if diagonal:
        np.asarray(s1)[...] = acc_s1_arr.sum(axis=0).reshape(d, k).T
        np.asarray(s2)[...] = acc_s2_arr.sum(axis=0).reshape(d, k).T
    else:
        np.asarray(s1)[...] = acc_s1_arr.sum(axis=0).reshape(k, d)
        np.asarray(s2)[...] = acc_s2_arr.sum(axis=0).reshape(s2.shape[0], s2_width)

    return float(acc_ll_arr.sum())


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
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, :, ::1] proj = np.empty((threads, _CHUNK, d), dtype=dtype)
    centres_arr, scales_arr = _feature_major(anchors, offsets, factors, diagonal)
    cdef const floating[:, ::1] centres_t, scales_t
    cdef const floating *ct = NULL
    cdef const floating *st = NULL
    if centres_arr is not None:
        centres_t = centres_arr
        ct = &centres_t[0, 0]
    if scales_arr is not None:
        scales_t = scales_arr
        st = &scales_t[0, 0]
    cdef Py_ssize_t chunk, start, c
    cdef int tid
    with nogil:
        for chunk in prange(n_chunks, schedule="static", num_threads=threads):
            tid = threadid()
            start = chunk * _CHUNK
            c = min(<Py_ssize_t> _CHUNK, n - start)
            _chunk_log_prob(&X[start, 0], c, d, k, kp, diagonal, &anchors[0, 0],
                            &factors[0, 0], ct, st, &log_norm[0],
                            &proj[tid, 0, 0], &out[start, 0])
