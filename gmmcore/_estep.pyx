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

from ._linalg cimport syrk_gram, trmm_right_upper

cdef extern from "_omp_compat.h":
    int omp_get_max_threads() noexcept nogil
    int GMMCORE_OPENMP

# Rows per task: large enough that BLAS level 3 runs near peak on the (chunk x d)
# blocks, small enough that a chunk, its projection and its responsibilities stay in
# L2 cache.
cdef enum:
    _CHUNK = 256

CHUNK_SIZE = _CHUNK
OPENMP_ENABLED = bool(GMMCORE_OPENMP)


def openmp_max_threads():
    """Threads an OpenMP parallel region would use (OMP_NUM_THREADS, threadpoolctl)."""
    return omp_get_max_threads()


cdef void _chunk_log_prob(
    const floating *X,          # IN  (c, d) rows of the chunk
    Py_ssize_t c,
    Py_ssize_t d,
    Py_ssize_t k,
    Py_ssize_t kp,
    bint diagonal,
    const floating *anchors,    # IN  (kp, d)
    const floating *offsets,    # IN  (k, d), or NULL when kp == k
    const floating *factors,    # IN  (kp, d*d) triangular or (kp, d) diagonal
    const double *log_norm,     # IN  (k,)
    floating *proj,             # SCRATCH (c, d)
    double *log_prob,           # OUT (c, k), row stride k
) noexcept nogil:
    # proj = (X - anchor_p) @ U_p
    # log_prob[:, j] = log_norm[j] - 0.5 * ||proj - offset_j||^2  for the j sharing p
    cdef Py_ssize_t p, j, j_lo, j_hi, i, f
    cdef const floating *u
    cdef floating diff
    cdef double sq
    for p in range(kp):
        u = factors + (p * d if diagonal else p * d * d)
        for i in range(c):
            for f in range(d):
                proj[i * d + f] = X[i * d + f] - anchors[p * d + f]
        if diagonal:
            for i in range(c):
                for f in range(d):
                    proj[i * d + f] = proj[i * d + f] * u[f]
        else:
            trmm_right_upper(<int> c, <int> d, u, proj)
        if kp == k:
            j_lo = p
            j_hi = p + 1
        else:
            j_lo = 0
            j_hi = k
        for j in range(j_lo, j_hi):
            for i in range(c):
                sq = 0.0
                if offsets == NULL:
                    for f in range(d):
                        sq = sq + <double> (proj[i * d + f] * proj[i * d + f])
                else:
                    for f in range(d):
                        diff = proj[i * d + f] - offsets[j * d + f]
                        sq = sq + <double> (diff * diff)
                log_prob[i * k + j] = log_norm[j] - 0.5 * sq


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
        top = row[0]
        for j in range(1, k):
            if row[j] > top:
                top = row[j]
        total = 0.0
        for j in range(k):
            row[j] = exp(row[j] - top)
            total = total + row[j]
        lse = top + log(total)
        w = 1.0 if weight == NULL else weight[i]
        ll = ll + w * lse
        w = w / total
        for j in range(k):
            row[j] = row[j] * w
    return ll


cdef void _chunk_stats(
    const floating *X,          # IN  (c, d)
    Py_ssize_t c,
    Py_ssize_t d,
    Py_ssize_t k,
    bint diagonal,
    bint pooled,                # one S2 for all components (tied)
    const floating *means,      # IN  (k, d) centring points
    const double *resp,         # IN  (c, k) weighted responsibilities
    floating *dev,              # SCRATCH (c, d)
    floating *gram,             # SCRATCH (d, d)
    double *nk,                 # INOUT (k,)
    double *s1,                 # INOUT (k, d)
    double *s2,                 # INOUT (k or 1, d*d) or (k, d)
) noexcept nogil:
    # dev = sqrt(r_k) * (X - m_k);  S2_k += dev^T dev;  S1_k += r_k^T (X - m_k)
    cdef Py_ssize_t j, i, f, q
    cdef double r, r_sum, diff
    cdef double *target
    cdef floating sr
    for j in range(k):
        r_sum = 0.0
        for i in range(c):
            r = resp[i * k + j]
            r_sum = r_sum + r
            if diagonal:
                for f in range(d):
                    diff = <double> (X[i * d + f] - means[j * d + f])
                    s1[j * d + f] += r * diff
                    s2[j * d + f] += r * diff * diff
            else:
                sr = <floating> sqrt(r)
                for f in range(d):
                    diff = <double> (X[i * d + f] - means[j * d + f])
                    s1[j * d + f] += r * diff
                    dev[i * d + f] = sr * <floating> diff
        nk[j] += r_sum
        if not diagonal:
            syrk_gram(<int> c, <int> d, dev, gram)
            target = s2 + (0 if pooled else j * d * d)
            for q in range(d * d):
                target[q] += gram[q]


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


def _n_threads(n_threads, n_chunks):
    return int(max(1, min(int(n_threads), n_chunks)))


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
        raise ValueError(f"means must be ({k}, {d}), got {(means.shape[0], means.shape[1])}")
    if sample_weight is not None and sample_weight.shape[0] != n:
        raise ValueError(f"sample_weight must have {n} entries, got {sample_weight.shape[0]}")
    if nk.shape[0] != k or s1.shape[0] != k or s1.shape[1] != d:
        raise ValueError("nk / s1 have the wrong shape")
    s2_width = d if diagonal else d * d
    allowed_rows = [k] if diagonal else [k, 1]
    if s2.shape[1] != s2_width or s2.shape[0] not in allowed_rows:
        raise ValueError(f"s2 has the wrong shape {(s2.shape[0], s2.shape[1])}")
    cdef bint pooled = (not diagonal) and s2.shape[0] == 1 and k > 1
    if n == 0:
        nk[:] = 0.0
        s1[:, :] = 0.0
        s2[:, :] = 0.0
        return 0.0

    cdef Py_ssize_t n_chunks = (n + _CHUNK - 1) // _CHUNK
    cdef int threads = _n_threads(n_threads, n_chunks)
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, :, ::1] proj = np.empty((threads, _CHUNK, d), dtype=dtype)
    cdef floating[:, ::1] gram = np.zeros((threads, d * d), dtype=dtype)
    cdef double[:, :, ::1] prob = np.empty((threads, _CHUNK, k), dtype=np.float64)
    acc_nk_arr = np.zeros((threads, k))
    acc_s1_arr = np.zeros((threads, k, d))
    acc_s2_arr = np.zeros((threads, s2.shape[0], s2_width))
    acc_ll_arr = np.zeros(threads)
    cdef double[:, ::1] acc_nk = acc_nk_arr
    cdef double[:, :, ::1] acc_s1 = acc_s1_arr
    cdef double[:, :, ::1] acc_s2 = acc_s2_arr
    cdef double[::1] acc_ll = acc_ll_arr

    cdef const double *w = NULL if sample_weight is None else &sample_weight[0]
    cdef const floating *off = NULL if offsets is None else &offsets[0, 0]
    cdef Py_ssize_t chunk, start, c
    cdef int tid

    with nogil:
        for chunk in prange(n_chunks, schedule="static", num_threads=threads):
            tid = threadid()
            start = chunk * _CHUNK
            c = min(<Py_ssize_t> _CHUNK, n - start)   # the last chunk may be short
            _chunk_log_prob(&X[start, 0], c, d, k, kp, diagonal, &anchors[0, 0], off,
                            &factors[0, 0], &log_norm[0], &proj[tid, 0, 0], &prob[tid, 0, 0])
            acc_ll[tid] += _chunk_responsibilities(
                &prob[tid, 0, 0], c, k, (w + start) if w != NULL else NULL)
            _chunk_stats(&X[start, 0], c, d, k, diagonal, pooled, &means[0, 0],
                         &prob[tid, 0, 0], &proj[tid, 0, 0], &gram[tid, 0],
                         &acc_nk[tid, 0], &acc_s1[tid, 0, 0], &acc_s2[tid, 0, 0])

    # Reduce the thread-local accumulators in a fixed order.
    np.asarray(nk)[...] = acc_nk_arr.sum(axis=0)
    np.asarray(s1)[...] = acc_s1_arr.sum(axis=0)
    np.asarray(s2)[...] = acc_s2_arr.sum(axis=0)
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
        raise ValueError(f"out must be ({n}, {k}), got {(out.shape[0], out.shape[1])}")
    if n == 0:
        return
    cdef Py_ssize_t n_chunks = (n + _CHUNK - 1) // _CHUNK
    cdef int threads = _n_threads(n_threads, n_chunks)
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, :, ::1] proj = np.empty((threads, _CHUNK, d), dtype=dtype)
    cdef const floating *off = NULL if offsets is None else &offsets[0, 0]
    cdef Py_ssize_t chunk, start, c
    cdef int tid
    with nogil:
        for chunk in prange(n_chunks, schedule="static", num_threads=threads):
            tid = threadid()
            start = chunk * _CHUNK
            c = min(<Py_ssize_t> _CHUNK, n - start)
            _chunk_log_prob(&X[start, 0], c, d, k, kp, diagonal, &anchors[0, 0], off,
                            &factors[0, 0], &log_norm[0], &proj[tid, 0, 0], &out[start, 0])
