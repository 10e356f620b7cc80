"""The boundary to the compiled core: thread counts, BLAS limits, buffer allocation.

Everything here is cheap, O(k d^2) glue; the pass over the data happens in
:mod:`gmmcore`.  Arrays handed to the core are C-contiguous and of the data's dtype
(float32 or float64); the statistics come back in float64.
"""

import contextlib
import os

import numpy as np
from threadpoolctl import ThreadpoolController

import gmmcore

_CONTROLLER = None


def effective_n_threads():
    """OpenMP threads for the kernels: OMP_NUM_THREADS and threadpoolctl limits apply."""
    n = gmmcore.openmp_max_threads()
    return max(1, min(n, os.cpu_count() or 1))


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
    """Parameters laid out for gmmcore: anchors, offsets, factors and log_norm.

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
    log_likelihood = gmmcore.accumulate_stats(
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
    gmmcore.log_prob(
        X, inputs.anchors, inputs.offsets, inputs.factors, inputs.log_norm,
        inputs.diagonal, out, n_threads,
    )
    return out
