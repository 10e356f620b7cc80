"""Shared data and independent reference implementations for the gaussmix tests.

Everything here is deliberately plain (NumPy / SciPy, no gaussmix code) so that the
tests compare gaussmix against something obviously correct.  pytest runs with
``--import-mode=importlib``, so test modules cannot ``import conftest``: the helpers
reach them through the ``ref`` fixture.
"""

import types

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


# --------------------------------------------------------------------------- data
def make_blobs(n_samples=300, n_features=3, n_components=3, seed=0, offset=0.0,
               spread=4.0, dtype=np.float64):
    """Well-conditioned, well-separated Gaussian clusters (unequal sizes, rotated).

    Returns X (shuffled) and the true labels.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=spread, size=(n_components, n_features))
    sizes = rng.multinomial(n_samples - 5 * n_components,
                            np.linspace(1.0, 2.0, n_components) / np.linspace(1.0, 2.0, n_components).sum())
    sizes += 5
    blocks, labels = [], []
    for j, size in enumerate(sizes):
        q, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
        scales = rng.uniform(0.5, 1.2, size=n_features)
        cov_root = q * scales
        blocks.append(centres[j] + rng.standard_normal((size, n_features)) @ cov_root.T)
        labels.append(np.full(size, j))
    X = np.vstack(blocks) + offset
    y = np.concatenate(labels)
    order = rng.permutation(n_samples)
    return X[order].astype(dtype), y[order]


def random_spd(rng, d, low=0.5, high=2.0):
    """A random symmetric positive definite matrix with eigenvalues in [low, high]."""
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (q * rng.uniform(low, high, size=d)) @ q.T


def make_inits(X, n_components, covariance_type, seed=0):
    """weights_init, means_init, precisions_init (scikit-learn shapes), all float64.

    The means are data points perturbed a little; the precisions are random SPD
    matrices of about the data's scale, so EM has work to do from this start.
    """
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    k = n_components
    means = X[rng.choice(n, size=k, replace=False)] + 0.1 * rng.normal(size=(k, d))
    weights = rng.uniform(0.5, 1.5, size=k)
    weights /= weights.sum()
    if covariance_type == "full":
        precisions = np.stack([random_spd(rng, d) for _ in range(k)])
    elif covariance_type == "tied":
        precisions = random_spd(rng, d)
    elif covariance_type == "diag":
        precisions = rng.uniform(0.5, 2.0, size=(k, d))
    elif covariance_type == "spherical":
        precisions = rng.uniform(0.5, 2.0, size=k)
    else:
        raise ValueError(covariance_type)
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


# ----------------------------------------------------------------------- reference
def full_covariances(covariances, covariance_type, n_components, n_features):
    """scikit-learn's covariances_ (any type) as a (k, d, d) float64 array."""
    c = np.asarray(covariances, dtype=np.float64)
    k, d = n_components, n_features
    if covariance_type == "full":
        return c.reshape(k, d, d)
    if covariance_type == "tied":
        return np.broadcast_to(c, (k, d, d)).copy()
    if covariance_type == "diag":
        return np.stack([np.diag(row) for row in c])
    if covariance_type == "spherical":
        return c[:, None, None] * np.eye(d)
    raise ValueError(covariance_type)


def model_covariances(gm):
    """(k, d, d) covariances of a fitted model, from its public attributes."""
    k, d = gm.means_.shape
    return full_covariances(gm.covariances_, gm.covariance_type, k, d)


def weighted_log_prob(X, weights, means, covs):
    """log w_k + log N(x_n | m_k, C_k) with scipy.stats, shape (n, k), float64."""
    X = np.asarray(X, dtype=np.float64)
    cols = [
        np.log(float(w)) + np.atleast_1d(
            stats.multivariate_normal(mean=np.asarray(m, np.float64), cov=c).logpdf(X)
        )
        for w, m, c in zip(weights, means, covs)
    ]
    return np.column_stack(cols)


def model_log_density(gm, X):
    """Mixture log-density at X from the fitted attributes (scipy reference)."""
    wlp = weighted_log_prob(X, gm.weights_, gm.means_, model_covariances(gm))
    return logsumexp(wlp, axis=1)


def model_responsibilities(gm, X):
    wlp = weighted_log_prob(X, gm.weights_, gm.means_, model_covariances(gm))
    return np.exp(wlp - logsumexp(wlp, axis=1, keepdims=True))


def n_free_parameters(covariance_type, k, d):
    """Free parameters of a k-component, d-dimensional mixture, counted by hand."""
    weights = k - 1
    means = k * d
    covariance = {
        "full": k * (d * (d + 1) // 2),
        "tied": d * (d + 1) // 2,
        "diag": k * d,
        "spherical": k,
    }[covariance_type]
    return weights + means + covariance


FITTED_ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


def assert_models_close(a, b, rtol, attributes=FITTED_ATTRIBUTES, lower_bound=True, shift=None):
    """Fitted attributes of two mixtures agree to ``rtol`` (relative to each array's scale).

    Entries near zero (off-diagonal covariances) are compared with an absolute
    tolerance of ``rtol * max|reference|`` so that the test is about relative accuracy
    of the whole array, not of its tiniest element.  ``shift`` is subtracted from
    ``a.means_`` first.
    """
    for name in attributes:
        got = np.asarray(getattr(a, name), dtype=np.float64)
        want = np.asarray(getattr(b, name), dtype=np.float64)
        if name == "means_" and shift is not None:
            got = got - shift
        assert got.shape == want.shape, name
        scale = np.abs(want).max()
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=name)
    if lower_bound:
        np.testing.assert_allclose(a.lower_bound_, b.lower_bound_, rtol=rtol, err_msg="lower_bound_")


# ------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def ref():
    """The reference helpers of this module, as a namespace."""
    return types.SimpleNamespace(
        COVARIANCE_TYPES=COVARIANCE_TYPES,
        make_blobs=make_blobs,
        make_inits=make_inits,
        random_spd=random_spd,
        full_covariances=full_covariances,
        model_covariances=model_covariances,
        weighted_log_prob=weighted_log_prob,
        model_log_density=model_log_density,
        model_responsibilities=model_responsibilities,
        n_free_parameters=n_free_parameters,
        assert_models_close=assert_models_close,
        FITTED_ATTRIBUTES=FITTED_ATTRIBUTES,
    )
