"""The boundary to the compiled core: checks, thread counts, BLAS limits, buffers.

This is the only module that calls :mod:`gaussmix._gmmcore` (built from the Cython
sources in the repository's ``gmmcore/`` folder; their module docstring is the exact
contract of the pass).  Everything here is cheap, O(k d^2) glue.  Arrays handed to the
core are C-contiguous and of the data's dtype (float32 or float64); the statistics
come back in float64.  ``X`` is checked here, before dispatching to the compiled
float32/float64 specialisation, so a wrong array is a ValueError naming it; every
other shape check happens in the compiled module before its ``nogil`` code runs.
"""

import contextlib
import os

import numpy as np
from threadpoolctl import ThreadpoolController

from . import _gmmcore
from ._gmmcore import CHUNK_SIZE, OPENMP_ENABLED

__all__ = ["CHUNK_SIZE", "OPENMP_ENABLED", "KernelInputs", "accumulate_stats",
           "accumulate_stats_raw", "effective_n_threads", "log_prob_raw",
           "openmp_max_threads", "single_threaded_blas", "weighted_log_prob"]

_CONTROLLER = None


def openmp_max_threads():
    """Threads an OpenMP parallel region would use (OMP_NUM_THREADS, threadpoolctl)."""
    return _gmmcore.openmp_max_threads()


def effective_n_threads():
    """OpenMP threads for the kernels: OMP_NUM_THREADS and threadpoolctl limits apply."""
    return max(1, min(openmp_max_threads(), os.cpu_count() or 1))


def _check_X(X):
    if not isinstance(X, np.ndarray):
        raise ValueError(f"X must be a numpy array, got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got {X.ndim}-D")
    if X.dtype not in (np.float32, np.float64):
        raise ValueError(f"X must be float32 or float64, got {X.dtype}")
    if not X.flags.c_contiguous:
        raise ValueError("X must be C-contiguous")


def accumulate_stats_raw(X, sample_weight, means, anchors, offsets, factors, log_norm,
                         diagonal, nk, s1, s2, n_threads=1):
    """One pass: return sum_n w_n log p(x_n); fill N_k, S1_k, S2_k centred at ``means``.

    Every array but the float64 ones (``sample_weight``, ``log_norm``, ``nk``, ``s1``,
    ``s2``) must have ``X``'s dtype; see the contract in ``gmmcore/_gmmcore.pyx``.
    """
    _check_X(X)
    return _gmmcore.accumulate_stats(X, sample_weight, means, anchors, offsets, factors,
                                     log_norm, diagonal, nk, s1, s2, n_threads)


def log_prob_raw(X, anchors, offsets, factors, log_norm, diagonal, out, n_threads=1):
    """Fill ``out[n, k] = log_norm[k] - 0.5 * ||(x_n - m_k) @ U_k||^2`` (float64)."""
    _check_X(X)
    return _gmmcore.log_prob(X, anchors, offsets, factors, log_norm, diagonal, out, n_threads)


@contextlib.contextmanager
def single_threaded_blas():
    """Hold BLAS to one thread while the kernels run their own OpenMP threads.

    The chunks are small, and a multithreaded BLAS inside each OpenMP thread would
    oversubscribe the cores (as scikit-learn's k-means does, we limit it).
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        yield


class KernelInputs:
    """Parameters laid out for the compiled core: anchors, offsets, factors and log_norm.

    ``log_norm[k]`` is the part of the log-density that does not depend on x, so the
    same pass serves EM (log-weight + log det U - d/2 log 2 pi) and variational Bayes
    (the corresponding expectations).
    """

    __slots__ = ("anchors", "offsets", "factors", "log_norm", "diagonal", "means")

    def __init__(self, covariance, means, prec_chol, log_norm, dtype):
        self.anchors, self.offsets, self.factors = covariance.kernel_layout(
            means, prec_chol, dtype
        )
        self.means = np.ascontiguousarray(means, dtype=dtype)
        self.log_norm = np.ascontiguousarray(log_norm, dtype=np.float64)
        self.diagonal = covariance.diagonal


def accumulate_stats(X, sample_weight, inputs, stats_shape, n_threads):
    """One fused pass: (sum_n w_n log p(x_n), N_k, S1_k, S2_k) centred at the means."""
    k, d = inputs.means.shape
    nk = np.empty(k)
    s1 = np.empty((k, d))
    s2 = np.empty(stats_shape)
    log_likelihood = accumulate_stats_raw(
        X, sample_weight, inputs.means, inputs.anchors, inputs.offsets, inputs.factors,
        inputs.log_norm, inputs.diagonal, nk, s1, s2, n_threads,
    )
    if not np.isfinite(log_likelihood):
        raise ValueError(
            "The log-likelihood of X is not finite: squared distances overflow the "
            f"floating-point range of {X.dtype} (the data's scale is too large or the "
            "covariances too small). Rescale X (e.g. StandardScaler) or increase reg_covar."
        )
    return log_likelihood, nk, s1, s2


def weighted_log_prob(X, inputs, n_threads):
    """log p(x_n, z_n = k) for every sample and component, shape (n, k), float64."""
    out = np.empty((X.shape[0], inputs.log_norm.shape[0]))
    log_prob_raw(
        X, inputs.anchors, inputs.offsets, inputs.factors, inputs.log_norm,
        inputs.diagonal, out, n_threads,
    )
    return out
