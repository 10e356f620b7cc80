"""Weighted mean and covariance of the data, from one block or merged over blocks.

The data-dependent prior defaults (``mean_prior``, ``covariance_prior``) need the
(sample-weighted) mean and covariance of X.  A block gives its total weight, mean and
scatter about that mean; blocks merge exactly with the pairwise update of Chan, Golub
& LeVeque (1979), which never forms E[x x^T] - mu mu^T, so it stays accurate for data
far from the origin.
"""

import numpy as np


def block_moments(X, sample_weight):
    """(total weight, mean, scatter about the mean) of one block, float64.

    ``scatter = sum_n w_n (x_n - mean)(x_n - mean)^T``.  An empty block, or one of zero
    total weight, has mean 0 and scatter 0.
    """
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, np.float64)
    total = float(w.sum())
    if total == 0.0:
        return 0.0, np.zeros(d), np.zeros((d, d))
    mean = w @ X / total
    centred = X - mean
    return total, mean, (centred * w[:, np.newaxis]).T @ centred


def merge_moments(a, b):
    """Moments of the union of two blocks from each block's (total, mean, scatter)."""
    total_a, mean_a, scatter_a = a
    total_b, mean_b, scatter_b = b
    if total_a == 0.0:
        return b
    if total_b == 0.0:
        return a
    total = total_a + total_b
    delta = mean_b - mean_a
    mean = mean_a + delta * (total_b / total)
    scatter = scatter_a + scatter_b + np.outer(delta, delta) * (total_a * total_b / total)
    return total, mean, scatter


def mean_and_covariance(moments):
    """Mean and unbiased (frequency-weighted) covariance from merged moments."""
    total, mean, scatter = moments
    return mean, np.atleast_2d(scatter / max(total - 1.0, 1.0))
