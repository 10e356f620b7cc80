"""Align component labels between two mixtures, and measure how far apart they are.

Mixture likelihoods do not change when components are relabelled, so two restarts (or
bootstrap replicates) that found the same solution can list its components in
different orders.  Components are matched on everything that defines them (weight,
mean and covariance) through one distance: the squared Hellinger distance between
weighted components, seen as unnormalised densities,

    h2(a, b) = 1/2 int (sqrt(w_a p_a) - sqrt(w_b p_b))^2
             = (w_a + w_b) / 2 - sqrt(w_a w_b) BC(p_a, p_b),

with BC the Bhattacharyya coefficient of the two Gaussians (closed form:
BC = exp(-D_B), D_B = 1/8 dmu^T S^-1 dmu + 1/2 log(det S / sqrt(det S_a det S_b)),
S = (S_a + S_b) / 2).  The Hungarian algorithm (:func:`scipy.optimize.linear_sum_assignment`)
minimises the sum over matched pairs.  That sum is the *mixture distance*
:func:`mixture_distance` reports: by joint convexity of the squared Hellinger distance
it bounds the squared Hellinger distance between the two mixtures from above, lies in
[0, 1], is 0 only for identical mixtures and 1 for mixtures with disjoint support.
"""

import numpy as np
from scipy.optimize import linear_sum_assignment

#: Two fits reached the same optimum when their mixture distance is below this.  At a
#: common optimum the distance is of the order of the parameter changes below ``tol``
#: (1e-6 and less); a cluster split differently, or a component moved by half a
#: standard deviation, costs 1e-2 to 1e-1.
SAME_OPTIMUM_DISTANCE = 1e-3


def full_covariances(covariance_type, covariances, n_components, n_features):
    """Public ``covariances_`` of any covariance type as (k, d, d) float64."""
    cov = np.asarray(covariances, dtype=np.float64)
    k, d = n_components, n_features
    if covariance_type not in ("tied", "diag", "spherical"):   # full, and mclust's names
        return cov
    if covariance_type == "tied":
        return np.broadcast_to(cov, (k, d, d))
    if covariance_type == "diag":
        return cov[:, :, np.newaxis] * np.eye(d)
    return cov[:, np.newaxis, np.newaxis] * np.eye(d)


def component_costs(weights_a, means_a, covs_a, weights_b, means_b, covs_b):
    """h2 between every weighted component of mixture a and every one of b, (k_a, k_b)."""
    wa = np.asarray(weights_a, dtype=np.float64)
    wb = np.asarray(weights_b, dtype=np.float64)
    ma, mb = np.asarray(means_a, np.float64), np.asarray(means_b, np.float64)
    sa, sb = np.asarray(covs_a, np.float64), np.asarray(covs_b, np.float64)
    _, logdet_a = np.linalg.slogdet(sa)
    _, logdet_b = np.linalg.slogdet(sb)
    pooled = 0.5 * (sa[:, np.newaxis] + sb[np.newaxis])                    # (ka, kb, d, d)
    _, logdet_pooled = np.linalg.slogdet(pooled)
    diff = ma[:, np.newaxis] - mb[np.newaxis]                               # (ka, kb, d)
    maha = np.einsum("abi,abi->ab", diff, np.linalg.solve(pooled, diff[..., np.newaxis])[..., 0])
    d_b = 0.125 * maha + 0.5 * (logdet_pooled
                                - 0.5 * (logdet_a[:, np.newaxis] + logdet_b[np.newaxis]))
    bc = np.exp(-np.maximum(d_b, 0.0))
    cost = 0.5 * (wa[:, np.newaxis] + wb[np.newaxis]) - np.sqrt(np.outer(wa, wb)) * bc
    return np.maximum(cost, 0.0)


def match(reference, other):
    """Permutation of ``other``'s components that best matches ``reference``'s.

    Parameters
    ----------
    reference, other : tuple (weights (k,), means (k, d), covariances (k, d, d))
        Two mixtures with the same number of components; weights normalised.

    Returns
    -------
    order : ndarray of shape (k,) of int
        Component j of the reference corresponds to component ``order[j]`` of
        ``other`` (so ``other_means[order]`` is aligned).
    distance : float
        The mixture distance: the sum of h2 over the matched pairs (see the module
        docstring), in [0, 1].
    """
    cost = component_costs(*reference, *other)
    rows, cols = linear_sum_assignment(cost)
    order = np.empty(len(rows), dtype=np.intp)
    order[rows] = cols
    return order, float(cost[rows, cols].sum())


def mixture_distance(reference, other):
    """The mixture distance of :func:`match` (its optimal permutation's cost)."""
    return match(reference, other)[1]


def mixture_of(params, covariance_type):
    """(weights, means, (k, d, d) covariances) of a restart's ``params`` dict."""
    means = np.asarray(params["means_"], dtype=np.float64)
    k, d = means.shape
    weights = np.asarray(params["weights_"], dtype=np.float64)
    covs = full_covariances(covariance_type, params["covariances_"], k, d)
    return weights / weights.sum(), means, covs


def align_restarts(params_per_restart, reference, covariance_type):
    """Permutations aligning every restart with restart ``reference``, and distances.

    Parameters
    ----------
    params_per_restart : sequence of dict
        Each restart's fitted attributes (``weights_``, ``means_``, ``covariances_``).
    reference : int
    covariance_type : str

    Returns
    -------
    orders : ndarray of shape (n_restarts, k) of int
        Row c: restart c's original component label for each aligned component.
    distances : ndarray of shape (n_restarts,)
        Each restart's mixture distance to the reference (0 for the reference).
    """
    ref = mixture_of(params_per_restart[reference], covariance_type)
    results = [match(ref, mixture_of(p, covariance_type)) for p in params_per_restart]
    return (np.stack([order for order, _ in results]),
            np.array([distance for _, distance in results]))
