"""partial_fit: stepwise EM and stochastic variational inference over mini-batches."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from gaussmix import GaussianMixture

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
CONFIGS = [(m, c) for m in ("em", "variational") for c in COVARIANCE_TYPES]

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _draw(rng, n_per):
    X = np.vstack([rng.normal(-3, 1, (n_per, 3)), rng.normal(2, 0.5, (n_per, 3)),
                   rng.normal([0, 5, 0], 1, (n_per, 3))])
    rng.shuffle(X)
    return X


def _matched(means, reference):
    """Index of the component of ``means`` nearest to each row of ``reference``."""
    order = [int(np.argmin(((means - m) ** 2).sum(axis=1))) for m in reference]
    assert sorted(order) == list(range(len(reference)))
    return order


@pytest.mark.parametrize("method,covariance_type", CONFIGS)
def test_stream_reaches_the_batch_optimum(method, covariance_type):
    """A shuffled stream of 240 batches of 500 rows, one pass each.

    Tolerance on the means, derived: near the optimum the running statistic is an
    exponentially weighted average of batch statistics with weight rho per step, whose
    variance is rho / (2 - rho) ~ rho / 2 times that of one batch's.  A batch holds about
    B pi_k rows of component k, so the running mean of component k has standard error
    sigma_k sqrt(rho_T / (2 B pi_k)); with rho_T = (239 + 10) ** -0.7 = 0.021, B = 500,
    pi_k = 1/3 that is 0.008 sigma_k.  The batch optimum's own error (sigma_k / sqrt(N
    pi_k) = 0.005 sigma_k) adds in quadrature, and the assertion allows 5 standard
    errors of the difference.
    """
    rng = np.random.default_rng(0)
    X, X_test = _draw(rng, 40_000), _draw(rng, 10_000)
    kwargs = dict(covariance_type=covariance_type, method=method, random_state=0)
    batch = GaussianMixture(3, **kwargs).fit(X)
    online = GaussianMixture(3, **kwargs)
    batches = np.array_split(X, 240)
    for part in batches:
        online.partial_fit(part)
    assert online.n_samples_seen_ == X.shape[0]
    assert online.n_iter_ == len(batches)
    ref = batch.score(X_test)
    assert abs(online.score(X_test) - ref) < 0.005 * abs(ref)
    order = _matched(online.means_, batch.means_)
    rho = (len(batches) - 1 + online.learning_offset) ** -online.learning_decay
    b, n = len(X) / len(batches), len(X)
    sd = np.sqrt(np.stack([np.diag(c) for c in _full_covariances(batch)]))
    pi = batch.weights_[:, np.newaxis]
    tolerance = 5 * sd * np.sqrt(rho / (2 * b * pi) + 1 / (n * pi))
    assert np.all(np.abs(online.means_[order] - batch.means_) < tolerance)
    weights_se = np.sqrt(rho / (2 * b) * batch.weights_ * (1 - batch.weights_))
    np.testing.assert_array_less(np.abs(online.weights_[order] - batch.weights_),
                                 5 * weights_se + 1e-3)


def _full_covariances(gm):
    k, d = gm.means_.shape
    cov = gm.covariances_
    return {
        "full": lambda: cov,
        "tied": lambda: np.tile(cov, (k, 1, 1)),
        "diag": lambda: np.stack([np.diag(c) for c in cov]),
        "spherical": lambda: np.stack([c * np.eye(d) for c in cov]),
    }[gm.covariance_type]()


def test_two_steps_match_a_numpy_stepwise_em():
    """Full covariance, ML: the recursion of Cappe & Moulines written out in raw moments.

    Batch statistics are sum r, sum r x, sum r x x^T over the batch (responsibilities
    from scipy.stats densities), per unit weight; the running statistic is their rho-
    average; the M-step is mean = S1/S0, covariance = S2/S0 - mean mean^T + reg.
    """
    rng = np.random.default_rng(3)
    X1, X2 = _draw(rng, 300), _draw(rng, 300)
    k, d = 3, 3
    start = {"weights_init": np.full(k, 1 / k), "means_init": X1[:3].copy(),
             "precisions_init": np.tile(np.eye(d), (k, 1, 1))}
    gm = GaussianMixture(k, reg_covar=1e-6, **start)
    gm.partial_fit(X1)
    gm.partial_fit(X2)

    def stats(X, weights, means, covs):
        dens = np.stack([w * multivariate_normal(m, c).pdf(X)
                         for w, m, c in zip(weights, means, covs)], axis=1)
        r = dens / dens.sum(axis=1, keepdims=True)
        return (r.sum(0) / len(X), r.T @ X / len(X),
                np.einsum("nk,ni,nj->kij", r, X, X) / len(X))

    def m_step(s0, s1, s2):
        means = s1 / s0[:, None]
        covs = s2 / s0[:, None, None] - np.einsum("ki,kj->kij", means, means)
        return s0 / s0.sum(), means, covs + 1e-6 * np.eye(d)

    s = stats(X1, start["weights_init"], start["means_init"], np.tile(np.eye(d), (k, 1, 1)))
    theta = m_step(*s)
    rho = (1 + gm.learning_offset) ** -gm.learning_decay
    s = tuple((1 - rho) * a + rho * b for a, b in zip(s, stats(X2, *theta)))
    weights, means, covs = m_step(*s)
    np.testing.assert_allclose(gm.weights_, weights, rtol=1e-9)
    np.testing.assert_allclose(gm.means_, means, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gm.covariances_, covs, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("method,covariance_type", CONFIGS)
def test_first_call_is_one_iteration_from_the_start(method, covariance_type):
    """The first batch's statistics are taken whole: fit(max_iter=1) from the same start."""
    rng = np.random.default_rng(1)
    X = _draw(rng, 200)
    kwargs = dict(covariance_type=covariance_type, method=method, random_state=0)
    online = GaussianMixture(3, **kwargs).partial_fit(X)
    batch = GaussianMixture(3, max_iter=1, **kwargs).fit(X)
    np.testing.assert_allclose(online.means_, batch.means_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(online.covariances_, batch.covariances_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(online.weights_, batch.weights_, rtol=1e-10)
    assert online.lower_bound_ == pytest.approx(batch.lower_bound_, rel=1e-10)


def test_fit_after_partial_fit_starts_over_and_partial_fit_continues_a_fit():
    rng = np.random.default_rng(2)
    X = _draw(rng, 300)
    fresh = GaussianMixture(3, random_state=0).fit(X)
    gm = GaussianMixture(3, random_state=0)
    gm.partial_fit(X[:300]).partial_fit(X[300:])
    gm.fit(X)
    assert not hasattr(gm, "n_samples_seen_")
    np.testing.assert_array_equal(gm.means_, fresh.means_)
    # partial_fit on a fitted model continues from it: a fitted optimum barely moves.
    gm.partial_fit(X)
    assert gm.n_samples_seen_ == X.shape[0]
    np.testing.assert_allclose(gm.means_, fresh.means_, atol=1e-2)


def test_partial_fit_bad_input_same_errors_and_state_kept():
    rng = np.random.default_rng(4)
    X = _draw(rng, 100)
    X_nan = X.copy()
    X_nan[7, 2] = np.nan
    gm = GaussianMixture(3, random_state=0)
    with pytest.raises(ValueError) as fit_error:
        GaussianMixture(3).fit(X_nan)
    with pytest.raises(ValueError) as partial_error:
        gm.partial_fit(X_nan)
    assert str(partial_error.value) == str(fit_error.value)
    with pytest.raises(NotFittedError):
        check_is_fitted(gm)
    with pytest.raises(ValueError, match="Expected n_samples >= n_components"):
        gm.partial_fit(X[:2])
    gm.partial_fit(X)
    means = gm.means_.copy()
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 3"):
        gm.partial_fit(X[:, :2])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        gm.partial_fit(X_nan)
    np.testing.assert_array_equal(gm.means_, means)  # the failed calls changed nothing
    assert gm.n_samples_seen_ == X.shape[0]
    with pytest.raises(ValueError, match="learning_decay"):
        GaussianMixture(3, learning_decay=0.5).partial_fit(X)


def test_partial_fit_on_out_of_core_batches(tmp_path):
    """Batches may be memmaps (or any source): the same steps as in memory."""
    rng = np.random.default_rng(5)
    X = _draw(rng, 1000)
    np.save(tmp_path / "X.npy", X)
    X_mm = np.load(tmp_path / "X.npy", mmap_mode="r")
    a = GaussianMixture(3, random_state=0, working_memory=0.01)
    b = GaussianMixture(3, random_state=0, working_memory=0.01)
    for start in range(0, X.shape[0], 600):
        a.partial_fit(X[start:start + 600])
        b.partial_fit(X_mm[start:start + 600])
    np.testing.assert_allclose(b.means_, a.means_, rtol=1e-10)
    np.testing.assert_allclose(b.covariances_, a.covariances_, rtol=1e-10)
