"""(b) Densities, responsibilities and labels against a plain scipy.stats mixture.

The reference log-density is log sum_k w_k N(x | m_k, C_k) evaluated with
``scipy.stats.multivariate_normal`` from the fitted ``weights_``, ``means_`` and
``covariances_``: nothing of gaussmix's kernel layout is reused.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
# float32: the kernel projects in float32, so ~1e-6 relative per term
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-4)}


@pytest.fixture(scope="module", params=[np.float64, np.float32], ids=["float64", "float32"])
def dtype(request):
    return request.param


def _data(ref, dtype):
    X, _ = ref.make_blobs(n_samples=300, n_features=3, n_components=3, seed=11, dtype=dtype)
    rng = np.random.default_rng(12)
    # new points: near the data, and far from every component (tiny densities)
    X_new = np.vstack([
        X[:40] + rng.normal(scale=0.3, size=(40, 3)),
        rng.normal(scale=30.0, size=(10, 3)),
    ]).astype(dtype)
    return X, X_new


def _fit(X, covariance_type, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(n_components=3, covariance_type=covariance_type,
                               random_state=0, **kw).fit(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_score_samples_is_mixture_log_density(ref, covariance_type, dtype):
    X, X_new = _data(ref, dtype)
    gm = _fit(X, covariance_type)
    for data in (X, X_new):
        got = gm.score_samples(data)
        assert got.shape == (data.shape[0],)
        want = ref.model_log_density(gm, data)
        np.testing.assert_allclose(got, want, **TOL[dtype])
    # score is the average of score_samples, again against the reference
    np.testing.assert_allclose(gm.score(X), ref.model_log_density(gm, X).mean(), **TOL[dtype])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_predict_proba_is_normalised_density(ref, covariance_type, dtype):
    X, X_new = _data(ref, dtype)
    gm = _fit(X, covariance_type)
    for data in (X, X_new[:40]):
        proba = gm.predict_proba(data)
        assert proba.shape == (data.shape[0], 3)
        assert np.all(proba >= 0) and np.all(proba <= 1)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(proba, ref.model_responsibilities(gm, data),
                                   rtol=0, atol=1e-8 if dtype == np.float64 else 1e-4)
        np.testing.assert_array_equal(gm.predict(data), proba.argmax(axis=1))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_predict_recovers_well_separated_clusters(ref, covariance_type, dtype):
    """Labels agree with the generating clusters up to a permutation."""
    X, y = ref.make_blobs(n_samples=240, n_features=2, n_components=3, seed=2,
                          spread=8.0, dtype=dtype)
    labels = _fit(X, covariance_type).predict(X)
    # contingency table: each true cluster maps to exactly one label
    table = np.zeros((3, 3), dtype=int)
    np.add.at(table, (y, labels), 1)
    assert np.sum(table.max(axis=1)) >= 0.97 * len(y)
    assert len(set(table.argmax(axis=1))) == 3


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("max_iter", [1, 100])
def test_fit_predict_equals_fit_then_predict(ref, covariance_type, dtype, max_iter):
    X, _ = ref.make_blobs(n_samples=200, n_features=2, n_components=3, seed=4, dtype=dtype)
    params = dict(n_components=3, covariance_type=covariance_type, random_state=3,
                  max_iter=max_iter, n_init=2, init_params="random")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = GaussianMixture(**params).fit_predict(X)
        gm = GaussianMixture(**params).fit(X)
    np.testing.assert_array_equal(labels, gm.predict(X))
    # and the labels are the argmax of the reference responsibilities
    np.testing.assert_array_equal(labels, ref.model_responsibilities(gm, X).argmax(axis=1))


def test_fit_predict_with_sample_weight(ref):
    X, _ = ref.make_blobs(n_samples=200, n_features=2, n_components=3, seed=4)
    w = np.random.default_rng(0).integers(0, 4, size=X.shape[0]).astype(float)
    params = dict(n_components=3, random_state=3)
    labels = GaussianMixture(**params).fit_predict(X, sample_weight=w)
    gm = GaussianMixture(**params).fit(X, sample_weight=w)
    np.testing.assert_array_equal(labels, gm.predict(X))
