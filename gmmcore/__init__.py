"""gmmcore: the compiled core of gaussmix.

A small, typed boundary: two functions over C-contiguous float32/float64 arrays
(see :mod:`gmmcore._estep` for the exact contract) and the OpenMP thread query.
It knows nothing of estimators.  The wrappers here check ``X`` before dispatching
to the compiled float32/float64 specialisation, so a wrong array is a ValueError
naming it; every other shape check happens in the compiled module before its
``nogil`` code runs.
"""

import numpy as np

try:
    from . import _estep
except ImportError as exc:  # the source tree shadows the installed package
    raise ImportError(
        f"gmmcore's compiled module is missing from {__path__[0]}. This usually means the "
        "gaussmix source checkout is on sys.path (e.g. 'python -m' run from its root) and "
        "shadows the installed package: run from another directory, use the 'gaussmix' "
        "console script, or build in place with 'python setup.py build_ext --inplace'."
    ) from exc
from ._estep import CHUNK_SIZE, OPENMP_ENABLED, openmp_max_threads

__all__ = ["CHUNK_SIZE", "OPENMP_ENABLED", "accumulate_stats", "log_prob", "openmp_max_threads"]


def _check_X(X):
    if not isinstance(X, np.ndarray):
        raise ValueError(f"X must be a numpy array, got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got {X.ndim}-D")
    if X.dtype not in (np.float32, np.float64):
        raise ValueError(f"X must be float32 or float64, got {X.dtype}")
    if not X.flags.c_contiguous:
        raise ValueError("X must be C-contiguous")


def accumulate_stats(X, sample_weight, means, anchors, offsets, factors, log_norm,
                     diagonal, nk, s1, s2, n_threads=1):
    """One pass: log-likelihood, N_k, S1_k, S2_k centred at ``means``.

    See :func:`gmmcore._estep.accumulate_stats`; every array but the float64 ones
    must have ``X``'s dtype.
    """
    _check_X(X)
    return _estep.accumulate_stats(X, sample_weight, means, anchors, offsets, factors,
                                   log_norm, diagonal, nk, s1, s2, n_threads)


def log_prob(X, anchors, offsets, factors, log_norm, diagonal, out, n_threads=1):
    """Fill ``out[n, k] = log_norm[k] - 0.5 * ||(x_n - m_k) @ U_k||^2``.

    See :func:`gmmcore._estep.log_prob`.
    """
    _check_X(X)
    return _estep.log_prob(X, anchors, offsets, factors, log_norm, diagonal, out, n_threads)
