"""Align component labels across restarts (label switching).

Mixture likelihoods do not change when components are relabelled, so two restarts
that found the same solution can list its components in different orders.  Before
restarts are compared as chains, each restart's components are matched to those of a
reference restart (the best one) by the Hungarian algorithm
(:func:`scipy.optimize.linear_sum_assignment`) on the squared distances between
means, measured in units of the reference mixture's overall standard deviation per
feature.
"""

import numpy as np
from scipy.optimize import linear_sum_assignment


def feature_scale(weights, means, variances):
    """Overall standard deviation of each feature under a mixture.

    Parameters
    ----------
    weights : ndarray of shape (k,)
    means : ndarray of shape (k, d)
    variances : ndarray of shape (k, d)
        Per-component variances of each feature.

    Returns
    -------
    scale : ndarray of shape (d,)
        sqrt(sum_k w_k (var_kj + mu_kj^2) - mean_j^2), floored away from zero.
    """
    weights = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    mean = weights @ means
    var = weights @ (variances + means**2) - mean**2
    var = np.maximum(var, 1e-12 * max(1.0, float(np.max(np.abs(var)))))
    return np.sqrt(var)


def match_components(reference_means, means, scale):
    """Permutation of ``means`` that best matches ``reference_means``.

    Parameters
    ----------
    reference_means, means : ndarray of shape (k, d)
    scale : ndarray of shape (d,)

    Returns
    -------
    order : ndarray of shape (k,) of int
        ``means[order]`` is aligned with ``reference_means``: component j of the
        reference corresponds to component ``order[j]`` of the other restart.
    """
    diff = (reference_means[:, np.newaxis, :] - means[np.newaxis, :, :]) / scale
    cost = (diff**2).sum(axis=-1)
    rows, cols = linear_sum_assignment(cost)
    order = np.empty(len(rows), dtype=np.intp)
    order[rows] = cols
    return order


def align_restarts(means_per_restart, reference, scale):
    """Permutations aligning every restart with restart ``reference``.

    Parameters
    ----------
    means_per_restart : sequence of ndarray of shape (k, d)
    reference : int
    scale : ndarray of shape (d,)

    Returns
    -------
    orders : ndarray of shape (n_restarts, k) of int
        Row c: restart c's original component label for each aligned component.
    """
    ref = np.asarray(means_per_restart[reference], dtype=np.float64)
    return np.stack([
        match_components(ref, np.asarray(means, dtype=np.float64), scale)
        for means in means_per_restart
    ])
