"""(f) GaussianMixture is a scikit-learn estimator: check_estimator, Pipeline, clone,
GridSearchCV, pickling."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from gaussmix import GaussianMixture


def expected_failed_checks(estimator):
    """Checks gaussmix is known to fail on purpose, with the reason.

    None: every check is expected to pass.  (A check failing because of a bug is
    not listed here; it must show up as a failure.)
    """
    return {}


@parametrize_with_checks([GaussianMixture()], expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


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
