"""gaussmix against scikit-learn's GaussianMixture, the reference implementation.

(a) From the same start and for the same number of EM iterations both must produce
the same parameters and lower bound (to rounding); with the same ``random_state``
both must draw the same initialisation and reach the same model.
(h) Old Faithful, tied covariance, 3 components: the global optimum of the
likelihood equals the one R's mclust 6.0 reports for model EEE, G = 3.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from threadpoolctl import threadpool_limits

import gaussmix
from gaussmix import GaussianMixture

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
RTOL = {np.float64: 1e-10, np.float32: 1e-4}


def _fit_both(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GaussianMixture(**params).fit(X)
        theirs = SklearnGaussianMixture(**params).fit(X)
    return ours, theirs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("max_iter", [1, 8])
def test_same_start_same_iterations_as_sklearn(ref, covariance_type, dtype, max_iter):
    X, _ = ref.make_blobs(n_samples=300, n_features=3, n_components=3, seed=1, dtype=dtype)
    inits = ref.make_inits(X, 3, covariance_type, seed=2)
    ours, theirs = _fit_both(
        X, n_components=3, covariance_type=covariance_type, max_iter=max_iter, tol=0.0,
        random_state=0, **inits,
    )
    assert ours.n_iter_ == theirs.n_iter_ == max_iter
    assert not ours.converged_
    ref.assert_models_close(ours, theirs, rtol=RTOL[dtype])
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=RTOL[dtype])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_start_higher_dimension_as_sklearn(ref, covariance_type):
    """d = 6, k = 4, n spanning several kernel chunks (CHUNK_SIZE = 256)."""
    X, _ = ref.make_blobs(n_samples=700, n_features=6, n_components=4, seed=3)
    inits = ref.make_inits(X, 4, covariance_type, seed=4)
    ours, theirs = _fit_both(
        X, n_components=4, covariance_type=covariance_type, max_iter=5, tol=0.0,
        random_state=0, **inits,
    )
    ref.assert_models_close(ours, theirs, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "random"])
def test_same_random_state_same_model_as_sklearn(ref, covariance_type, init_params):
    """Initialisations drawn from the same random stream as scikit-learn's (n_init=2)."""
    X, _ = ref.make_blobs(n_samples=240, n_features=2, n_components=3, seed=5)
    params = dict(n_components=3, covariance_type=covariance_type, n_init=2,
                  init_params=init_params, random_state=7, max_iter=100, tol=1e-3)
    ours, theirs = _fit_both(X, **params)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    ref.assert_models_close(ours, theirs, rtol=1e-8)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-8)


@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data"])
def test_same_random_state_same_seeds_as_sklearn(ref, init_params):
    """The one-hot schemes pick the same seed points as scikit-learn.

    Only the means are compared: from a start that is not a partition of the data
    scikit-learn leaves the initial weights unnormalised (k/n in total) and its tied
    estimator pools X^T X over *all* samples, two of its quirks gaussmix does not copy.
    """
    X, _ = ref.make_blobs(n_samples=240, n_features=2, n_components=3, seed=5)
    ours, theirs = _fit_both(X, n_components=3, init_params=init_params,
                             random_state=7, max_iter=0)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-12)
    np.testing.assert_allclose(ours.weights_.sum(), 1.0, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_max_iter_zero_returns_initialisation_as_sklearn(ref, covariance_type):
    X, _ = ref.make_blobs(n_samples=200, n_features=2, n_components=2, seed=6)
    ours, theirs = _fit_both(X, n_components=2, covariance_type=covariance_type,
                             max_iter=0, random_state=3)
    ref.assert_models_close(ours, theirs, rtol=1e-10, lower_bound=False)
    assert ours.n_iter_ == theirs.n_iter_ == 0


def test_old_faithful_tied_three_components_matches_mclust():
    """mclust 6.0, Mclust(faithful, G = 3, modelNames = "EEE"): loglik = -1126.3159."""
    X, names = gaussmix.load_faithful()
    assert X.shape == (272, 2)
    assert names == ["eruptions", "waiting"]
    # One OpenMP thread: 272 rows are two kernel chunks, and ~5000 tiny two-thread
    # passes cost far more in OpenMP synchronisation than they save (badly so on a
    # loaded machine).  The thread count does not change the result (test_threads).
    with threadpool_limits(1, user_api="openmp"):
        gm = GaussianMixture(
            n_components=3, covariance_type="tied", tol=1e-10, reg_covar=0.0, n_init=20,
            max_iter=2000, random_state=1,
        ).fit(X)
    assert gm.converged_
    log_likelihood = gm.score(X) * X.shape[0]
    assert abs(log_likelihood - (-1126.3159)) < 1e-3
    # the reported objective is the same quantity
    assert abs(gm.lower_bound_ * X.shape[0] - (-1126.3159)) < 1e-3


# ------------------------------------------------- float32 far from the origin
@pytest.mark.parametrize("separation", [8.0, 1000.0])
@pytest.mark.parametrize("covariance_type", ["tied", "full", "diag", "spherical"])
def test_float32_far_from_the_origin_is_as_accurate_as_scikit_learn(covariance_type,
                                                                    separation):
    """Against a float64 fit from the same start: gaussmix's float32 covariances stay
    within 1e-6 relative at an offset of 1e3, and at least as close as scikit-learn's
    float32 ones (which lose much more on tied covariances, their X.T @ X form)."""
    rng = np.random.default_rng(7)
    d, k = 3, 3
    centres = separation * np.arange(k)[:, None] * np.ones(d)
    X64 = np.vstack([rng.normal(c, 1.0, size=(2000, d)) for c in centres]) + 1e3
    X32 = X64.astype(np.float32)
    X64 = X32.astype(np.float64)            # the same numbers in both precisions
    start = dict(weights_init=np.full(k, 1 / k), means_init=centres + 1e3 + 0.3)
    kw = dict(n_components=k, covariance_type=covariance_type, max_iter=20, tol=0, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = SklearnGaussianMixture(**kw).fit(X64).covariances_
        ours = GaussianMixture(**kw).fit(X32).covariances_
        try:
            theirs = SklearnGaussianMixture(**kw).fit(X32).covariances_
        except ValueError:      # its float32 covariance is not positive definite
            theirs = None

    def error(cov):
        return np.inf if cov is None else np.abs(cov - reference).max() / np.abs(reference).max()

    assert error(ours) < 1e-6
    assert error(ours) <= max(error(theirs), 1e-5)
