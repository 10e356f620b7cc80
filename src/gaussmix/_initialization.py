"""Initial responsibilities and the parameters they imply.

The four ``init_params`` schemes of scikit-learn, drawn from the same random stream,
with sample weights honoured: weighted k-means, weighted k-means++ seeding, and
weight-proportional picks for ``random_from_data``.  Without sample weights a seed
gives scikit-learn's start for 'kmeans' and 'random'; for 'k-means++' and
'random_from_data' the same seed points are drawn, but scikit-learn then leaves its
initial weights summing to k/n (and pools X^T X over all rows for 'tied'), which is
not reproduced here: the weights are normalised and the covariances are those of the
seed points.
"""

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus

from ._hierarchical import cached_hierarchical_tree

INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data", "hc")
_BLOCK_ROWS = 8192


def initial_responsibilities(X, sample_weight, n_components, init_params, random_state):
    """Return an (n, k) float64 responsibility matrix (one-hot for all but 'random')."""
    n_samples = X.shape[0]
    if init_params == "hc":
        # mclust's default: model-based agglomerative clustering (VVV on SVD-transformed
        # data), deterministic and independent of the row order; one tree serves every
        # restart and every n_components.  It takes the raw weights: they count rows.
        labels = cached_hierarchical_tree(X, sample_weight).labels(n_components)
        resp = np.zeros((n_samples, n_components))
        resp[np.arange(n_samples), labels] = 1.0
        return resp
    if sample_weight is not None:
        # Only the ratios matter here; k-means casts weights to X's dtype, where tiny
        # (valid) float64 weights would underflow to zero.
        sample_weight = sample_weight / sample_weight.max()
    resp = np.zeros((n_samples, n_components))
    if init_params == "kmeans":
        labels = (
            KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
            .fit(X, sample_weight=sample_weight)
            .labels_
        )
        resp[np.arange(n_samples), labels] = 1.0
    elif init_params == "random":
        resp = random_state.uniform(size=(n_samples, n_components))
        resp /= resp.sum(axis=1)[:, np.newaxis]
    elif init_params == "random_from_data":
        p = None if sample_weight is None else sample_weight / sample_weight.sum()
        indices = random_state.choice(n_samples, size=n_components, replace=False, p=p)
        resp[indices, np.arange(n_components)] = 1.0
    elif init_params == "k-means++":
        _, indices = kmeans_plusplus(
            X, n_components, random_state=random_state, sample_weight=sample_weight
        )
        resp[indices, np.arange(n_components)] = 1.0
    else:  # validated by the estimator; kept as a guard
        raise ValueError(f"unknown init_params {init_params!r}")
    return resp


def stats_from_responsibilities(X, sample_weight, resp, covariance):
    """Sufficient statistics of ``resp`` in the kernel's format, centred at their means.

    Returns (means, nk, s1, s2) with s1 == 0: the statistics the M-step turns into the
    initial parameters.  Runs once per restart; rows with zero responsibility for a
    component are skipped, so one-hot starts cost O(n d^2).
    """
    n_features = X.shape[1]
    rw = resp if sample_weight is None else resp * sample_weight[:, np.newaxis]
    nk = rw.sum(axis=0)
    safe_nk = np.where(nk > 0, nk, 1.0)
    means = (rw.T @ X) / safe_nk[:, np.newaxis]
    k = resp.shape[1]
    s2 = np.zeros(covariance.stats_shape(k, n_features))
    # Row blocks bound the temporaries (dense 'random' starts touch every row).
    for start in range(0, X.shape[0], _BLOCK_ROWS):
        X_block = X[start:start + _BLOCK_ROWS]
        rw_block = rw[start:start + _BLOCK_ROWS]
        for j in range(k):
            rows = np.flatnonzero(rw_block[:, j] > 0)
            if rows.size == 0:
                continue
            diff = X_block[rows].astype(np.float64) - means[j]
            weighted = diff * rw_block[rows, j][:, np.newaxis]
            if covariance.diagonal:
                s2[j] += (weighted * diff).sum(axis=0)
            else:
                s2[covariance.factor_index(j)] += np.tril(weighted.T @ diff).ravel()
    return means, nk, np.zeros((k, n_features)), s2
