"""Properties EM must have whatever the implementation.

(c) the objective never decreases; (d) translation equivariance far from the origin;
(e) sample weights are repetitions, in the fit and in the log-likelihood; (g) edge
cases, thread-count invariance, input layouts and dtypes, sampling, BIC / AIC.
"""

import os
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from gaussmix import _kernel
from gaussmix import GaussianMixture

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def _fit(X, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(**params).fit(X, sample_weight=sample_weight)


# ---------------------------------------------------------------- (c) monotone
@pytest.mark.parametrize("dtype,slack", [(np.float64, 1e-12), (np.float32, 1e-6)],
                         ids=["float64", "float32"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_never_decreases_one_step_at_a_time(ref, covariance_type, dtype, slack):
    X, _ = ref.make_blobs(n_samples=200, n_features=3, n_components=4, seed=21, dtype=dtype)
    # an explicit start away from the optimum (random precisions), so EM has to climb
    inits = ref.make_inits(X, 4, covariance_type, seed=3)
    gm = GaussianMixture(n_components=4, covariance_type=covariance_type, warm_start=True,
                         max_iter=1, random_state=0, **inits)
    bounds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(30):
            gm.fit(X)
            assert gm.n_iter_ == 1
            bounds.append(gm.lower_bound_)
    bounds = np.asarray(bounds)
    assert np.all(np.isfinite(bounds))
    steps = np.diff(bounds)
    assert np.all(steps >= -slack * np.abs(bounds[1:])), steps.min()
    # EM made real progress from the random start (the test is not vacuous)
    assert bounds[-1] - bounds[0] > 1.0
    # each warm-started step's objective is the reference log-likelihood of the
    # parameters it started from: check the last one
    before = ref.model_log_density(gm, X).mean()
    gm.fit(X)
    np.testing.assert_allclose(gm.lower_bound_, before, rtol=1e-10 if dtype == np.float64 else 1e-5)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_trace_of_one_fit_is_non_decreasing(ref, covariance_type):
    X, _ = ref.make_blobs(n_samples=200, n_features=2, n_components=3, seed=22)
    gm = _fit(X, n_components=3, covariance_type=covariance_type, init_params="random",
              random_state=1, max_iter=40, tol=0.0)
    trace = np.asarray(gm.lower_bounds_)
    assert trace.shape == (40,)
    assert trace[-1] == gm.lower_bound_
    assert np.all(np.diff(trace) >= -1e-12 * np.abs(trace[1:]))


# ------------------------------------------------------------ (d) far offset
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_data_far_from_origin_fits_like_centred_data(ref, covariance_type):
    offset = 1e6
    X, _ = ref.make_blobs(n_samples=300, n_features=3, n_components=3, seed=31)
    X = X - X.mean(axis=0)
    inits = ref.make_inits(X, 3, covariance_type, seed=1)
    shifted = dict(inits, means_init=inits["means_init"] + offset)
    params = dict(n_components=3, covariance_type=covariance_type, max_iter=20, tol=0.0)
    centred = _fit(X, **params, **inits)
    far = _fit(X + offset, **params, **shifted)
    np.testing.assert_allclose(far.means_ - offset, centred.means_, rtol=0, atol=1e-6)
    ref.assert_models_close(far, centred, rtol=1e-6,
                            attributes=("weights_", "covariances_", "precisions_",
                                        "precisions_cholesky_"))
    # and the densities follow the data
    np.testing.assert_allclose(far.score_samples(X[:50] + offset), centred.score_samples(X[:50]),
                               rtol=1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_data_far_from_origin_default_init(ref, covariance_type):
    """Same with the k-means initialisation (no explicit start)."""
    offset = 1e6
    X, _ = ref.make_blobs(n_samples=300, n_features=2, n_components=3, seed=32)
    X = X - X.mean(axis=0)
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0, tol=1e-8)
    centred = _fit(X, **params)
    far = _fit(X + offset, **params)
    np.testing.assert_allclose(far.means_ - offset, centred.means_, rtol=0, atol=1e-6)
    ref.assert_models_close(far, centred, rtol=1e-6, attributes=("weights_", "covariances_"))


# ---------------------------------------------------------- (e) sample weights
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows(ref, covariance_type):
    X, _ = ref.make_blobs(n_samples=150, n_features=3, n_components=3, seed=41)
    w = np.random.default_rng(0).integers(0, 4, size=X.shape[0])
    X_repeated = np.repeat(X, w, axis=0)
    inits = ref.make_inits(X, 3, covariance_type, seed=1)
    params = dict(n_components=3, covariance_type=covariance_type, max_iter=10, tol=0.0, **inits)
    weighted = _fit(X, sample_weight=w, **params)
    repeated = _fit(X_repeated, **params)
    ref.assert_models_close(weighted, repeated, rtol=1e-10)
    np.testing.assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-10)
    # float weights of the same values, and a list, give the same fit
    as_list = _fit(X, sample_weight=list(w.astype(float)), **params)
    ref.assert_models_close(as_list, weighted, rtol=1e-14)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_weighted_score_is_weighted_average_log_density(ref, covariance_type):
    X, _ = ref.make_blobs(n_samples=150, n_features=3, n_components=3, seed=42)
    w = np.random.default_rng(1).integers(0, 4, size=X.shape[0]).astype(float)
    gm = _fit(X, sample_weight=w, n_components=3, covariance_type=covariance_type, random_state=0)
    want = np.sum(w * ref.model_log_density(gm, X)) / w.sum()
    np.testing.assert_allclose(gm.score(X, sample_weight=w), want, rtol=1e-10)
    np.testing.assert_allclose(gm.score(X, sample_weight=w),
                               gm.score(np.repeat(X, w.astype(int), axis=0)), rtol=1e-10)
    # unweighted score is the plain average
    np.testing.assert_allclose(gm.score(X), ref.model_log_density(gm, X).mean(), rtol=1e-10)


def test_fractional_weights_scale_invariance(ref):
    """Multiplying every weight by a constant changes nothing."""
    X, _ = ref.make_blobs(n_samples=150, n_features=2, n_components=2, seed=43)
    w = np.random.default_rng(2).uniform(0.1, 2.0, size=X.shape[0])
    inits = ref.make_inits(X, 2, "full", seed=3)
    a = _fit(X, sample_weight=w, n_components=2, max_iter=10, tol=0.0, **inits)
    b = _fit(X, sample_weight=7.5 * w, n_components=2, max_iter=10, tol=0.0, **inits)
    ref.assert_models_close(a, b, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("outlier", [1e3, 1e200], ids=["moderate", "huge"])
def test_zero_weight_equals_row_removed(ref, covariance_type, outlier):
    """A zero-weight row has no influence at all, however far away it is."""
    X, _ = ref.make_blobs(n_samples=100, n_features=2, n_components=2, seed=44)
    keep = np.ones(X.shape[0], dtype=bool)
    keep[[3, 50, 99]] = False
    X_with = X.copy()
    X_with[50] = [outlier, -outlier]
    w = keep.astype(float)
    inits = ref.make_inits(X[keep], 2, covariance_type, seed=5)
    params = dict(n_components=2, covariance_type=covariance_type, max_iter=5, tol=0.0, **inits)
    with_zero = _fit(X_with, sample_weight=w, **params)
    removed = _fit(X[keep], **params)
    ref.assert_models_close(with_zero, removed, rtol=1e-10)
    np.testing.assert_allclose(with_zero.score(X_with, sample_weight=w), removed.score(X[keep]),
                               rtol=1e-10)


# ------------------------------------------------------------- (g) edge cases
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_single_feature(ref, covariance_type):
    rng = np.random.default_rng(51)
    X = np.concatenate([rng.normal(-3, 1, 120), rng.normal(4, 0.5, 80)])[:, None]
    gm = _fit(X, n_components=2, covariance_type=covariance_type, random_state=0, tol=1e-8)
    for name in ref.FITTED_ATTRIBUTES:
        assert np.all(np.isfinite(getattr(gm, name))), name
    assert gm.means_.shape == (2, 1)
    order = np.argsort(gm.means_[:, 0])
    np.testing.assert_allclose(gm.means_[order, 0], [-3, 4], atol=0.3)
    np.testing.assert_allclose(gm.weights_[order], [0.6, 0.4], atol=0.05)
    np.testing.assert_allclose(gm.score_samples(X), ref.model_log_density(gm, X), rtol=1e-10)


@pytest.mark.parametrize("n_features", [1, 3])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_single_component_is_the_sample_mean_and_covariance(ref, covariance_type, n_features):
    """k = 1 has a closed form: the (weighted) sample mean and biased covariance."""
    X, _ = ref.make_blobs(n_samples=300, n_features=n_features, n_components=2, seed=52)
    w = np.random.default_rng(3).uniform(0.2, 3.0, size=X.shape[0])
    reg = 1e-6
    for sample_weight in (None, w):
        gm = _fit(X, sample_weight=sample_weight, n_components=1,
                  covariance_type=covariance_type, random_state=0, max_iter=3, tol=0.0)
        weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        mean = np.average(X, axis=0, weights=weights)
        cov = np.atleast_2d(np.cov(X.T, aweights=weights, bias=True))
        want = {
            "full": (cov + reg * np.eye(n_features))[None],
            "tied": cov + reg * np.eye(n_features),
            "diag": (np.diag(cov) + reg)[None],
            "spherical": np.array([np.diag(cov).mean() + reg]),
        }[covariance_type]
        np.testing.assert_allclose(gm.weights_, [1.0], rtol=1e-12)
        np.testing.assert_allclose(gm.means_, mean[None], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gm.covariances_, want, rtol=1e-10, atol=1e-14)
        # after the first M-step the objective is the log-likelihood of the MLE
        ll = np.average(stats.multivariate_normal(
            mean, ref.model_covariances(gm)[0]).logpdf(X).reshape(-1), weights=weights)
        np.testing.assert_allclose(gm.lower_bound_, ll, rtol=1e-10)


@pytest.mark.parametrize("n_features", [1, 2])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_as_many_samples_as_components(ref, covariance_type, n_features):
    """n == k == 2: each component sits on one point with covariance reg_covar."""
    X = np.array([[0.0, 1.0], [3.0, -2.0]])[:, :n_features]
    gm = _fit(X, n_components=2, covariance_type=covariance_type, random_state=0)
    for name in ref.FITTED_ATTRIBUTES:
        assert np.all(np.isfinite(getattr(gm, name))), name
    order = np.argsort(gm.means_[:, 0])
    np.testing.assert_allclose(gm.means_[order], X[[0, 1]], atol=1e-9)
    np.testing.assert_allclose(gm.weights_, [0.5, 0.5], rtol=1e-9)
    np.testing.assert_allclose(ref.model_covariances(gm),
                               np.broadcast_to(1e-6 * np.eye(n_features), (2, n_features, n_features)),
                               rtol=1e-6, atol=1e-15)
    # log density at each point: log(1/2) + log N(0 | 0, 1e-6 I)
    want = np.log(0.5) - 0.5 * n_features * np.log(2 * np.pi * 1e-6)
    np.testing.assert_allclose(gm.score_samples(X), want, rtol=1e-9)
    np.testing.assert_allclose(gm.lower_bound_, want, rtol=1e-9)
    assert sorted(gm.predict(X)) == [0, 1]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_empty_component_stays_finite(ref, covariance_type):
    """A component given zero initial weight gets no responsibility but stays finite."""
    X, _ = ref.make_blobs(n_samples=120, n_features=2, n_components=2, seed=53)
    inits = ref.make_inits(X, 3, covariance_type, seed=0)
    inits["weights_init"] = np.array([0.5, 0.5, 0.0])
    gm = _fit(X, n_components=3, covariance_type=covariance_type, max_iter=5, tol=0.0, **inits)
    for name in ref.FITTED_ATTRIBUTES:
        assert np.all(np.isfinite(getattr(gm, name))), name
    assert gm.weights_[2] < 1e-10
    assert np.isfinite(gm.lower_bound_)


# ------------------------------------------------------------------- threads
@pytest.mark.skipif((os.cpu_count() or 1) < 2 or not _kernel.OPENMP_ENABLED,
                    reason="needs two cores and an OpenMP build")
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_and_two_threads_give_the_same_model(ref, covariance_type, dtype):
    # 1200 rows: several kernel chunks, so two threads really split the work
    X, _ = ref.make_blobs(n_samples=1200, n_features=4, n_components=3, seed=61, dtype=dtype)
    assert X.shape[0] > 2 * _kernel.CHUNK_SIZE
    models = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            assert _kernel.openmp_max_threads() == n_threads
            gm = _fit(X, n_components=3, covariance_type=covariance_type, random_state=0,
                      n_init=2, max_iter=20, tol=1e-6)
            models.append((gm, gm.score_samples(X), gm.predict_proba(X)))
    (one, s1, p1), (two, s2, p2) = models
    assert one.n_iter_ == two.n_iter_
    rtol = 1e-10 if dtype == np.float64 else 1e-5
    ref.assert_models_close(two, one, rtol=rtol)
    np.testing.assert_allclose(s2, s1, rtol=rtol)
    np.testing.assert_allclose(p2, p1, rtol=0, atol=rtol)


# --------------------------------------------------- input layouts and dtypes
@pytest.fixture(scope="module")
def layout_data():
    rng = np.random.default_rng(71)
    centres = np.array([[0, 0, 0, 0], [6, 0, 6, 0], [0, 6, 0, 6]], dtype=float)
    X = np.vstack([c + rng.normal(size=(60, 4)) for c in centres])
    return X[rng.permutation(X.shape[0])]


def _layouts(X):
    wide = np.zeros((X.shape[0], 2 * X.shape[1]))
    wide[:, ::2] = X
    tall = np.zeros((2 * X.shape[0], X.shape[1]))
    tall[::2] = X
    read_only = X.copy()
    read_only.setflags(write=False)
    return {
        "fortran": np.asfortranarray(X),
        "column view": wide[:, ::2],
        "row view": tall[::2],
        "read-only": read_only,
        "list": X.tolist(),
    }


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_layouts_give_the_same_model(ref, layout_data, covariance_type):
    X = layout_data
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0)
    base = _fit(X, **params)
    for name, variant in _layouts(X).items():
        gm = _fit(variant, **params)
        ref.assert_models_close(gm, base, rtol=1e-12)
        np.testing.assert_allclose(gm.score_samples(variant), base.score_samples(X), rtol=1e-12,
                                   err_msg=name)
        np.testing.assert_array_equal(base.predict(variant), base.predict(X), err_msg=name)
        np.testing.assert_allclose(base.predict_proba(variant), base.predict_proba(X),
                                   rtol=1e-12, atol=1e-15, err_msg=name)
    # the read-only input is left as it was
    assert not _layouts(X)["read-only"].flags.writeable


@pytest.mark.parametrize("int_dtype", [np.int64, np.int32, np.uint8])
def test_integer_input_equals_float64(ref, int_dtype):
    rng = np.random.default_rng(72)
    X = np.vstack([rng.integers(0, 20, size=(80, 2)), rng.integers(60, 90, size=(80, 2))])
    params = dict(n_components=2, random_state=0)
    a = _fit(X.astype(int_dtype), **params)
    b = _fit(X.astype(np.float64), **params)
    assert a.means_.dtype == np.float64
    ref.assert_models_close(a, b, rtol=1e-14)
    np.testing.assert_allclose(a.score_samples(X.astype(int_dtype)), b.score_samples(X), rtol=1e-14)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_in_float32_attributes(ref, covariance_type):
    X, _ = ref.make_blobs(n_samples=200, n_features=3, n_components=3, seed=73)
    gm32 = _fit(X.astype(np.float32), n_components=3, covariance_type=covariance_type,
                random_state=0)
    gm64 = _fit(X, n_components=3, covariance_type=covariance_type, random_state=0)
    for name in ref.FITTED_ATTRIBUTES:
        assert getattr(gm32, name).dtype == np.float32, name
        assert getattr(gm64, name).dtype == np.float64, name
    assert gm32.sample(5)[0].dtype == np.float32
    # float32 and float64 fits agree to float32 accuracy
    ref.assert_models_close(gm32, gm64, rtol=1e-3)


# ------------------------------------------------------------------ sampling
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_shapes_labels_and_moments(ref, covariance_type):
    X, _ = ref.make_blobs(n_samples=240, n_features=2, n_components=3, seed=81, spread=6.0)
    gm = _fit(X, n_components=3, covariance_type=covariance_type, random_state=0)
    n = 6000
    Xs, ys = gm.sample(n)
    assert Xs.shape == (n, 2) and ys.shape == (n,)
    assert set(np.unique(ys)) <= {0, 1, 2}
    covs = ref.model_covariances(gm)
    # component counts follow the weights (multinomial, ~4 sd)
    counts = np.bincount(ys, minlength=3)
    sd = np.sqrt(n * gm.weights_ * (1 - gm.weights_))
    assert np.all(np.abs(counts - n * gm.weights_) < 4 * sd + 1)
    # each label's draws have that component's mean and covariance
    for j in range(3):
        drawn = Xs[ys == j]
        se = np.sqrt(np.diag(covs[j]) / drawn.shape[0])
        assert np.all(np.abs(drawn.mean(axis=0) - gm.means_[j]) < 5 * se + 1e-12), j
        np.testing.assert_allclose(np.cov(drawn.T), covs[j], atol=0.15 * np.abs(covs[j]).max())
    # and the whole sample has the mixture's mean and covariance
    mean = gm.weights_ @ gm.means_
    second = sum(w * (c + np.outer(m, m)) for w, m, c in zip(gm.weights_, gm.means_, covs))
    np.testing.assert_allclose(Xs.mean(axis=0), mean, atol=0.1 * np.sqrt(np.diag(second - np.outer(mean, mean))).max())
    np.testing.assert_allclose(np.cov(Xs.T), second - np.outer(mean, mean), rtol=0.1, atol=0.1)
    # same random_state, same draws
    Xs2, ys2 = gm.sample(n)
    np.testing.assert_array_equal(Xs2, Xs)
    np.testing.assert_array_equal(ys2, ys)


# ----------------------------------------------------------------- BIC / AIC
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("k,d", [(1, 1), (3, 2), (2, 4)])
def test_bic_aic_formula(ref, covariance_type, k, d):
    X, _ = ref.make_blobs(n_samples=150, n_features=d, n_components=max(k, 2), seed=91)
    gm = _fit(X, n_components=k, covariance_type=covariance_type, random_state=0)
    n = X.shape[0]
    log_likelihood = ref.model_log_density(gm, X).sum()
    p = ref.n_free_parameters(covariance_type, k, d)
    np.testing.assert_allclose(gm.bic(X), -2 * log_likelihood + p * np.log(n), rtol=1e-10)
    np.testing.assert_allclose(gm.aic(X), -2 * log_likelihood + 2 * p, rtol=1e-10)
