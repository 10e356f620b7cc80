"""GaussianMixture is a scikit-learn estimator: check_estimator, Pipeline, clone,
GridSearchCV, pickling, float32 outputs."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import BayesianGaussianMixture, GaussianMixture


# k >= 2, so that the initialisation matters; EM, variational Bayes, MAP EM and the
# BayesianGaussianMixture name, across covariance types.
CHECKED = [
    GaussianMixture(n_components=2),
    GaussianMixture(n_components=2, covariance_type="tied"),
    GaussianMixture(n_components=2, method="variational", covariance_type="diag"),
    GaussianMixture(n_components=2, mean_precision_prior=1.0, covariance_type="spherical"),
    BayesianGaussianMixture(n_components=2),
    # mclust's deterministic hierarchical start passes the sample-weight equivalence
    GaussianMixture(n_components=2, init_params="hc"),
    GaussianMixture(n_components=3, covariance_type="VEV", init_params="hc"),
]


def _expected_failed(estimator):
    expected = estimator._expected_failed_checks()
    # Only the one check, for the one reason: anything else must show up as a failure.
    if estimator.init_params == "hc":
        assert expected == {}
    else:
        assert set(expected) == {"check_sample_weight_equivalence_on_dense_data"}
    return expected


@parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failed)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("method", ["em", "variational"])
def test_expected_failure_reason_holds(method):
    """The declared reason is the true one: from the same start (means, weights and
    precisions given, no k-means), integer weights equal repeated rows."""
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(-2, 1, (25, 2)), rng.normal(2, 1, (25, 2))])
    w = rng.integers(0, 4, size=X.shape[0])
    start = dict(weights_init=[0.5, 0.5], means_init=[[-1.0, 0.0], [1.0, 0.0]],
                 precisions_init=np.stack([np.eye(2)] * 2))
    if method == "variational":
        start = dict(means_init=start["means_init"], weights_init=start["weights_init"],
                     precisions_init=start["precisions_init"])
    kw = dict(n_components=2, method=method, tol=1e-12, max_iter=300, **start)
    weighted = GaussianMixture(**kw).fit(X, sample_weight=w)
    repeated = GaussianMixture(**kw).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X),
                               rtol=1e-8, atol=1e-11)


@pytest.fixture(scope="module")
def data(ref):
    X, y = ref.make_blobs(n_samples=240, n_features=3, n_components=3, seed=101)
    # very different feature scales, so that scaling matters
    return X * np.array([1.0, 100.0, 0.01]) + np.array([0.0, 5000.0, -3.0]), y


def test_pipeline_with_standard_scaler(data):
    X, _ = data
    pipe = make_pipeline(StandardScaler(), GaussianMixture(n_components=3, random_state=0))
    pipe.fit(X)
    Z = StandardScaler().fit_transform(X)
    alone = GaussianMixture(n_components=3, random_state=0).fit(Z)
    np.testing.assert_array_equal(pipe.predict(X), alone.predict(Z))
    np.testing.assert_allclose(pipe.predict_proba(X), alone.predict_proba(Z), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(pipe.score_samples(X), alone.score_samples(Z), rtol=1e-10)
    np.testing.assert_allclose(pipe.score(X), alone.score(Z), rtol=1e-10)
    np.testing.assert_allclose(pipe[-1].means_, alone.means_, rtol=1e-10, atol=1e-12)
    # sample_weight is routed to the mixture through fit params
    w = np.random.default_rng(0).integers(1, 3, size=X.shape[0])
    pipe.fit(X, gaussianmixture__sample_weight=w)
    weighted = GaussianMixture(n_components=3, random_state=0).fit(Z, sample_weight=w)
    np.testing.assert_allclose(pipe[-1].means_, weighted.means_, rtol=1e-10, atol=1e-12)


def test_clone_copies_parameters_not_fit(data, ref):
    X, _ = data
    inits = ref.make_inits(X, 3, "diag", seed=0)
    gm = GaussianMixture(n_components=3, covariance_type="diag", tol=1e-5, reg_covar=1e-4,
                         max_iter=50, n_init=2, init_params="random", random_state=3,
                         warm_start=True, verbose=0, verbose_interval=5, **inits)
    gm.fit(X)
    copy = clone(gm)
    assert copy is not gm
    params, copied = gm.get_params(), copy.get_params()
    assert params.keys() == copied.keys()
    for name, value in params.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(copied[name], value)
        else:
            assert copied[name] == value, name
    assert not hasattr(copy, "means_")
    assert not hasattr(copy, "converged_")
    refit = copy.fit(X)
    np.testing.assert_allclose(refit.means_, gm.means_, rtol=1e-12)


def test_grid_search_over_n_components(data):
    X, _ = data
    Z = StandardScaler().fit_transform(X)
    grid = [1, 2, 3, 4]
    cv = KFold(n_splits=3, shuffle=True, random_state=0)
    search = GridSearchCV(GaussianMixture(random_state=0), {"n_components": grid}, cv=cv)
    search.fit(Z)
    # the scores are GaussianMixture.score (mean held-out log-likelihood), recomputed by hand
    for i, k in enumerate(grid):
        folds = [GaussianMixture(n_components=k, random_state=0).fit(Z[train]).score(Z[test])
                 for train, test in cv.split(Z)]
        np.testing.assert_allclose(search.cv_results_["mean_test_score"][i], np.mean(folds),
                                   rtol=1e-10)
    # three well-separated clusters: one component is far worse than three
    scores = dict(zip(grid, search.cv_results_["mean_test_score"]))
    assert scores[3] > scores[1] + 0.5
    assert search.best_params_["n_components"] in (3, 4)
    assert search.best_estimator_.n_components == search.best_params_["n_components"]


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_pickle_round_trip(data, covariance_type, dtype):
    X = StandardScaler().fit_transform(data[0]).astype(dtype)
    gm = GaussianMixture(n_components=3, covariance_type=covariance_type, random_state=0).fit(X)
    restored = pickle.loads(pickle.dumps(gm))
    np.testing.assert_array_equal(restored.predict(X), gm.predict(X))
    np.testing.assert_array_equal(restored.predict_proba(X), gm.predict_proba(X))
    np.testing.assert_array_equal(restored.score_samples(X), gm.score_samples(X))
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        got, want = getattr(restored, name), getattr(gm, name)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert restored.get_params() == gm.get_params()
    np.testing.assert_array_equal(restored.sample(10)[0], gm.sample(10)[0])


@pytest.mark.parametrize("method", ["em", "variational"])
def test_float32_outputs(data, method):
    """float32 input: predict_proba and score_samples are float32 and score is a Python
    float, as scikit-learn's GaussianMixture returns them.  (scikit-learn's
    BayesianGaussianMixture computes in float64; gaussmix keeps float32 for both.)"""
    from sklearn import mixture

    X = StandardScaler().fit_transform(data[0]).astype(np.float32)
    ours = GaussianMixture(n_components=3, method=method, random_state=0).fit(X)
    theirs = mixture.GaussianMixture(n_components=3, random_state=0).fit(X)
    for name in ("predict_proba", "score_samples"):
        got, want = getattr(ours, name)(X), getattr(theirs, name)(X)
        assert got.dtype == want.dtype == np.float32, name
    assert type(ours.score(X)) is type(theirs.score(X)) is float
    assert ours.predict(X).dtype == theirs.predict(X).dtype
    np.testing.assert_allclose(ours.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)
    # accumulated in float64: the float32 result is the float64 one, rounded
    exact = ours.score_samples(X.astype(np.float64))
    np.testing.assert_allclose(ours.score_samples(X), exact.astype(np.float32), rtol=1e-5)
