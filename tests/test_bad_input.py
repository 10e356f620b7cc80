"""Bad input gets a ValueError / TypeError that names the problem (never a crash,
a hang or a silent NaN model)."""

import re
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
# Every parameter gaussmix shares with scikit-learn fails as scikit-learn's does: the
# same exception type (InvalidParameterError, a ValueError, for types and ranges) and
# the same message.  scikit-learn is the reference, run on the same input.
def _raised(make, X, **fit_kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            make().fit(X, **fit_kw)
        except Exception as exc:  # noqa: BLE001 - the exception is what is compared
            return exc
    return None


def _assert_same_error(ours, theirs, X, named=None):
    """The same exception type and message; ``named``: the parameter our message adds."""
    expected, got = _raised(theirs, X), _raised(ours, X)
    assert expected is not None, "scikit-learn accepted the input: not a bad-input case"
    assert type(got) is type(expected), (got, expected)
    suffix = "" if named is None else f" (in {named})"
    assert _sorted_sets(str(got)) == _sorted_sets(str(expected) + suffix)


def _sorted_sets(message):
    """The options of "{'a', 'b'}" in a message, sorted: a set prints in hash order."""
    return re.sub(r"\{([^{}]*)\}",
                  lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", message)


GM_CASES = [
    dict(n_components=0), dict(n_components=-2), dict(n_components=2.5),
    dict(n_components="2"), dict(tol=-1),
    dict(tol=np.nan), dict(reg_covar=-1), dict(max_iter=-1), dict(max_iter=1.5),
    dict(n_init=0), dict(verbose_interval=0), dict(verbose=-1),
    dict(warm_start="yes"), dict(random_state="seed"), dict(weights_init="abc"),
]


@pytest.mark.parametrize("params", GM_CASES, ids=repr)
def test_bad_parameter_values_match_sklearn(X, params):
    from sklearn import mixture

    kw = {"n_components": 2, **params}
    _assert_same_error(lambda: GaussianMixture(**kw), lambda: mixture.GaussianMixture(**kw), X)


def test_unknown_init_params_lists_hc_too(X):
    from sklearn import mixture

    with pytest.raises(Exception) as theirs:
        mixture.GaussianMixture(init_params="x").fit(X)
    with pytest.raises(type(theirs.value)) as ours:
        GaussianMixture(init_params="x").fit(X)
    expected = _sorted_sets(str(theirs.value)).removesuffix(" Got 'x' instead.")
    message = _sorted_sets(str(ours.value))
    assert message.startswith(expected.removesuffix(".")) and "{'hc'}" in message


def test_unknown_covariance_type_lists_scikit_learn_and_mclust_names(X):
    """scikit-learn's message, with mclust's 14 names added (its four are aliases)."""
    from sklearn import mixture

    with pytest.raises(Exception) as theirs:
        mixture.GaussianMixture(covariance_type="banana").fit(X)
    with pytest.raises(type(theirs.value)) as ours:
        GaussianMixture(covariance_type="banana").fit(X)
    expected = _sorted_sets(str(theirs.value)).removesuffix(" Got 'banana' instead.")
    message = _sorted_sets(str(ours.value))
    assert message.startswith(expected.removesuffix("."))
    assert "or a str among {'EEE', 'EEI'" in message


BGM_CASES = [
    dict(covariance_type="banana"),
    dict(weight_concentration_prior_type="x"), dict(weight_concentration_prior=0.0),
    dict(weight_concentration_prior=-1), dict(mean_precision_prior=0),
    dict(degrees_of_freedom_prior=0.0), dict(degrees_of_freedom_prior=0.5),
    dict(covariance_prior=-1.0), dict(mean_prior=[0.0, 0.0, 0.0]),
    dict(mean_prior=[np.nan, 0.0]), dict(covariance_prior=np.eye(3)),
    dict(covariance_prior=[[1.0, 2.0], [2.0, 1.0]]),
    dict(covariance_type="diag", covariance_prior=[1.0, -1.0]),
    dict(covariance_type="diag", covariance_prior=[1.0, 1.0, 1.0]),
    dict(covariance_type="tied", covariance_prior=[[1.0, 0.5], [0.0, 1.0]]),
]


@pytest.mark.parametrize("params", BGM_CASES, ids=repr)
def test_bad_prior_values_match_sklearn(X, params):
    from sklearn import mixture

    from gaussmix import BayesianGaussianMixture

    # scikit-learn's messages for mean_prior and covariance_prior speak of 'means' and
    # 'full precision'; gaussmix keeps them and names the parameter after them.
    # (Scalars fail the parameter constraints, whose message names the parameter.)
    named = next((name for name in ("mean_prior", "covariance_prior")
                  if np.ndim(params.get(name)) > 0), None)
    _assert_same_error(lambda: BayesianGaussianMixture(n_components=2, **params),
                       lambda: mixture.BayesianGaussianMixture(n_components=2, **params), X,
                       named)


def test_method_is_validated_like_the_other_parameters(X):
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'method' parameter of GaussianMixture"):
        GaussianMixture(method="x").fit(X)


@pytest.mark.parametrize("params", [dict(verbose=True), dict(n_components=np.int64(2)),
                                    dict(tol=np.float32(1e-3), max_iter=np.int32(50),
                                         reg_covar=np.float64(1e-6), n_init=np.uint8(1))],
                         ids=repr)
def test_numpy_scalars_and_bool_verbose_are_accepted(X, params, capsys):
    from sklearn import mixture

    params = {"n_components": 2, **params}
    ours = GaussianMixture(random_state=0, **params).fit(X)
    theirs = mixture.GaussianMixture(random_state=0, **params).fit(X)
    np.testing.assert_allclose(np.sort(ours.means_, axis=0), np.sort(theirs.means_, axis=0),
                               rtol=1e-6)


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
ASYMMETRIC = [[1.0, 0.5], [0.0, 1.0]]


@pytest.mark.parametrize("covariance_type,params", [
    ("full", dict(weights_init=[0.2, 0.3, 0.5])),
    ("full", dict(weights_init=[[0.5, 0.5]])),
    ("full", dict(weights_init=[-0.5, 1.5])),
    ("full", dict(weights_init=[0.3, 0.3])),
    ("full", dict(weights_init=[np.nan, 1.0])),
    ("full", dict(means_init=np.zeros((3, 2)))),
    ("full", dict(means_init=np.zeros((2, 3)))),
    ("full", dict(means_init=np.zeros(2))),
    ("full", dict(means_init=np.full((2, 2), np.inf))),
    ("full", dict(precisions_init=np.stack([EYE] * 3))),
    ("full", dict(precisions_init=EYE)),
    ("full", dict(precisions_init=np.stack([EYE, -EYE]))),
    ("full", dict(precisions_init=np.stack([EYE, [[1.0, 2.0], [2.0, 1.0]]]))),
    ("full", dict(precisions_init=np.stack([EYE, ASYMMETRIC]))),
    ("tied", dict(precisions_init=np.stack([EYE, EYE]))),
    ("tied", dict(precisions_init=[[1.0, 0.0], [0.0, 0.0]])),
    ("diag", dict(precisions_init=np.ones((2, 3)))),
    ("diag", dict(precisions_init=[[1.0, 1.0], [1.0, -1.0]])),
    ("spherical", dict(precisions_init=np.ones(3))),
    ("spherical", dict(precisions_init=[1.0, 0.0])),
    ("spherical", dict(precisions_init=[1.0, np.nan])),
], ids=repr)
def test_bad_initial_values_match_sklearn(X, covariance_type, params):
    from sklearn import mixture

    kw = dict(n_components=2, covariance_type=covariance_type, **params)
    _assert_same_error(lambda: GaussianMixture(**kw), lambda: mixture.GaussianMixture(**kw), X)


def test_collapsed_component_without_regularisation():
    """reg_covar=0 and a component on identical points: the ill-defined-covariance error."""
    X = np.vstack([np.ones((10, 2)), np.ones((10, 2)) * 5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match="ill-defined empirical covariance"):
            GaussianMixture(n_components=2, reg_covar=0.0, random_state=0).fit(X)


@pytest.mark.parametrize("n_samples", [0, -1])
def test_bad_sample_size_matches_sklearn(X, fitted, n_samples):
    from sklearn import mixture

    reference = mixture.GaussianMixture(n_components=2, random_state=0).fit(X)
    with pytest.raises(ValueError) as expected:
        reference.sample(n_samples)
    with pytest.raises(ValueError) as got:
        fitted.sample(n_samples)
    # The same message, except that scikit-learn's prints n_components where it means
    # the n_samples given (its format argument is self.n_components); ours prints the
    # value given.
    assert str(got.value) == str(expected.value).replace("': 2 .", f"': {n_samples} .")


def test_non_integer_sample_size(fitted):
    with pytest.raises(TypeError, match="n_samples"):
        fitted.sample(2.5)


# ------------------------------------------------------------------------ input types
def _as(kind, X):
    if kind == "int":
        return np.rint(X * 10).astype(np.int64)
    if kind == "bool":
        return X > 0
    if kind == "uint8":
        return np.clip(np.rint(X * 10 + 100), 0, 255).astype(np.uint8)
    if kind == "float16":
        return X.astype(np.float16)
    if kind == "big-endian":
        return X.astype(">f8")
    if kind == "masked":
        return np.ma.masked_array(X, mask=np.zeros_like(X, dtype=bool))
    if kind == "pandas-nullable":
        pd = pytest.importorskip("pandas")
        return pd.DataFrame(X, columns=["a", "b"]).astype("Float64")
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["int", "uint8", "float16", "big-endian", "masked",
                                  "pandas-nullable"])
def test_numeric_input_types_fit_as_float64(X, kind):
    data = _as(kind, X)
    gm = GaussianMixture(n_components=2, random_state=0).fit(data)
    reference = GaussianMixture(n_components=2, random_state=0).fit(
        np.asarray(data, dtype=np.float64))
    np.testing.assert_allclose(gm.means_, reference.means_)
    assert gm.means_.dtype == np.float64
    np.testing.assert_allclose(gm.predict_proba(data).sum(axis=1), 1.0)


def test_bool_input_is_a_clear_error_or_a_finite_model(X):
    try:
        gm = GaussianMixture(n_components=2, random_state=0).fit(_as("bool", X))
    except ValueError as exc:
        assert "ill-defined" in str(exc) or "distinct" in str(exc)
    else:
        assert np.all(np.isfinite(gm.covariances_))


def test_object_input_with_strings_is_refused(X):
    data = X.astype(object)
    data[3, 1] = "three"
    with pytest.raises(ValueError, match="could not convert|numeric"):
        GaussianMixture(n_components=2).fit(data)


def test_pandas_nullable_with_missing_value_is_refused(X):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b"]).astype("Float64")
    frame.iloc[4, 0] = pd.NA
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(n_components=2).fit(frame)


@pytest.mark.parametrize("method", ["em", "variational"])
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_reg_covar_zero_collapse_every_type(method, covariance_type):
    """A component on identical points without regularisation: the ill-defined error for
    EM; the default (proper) prior keeps a variational fit finite."""
    X = np.vstack([np.ones((10, 2)), np.ones((10, 2)) * 5, np.ones((10, 2)) * [5, 9]])
    gm = GaussianMixture(n_components=3, covariance_type=covariance_type, method=method,
                         reg_covar=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if method == "em":
            with pytest.raises(ValueError, match="ill-defined empirical covariance"):
                gm.fit(X)
            return
        gm.fit(X)
    assert np.all(np.isfinite(gm.lower_bounds_))
    np.testing.assert_allclose(gm.predict_proba(X).sum(axis=1), 1.0)


# ------------------------------------------------------------------------ contract
hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@hypothesis.settings(max_examples=200, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(
    n=st.integers(2, 40), d=st.integers(1, 4), k=st.integers(1, 4),
    dtype=st.sampled_from([np.float64, np.float32]),
    log_scale=st.sampled_from([-30, -8, 0, 8, 30]),
    offset=st.sampled_from([0.0, 1e6, -1e6]),
    weights=st.sampled_from(["none", "integer", "tiny", "one positive"]),
    method=st.sampled_from(["em", "variational"]),
    covariance_type=st.sampled_from(["full", "tied", "diag", "spherical"]),
    seed=st.integers(0, 2**16),
)
def test_contract_clear_error_or_a_finite_model(n, d, k, dtype, log_scale, offset, weights,
                                                method, covariance_type, seed):
    """Any valid-looking input: a clear ValueError, or a finite model whose
    probabilities sum to one."""
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(n, d)) * 10.0**log_scale + offset).astype(dtype)
    w = {"none": None, "integer": rng.integers(0, 4, n).astype(float),
         "tiny": rng.uniform(size=n) * 1e-200, "one positive": np.eye(1, n, 0)[0]}[weights]
    gm = GaussianMixture(k, method=method, covariance_type=covariance_type, max_iter=20,
                         random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            gm.fit(X, sample_weight=w)
        except ValueError as exc:
            message = str(exc)
            assert any(s in message for s in (
                "n_samples", "n_components", "sample_weight", "ill-defined", "Rescale X",
                "positive entries", "not finite", "at least one positive")), message
            with pytest.raises(NotFittedError):
                gm.predict(X)
            return
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(gm, name))), name
    assert np.isfinite(gm.lower_bound_)
    proba = gm.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
