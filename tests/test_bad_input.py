"""Bad input gets a ValueError / TypeError that names the problem (never a crash,
a hang or a silent NaN model)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from gaussmix import GaussianMixture


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(-3, 1, (20, 2)), rng.normal(3, 1, (20, 2))])


@pytest.fixture(scope="module")
def fitted(X):
    return GaussianMixture(n_components=2, random_state=0).fit(X)


def _with(X, row, col, value):
    Y = X.copy()
    Y[row, col] = value
    return Y


# ------------------------------------------------------------------------ X
@pytest.mark.parametrize("value,match", [(np.nan, "NaN"), (np.inf, "infinity"),
                                         (-np.inf, "infinity")])
def test_non_finite_X(X, fitted, value, match):
    bad = _with(X, 5, 1, value)
    with pytest.raises(ValueError, match=match):
        GaussianMixture(n_components=2).fit(bad)
    for method in ("predict", "predict_proba", "score_samples", "score"):
        with pytest.raises(ValueError, match=match):
            getattr(fitted, method)(bad)
    with pytest.raises(ValueError, match=match):
        GaussianMixture(n_components=2).fit(bad.astype(np.float32))


def test_1d_X(X, fitted):
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        GaussianMixture().fit(X[:, 0])
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        fitted.predict(X[0])


def test_3d_X(X):
    with pytest.raises(ValueError, match="dim 3"):
        GaussianMixture().fit(X.reshape(20, 2, 2))


def test_empty_X(fitted):
    with pytest.raises(ValueError, match="0 sample"):
        GaussianMixture().fit(np.empty((0, 2)))
    with pytest.raises(ValueError, match="0 sample"):
        fitted.predict(np.empty((0, 2)))


def test_X_without_features():
    with pytest.raises(ValueError, match="0 feature"):
        GaussianMixture().fit(np.empty((10, 0)))


def test_single_sample():
    with pytest.raises(ValueError, match="1 sample"):
        GaussianMixture().fit(np.ones((1, 2)))


@pytest.mark.parametrize("dtype", [str, object])
def test_strings(dtype):
    X = np.array([["a", "b"], ["c", "d"], ["e", "f"]], dtype=dtype)
    with pytest.raises((ValueError, TypeError), match="(?i)string|convert"):
        GaussianMixture().fit(X)


def test_complex(X, fitted):
    with pytest.raises((ValueError, TypeError), match="(?i)complex"):
        GaussianMixture().fit(X + 1j)
    with pytest.raises((ValueError, TypeError), match="(?i)complex"):
        fitted.predict(X + 1j)


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array, sp.csc_matrix])
def test_sparse(X, fitted, container):
    with pytest.raises(TypeError, match="(?i)sparse"):
        GaussianMixture().fit(container(X))
    with pytest.raises(TypeError, match="(?i)sparse"):
        fitted.predict(container(X))


def test_fewer_samples_than_components(X):
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(n_components=5).fit(X[:4])


def test_fewer_positive_weights_than_components(X):
    w = np.zeros(X.shape[0])
    w[0] = 1.0
    with pytest.raises(ValueError, match="sample_weight.*n_components"):
        GaussianMixture(n_components=2).fit(X, sample_weight=w)


def test_wrong_number_of_features_at_predict(X, fitted):
    for method in ("predict", "predict_proba", "score_samples", "score", "bic", "aic"):
        with pytest.raises(ValueError, match="3 features.*expecting 2 features"):
            getattr(fitted, method)(np.zeros((4, 3)))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score_samples", "score",
                                    "bic", "aic", "sample"])
def test_not_fitted(X, method):
    gm = GaussianMixture()
    args = () if method == "sample" else (X,)
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(gm, method)(*args)


def test_overflowing_finite_data_is_not_a_silent_nan_model(X):
    """Finite data whose squared distances overflow: a clear error or a finite model."""
    bad = np.vstack([X, [[1e200, -1e200]]])
    for covariance_type in ("full", "tied", "diag", "spherical"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gm = GaussianMixture(n_components=2, covariance_type=covariance_type,
                                     random_state=0).fit(bad)
        except ValueError:
            continue
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
            assert np.all(np.isfinite(getattr(gm, name))), (covariance_type, name)
        assert np.isfinite(gm.lower_bound_), covariance_type


# --------------------------------------------------------------- parameters
@pytest.mark.parametrize("params,error,match", [
    (dict(n_components=0), ValueError, "n_components"),
    (dict(n_components=-2), ValueError, "n_components"),
    (dict(n_components=2.5), TypeError, "n_components"),
    (dict(n_components="2"), TypeError, "n_components"),
    (dict(covariance_type="banana"), ValueError, "covariance_type"),
    (dict(tol=-1), ValueError, "tol"),
    (dict(tol=np.nan), ValueError, "tol"),
    (dict(reg_covar=-1), ValueError, "reg_covar"),
    (dict(max_iter=-1), ValueError, "max_iter"),
    (dict(max_iter=1.5), TypeError, "max_iter"),
    (dict(n_init=0), ValueError, "n_init"),
    (dict(init_params="x"), ValueError, "init_params"),
    (dict(method="x"), ValueError, "method"),
    (dict(verbose_interval=0), ValueError, "verbose_interval"),
    (dict(verbose=-1), ValueError, "verbose"),
    (dict(warm_start="yes"), TypeError, "warm_start"),
])
def test_bad_parameter_values(X, params, error, match):
    with pytest.raises(error, match=match):
        GaussianMixture(**params).fit(X)


# ------------------------------------------------------------ sample weights
@pytest.mark.parametrize("make,match", [
    (lambda n: -np.ones(n), "non-negative"),
    (lambda n: np.r_[1.0, -0.5, np.ones(n - 2)], "non-negative"),
    (lambda n: np.r_[np.nan, np.ones(n - 1)], "NaN"),
    (lambda n: np.r_[np.inf, np.ones(n - 1)], "infinity"),
    (lambda n: np.zeros(n), "zero"),
    (lambda n: np.ones(n - 1), "entries"),
    (lambda n: np.ones(n + 3), "entries"),
    (lambda n: np.ones((n, 1)), "1-D"),
])
def test_bad_sample_weight(X, fitted, make, match):
    w = make(X.shape[0])
    with pytest.raises(ValueError, match=f"sample_weight.*{match}|{match}.*sample_weight"):
        GaussianMixture(n_components=2).fit(X, sample_weight=w)
    with pytest.raises(ValueError, match=f"sample_weight.*{match}|{match}.*sample_weight"):
        fitted.score(X, sample_weight=w)


def test_non_numeric_sample_weight(X):
    with pytest.raises(TypeError, match="sample_weight"):
        GaussianMixture(n_components=2).fit(X, sample_weight=["a"] * X.shape[0])
    with pytest.raises(TypeError, match="sample_weight"):
        GaussianMixture(n_components=2).fit(X, sample_weight=np.ones(X.shape[0]) * 1j)


# ------------------------------------------------------------- initial values
EYE = np.eye(2)


@pytest.mark.parametrize("covariance_type,params,match", [
    ("full", dict(weights_init=[0.2, 0.3, 0.5]), "weights_init.*shape"),
    ("full", dict(weights_init=[[0.5, 0.5]]), "weights_init.*shape"),
    ("full", dict(weights_init=[-0.5, 1.5]), "weights_init"),
    ("full", dict(weights_init=[0.3, 0.3]), "weights_init must sum to 1"),
    ("full", dict(weights_init=[np.nan, 1.0]), "weights_init.*NaN"),
    ("full", dict(means_init=np.zeros((3, 2))), "means_init.*shape"),
    ("full", dict(means_init=np.zeros((2, 3))), "means_init.*shape"),
    ("full", dict(means_init=np.zeros(2)), "means_init.*shape"),
    ("full", dict(means_init=np.full((2, 2), np.inf)), "means_init.*infinity"),
    ("full", dict(precisions_init=np.stack([EYE] * 3)), "precisions_init.*shape"),
    ("full", dict(precisions_init=EYE), "precisions_init.*shape"),
    ("full", dict(precisions_init=np.stack([EYE, -EYE])), "precisions_init.*positive definite"),
    ("full", dict(precisions_init=np.stack([EYE, [[1.0, 2.0], [2.0, 1.0]]])),
     "precisions_init.*positive definite"),
    ("full", dict(precisions_init=np.stack([EYE, [[1.0, 0.5], [0.0, 1.0]]])),
     "precisions_init.*symmetric"),
    ("tied", dict(precisions_init=np.stack([EYE, EYE])), "precisions_init.*shape"),
    ("tied", dict(precisions_init=[[1.0, 0.0], [0.0, 0.0]]), "precisions_init.*positive definite"),
    ("diag", dict(precisions_init=np.ones((2, 3))), "precisions_init.*shape"),
    ("diag", dict(precisions_init=[[1.0, 1.0], [1.0, -1.0]]), "precisions_init.*positive"),
    ("spherical", dict(precisions_init=np.ones(3)), "precisions_init.*shape"),
    ("spherical", dict(precisions_init=[1.0, 0.0]), "precisions_init.*positive"),
    ("spherical", dict(precisions_init=[1.0, np.nan]), "precisions_init.*NaN"),
])
def test_bad_initial_values(X, covariance_type, params, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(n_components=2, covariance_type=covariance_type, **params).fit(X)


def test_collapsed_component_without_regularisation():
    """reg_covar=0 and a component on identical points: the ill-defined-covariance error."""
    X = np.vstack([np.ones((10, 2)), np.ones((10, 2)) * 5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match="ill-defined empirical covariance"):
            GaussianMixture(n_components=2, reg_covar=0.0, random_state=0).fit(X)


@pytest.mark.parametrize("n_samples,error", [(0, ValueError), (-1, ValueError),
                                             (2.5, TypeError)])
def test_bad_sample_size(fitted, n_samples, error):
    with pytest.raises(error, match="n_samples"):
        fitted.sample(n_samples)
