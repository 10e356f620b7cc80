"""The estimator around the kernel: honest state after failures, warm starts after
set_params, singular data, weight scale, far points and overflow."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from gaussmix import GaussianMixture
from gaussmix._fit import InMemorySource

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
METHODS = ("em", "variational")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _blobs(d=3, n=100, seed=0):
    rng = np.random.default_rng(seed)
    return np.r_[rng.normal(0, 1, (n, d)), rng.normal(5, 1, (n, d))]


def _collapsing(d=2):
    """Duplicated rows: with reg_covar=0 a component's covariance is singular."""
    return np.repeat(np.arange(4.0)[:, None] * np.ones(d), 10, axis=0)


# ------------------------------------------------------------------ failed fits
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_failed_first_fit_leaves_the_estimator_unfitted(method, covariance_type):
    gm = GaussianMixture(4, covariance_type=covariance_type, method=method, reg_covar=0.0,
                         random_state=0)
    try:
        gm.fit(_collapsing())
    except ValueError as exc:
        assert "ill-defined" in str(exc) or "not finite" in str(exc)
        with pytest.raises(NotFittedError):
            check_is_fitted(gm)
        with pytest.raises(NotFittedError):
            gm.predict(_collapsing())
        assert not hasattr(gm, "n_features_in_")
    else:   # the prior keeps variational fits regular: that fit must then be finite
        assert method == "variational" and np.all(np.isfinite(gm.covariances_))


def test_failed_refit_keeps_the_previous_model():
    X2 = _blobs(d=2)
    gm = GaussianMixture(2, random_state=0).fit(X2)
    before = gm.predict_proba(X2)
    gm.set_params(reg_covar=0.0, n_components=4)
    with pytest.raises(ValueError, match="ill-defined"):
        gm.fit(_collapsing(d=3))                       # other features, and it fails
    assert gm.n_features_in_ == 2 and gm.n_components == 4   # params stay as set
    np.testing.assert_array_equal(gm.predict_proba(X2), before)


def test_keyboard_interrupt_mid_fit_restores_state(monkeypatch):
    X = _blobs()
    gm = GaussianMixture(2, random_state=0).fit(X)
    means = gm.means_.copy()
    calls = {"n": 0}
    original = InMemorySource.statistics

    def interrupted(self, inputs, stats_shape):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, inputs, stats_shape)

    monkeypatch.setattr(InMemorySource, "statistics", interrupted)
    with pytest.raises(KeyboardInterrupt):
        gm.set_params(n_components=3).fit(X)
    assert calls["n"] == 3                              # stopped within one pass
    np.testing.assert_array_equal(gm.means_, means)
    assert gm.means_.shape == (2, 3)


# ------------------------------------------------------------------ warm start
@pytest.mark.parametrize("change", [
    {"n_components": 3}, {"covariance_type": "tied", "n_components": 3},
    {"covariance_type": "diag"}, {"method": "variational"},
])
def test_incompatible_warm_start_refits_from_scratch_with_a_warning(change):
    X = _blobs()
    gm = GaussianMixture(2, warm_start=True, random_state=0).fit(X)
    gm.set_params(**change)
    with pytest.warns(UserWarning, match="warm_start=True cannot continue"):
        gm.fit(X)
    fresh = GaussianMixture(**{**gm.get_params(), "warm_start": False}).fit(X)
    np.testing.assert_allclose(gm.means_, fresh.means_)
    assert gm.means_.shape == (gm.n_components, 3)


def test_warm_start_on_other_features_refits_and_compatible_one_continues():
    X = _blobs()
    gm = GaussianMixture(2, warm_start=True, random_state=0).fit(X)
    with pytest.warns(UserWarning, match="n_features 3 -> 2"):
        gm.fit(X[:, :2])
    assert gm.means_.shape == (2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)     # compatible: no warning
        gm.set_params(tol=1e-8).fit(X[:, :2])


# ------------------------------------------------------------------ singular data
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("case", ["constant feature", "identical rows", "one weighted row"])
def test_variational_elbo_stays_finite_on_singular_data(covariance_type, case):
    rng = np.random.default_rng(0)
    X, w = rng.normal(size=(60, 2)), None
    if case == "constant feature":
        X[:, 1] = 3.0
    elif case == "identical rows":
        X = np.ones((60, 2))
    else:
        w = np.zeros(60)
        w[7] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # no "divide by zero in log"
        warnings.filterwarnings("ignore", "Number of distinct clusters")
        gm = GaussianMixture(1 if w is not None else 2, covariance_type=covariance_type,
                             method="variational", max_iter=1000, random_state=0)
        gm.fit(X, sample_weight=w)
    assert np.all(np.isfinite(gm.lower_bounds_))
    assert gm.converged_
    assert np.all(np.diff(gm.lower_bounds_) > -1e-6 * np.abs(gm.lower_bounds_[1:]))


# ------------------------------------------------------------------ weights
@pytest.mark.parametrize("scale", [1e-20, 1e-300, 1e100])
def test_fit_depends_only_on_relative_weights(scale):
    X = _blobs()
    w = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    ref = GaussianMixture(2, random_state=0).fit(X, sample_weight=w)
    gm = GaussianMixture(2, random_state=0).fit(X, sample_weight=w * scale)
    np.testing.assert_allclose(gm.covariances_, ref.covariances_, rtol=1e-10)
    np.testing.assert_allclose(gm.weights_, ref.weights_, rtol=1e-10)
    assert gm.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-12)


def test_weights_whose_sum_overflows_are_refused():
    X = _blobs()
    with pytest.raises(ValueError, match="sums to infinity"):
        GaussianMixture(2).fit(X, sample_weight=np.full(X.shape[0], 1e306))


# ------------------------------------------------------------------ far points
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_probabilities_sum_to_one_for_far_points(dtype):
    X = _blobs(d=2).astype(dtype)
    gm = GaussianMixture(2, random_state=0).fit(X)
    top = np.finfo(dtype).max / 10
    far = np.array([[1e10, 1e10], [-1e10, 3e9], [1e18, -1e18], [1e20, -1e20], [top, top]],
                   dtype=dtype)
    proba = gm.predict_proba(far)
    # squares are formed in double: a float32 1e20 is far, not infinitely far, so its
    # components are still told apart (an overflow would give uniform probabilities)
    assert proba[3].max() > 0.99
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    labels = gm.predict(far)
    assert np.array_equal(labels, proba.argmax(axis=1))


# ------------------------------------------------------------------ overflow
@pytest.mark.parametrize("scale,dtype", [(1e300, np.float64), (1e19, np.float32)])
@pytest.mark.parametrize("max_iter", [0, 100])
def test_overflowing_data_gets_the_rescale_message(scale, dtype, max_iter):
    X = (_blobs() * scale).astype(dtype)
    gm = GaussianMixture(2, max_iter=max_iter, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match=r"Rescale X \(e.g. StandardScaler\) or increase "
                                             "reg_covar"):
            gm.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(gm)
