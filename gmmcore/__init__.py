"""gmmcore: the compiled core of gaussmix.

A small, typed boundary: two functions over C-contiguous float32/float64 arrays
(see :mod:`gmmcore._estep` for the exact contract) and the OpenMP thread query.
It knows nothing of estimators.
"""

from ._estep import (
    CHUNK_SIZE,
    OPENMP_ENABLED,
    accumulate_stats,
    log_prob,
    openmp_max_threads,
)

__all__ = ["CHUNK_SIZE", "OPENMP_ENABLED", "accumulate_stats", "log_prob", "openmp_max_threads"]
