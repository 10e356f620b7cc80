"""Bootstrap standard errors of EM fits (gaussmix.diagnostics._bootstrap)."""

import sys
import types
import warnings

import numpy as np
import pytest
import xarray as xr
from arviz_stats import summary
from sklearn.exceptions import ConvergenceWarning

from gaussmix import GaussianMixture
from gaussmix.diagnostics import _bootstrap
from gaussmix.diagnostics._bootstrap import BootstrapResult, bootstrap

N_REPLICATES = 200


def three_clusters(n=3000, seed=0):
    """Three well-separated 2-D clusters with distinct weights and axis-aligned spreads."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    sigma = np.array([[1.0, 0.5], [0.7, 1.5], [1.2, 0.8]])
    labels = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    return centres[labels] + rng.standard_normal((n, 2)) * sigma[labels]


@pytest.fixture(scope="module")
def data():
    return three_clusters()


@pytest.fixture(scope="module")
def fitted(data):
    return GaussianMixture(3, random_state=0).fit(data)


@pytest.fixture(scope="module")
def result(fitted, data):
    return bootstrap(fitted, data, n_replicates=N_REPLICATES, random_state=1)


@pytest.fixture(scope="module")
def small():
    """A small data set, for the tests that only check the plumbing."""
    return three_clusters(n=300, seed=3)


# ------------------------------------------------------------------ the statistics
def test_standard_errors_of_the_means_agree_with_the_analytic_ones(fitted, data, result):
    """For well-separated clusters, SE(mean_kj) = sigma_kj / sqrt(n w_k), within 15 %."""
    n = data.shape[0]
    sigma = np.sqrt(np.diagonal(fitted.covariances_, axis1=1, axis2=2))
    analytic = sigma / np.sqrt(n * fitted.weights_[:, np.newaxis])
    bootstrap_se = result.means.std(axis=0, ddof=1)
    np.testing.assert_allclose(bootstrap_se, analytic, rtol=0.15)


def test_standard_errors_of_the_weights_agree_with_the_binomial_ones(fitted, data, result):
    """Known labels up to a few overlapping points: SE(w_k) = sqrt(w_k (1 - w_k) / n)."""
    w = fitted.weights_
    analytic = np.sqrt(w * (1.0 - w) / data.shape[0])
    np.testing.assert_allclose(result.weights.std(axis=0, ddof=1), analytic, rtol=0.15)


def test_replicates_are_aligned_with_the_fit(fitted, result):
    """Every replicate's component j is the fitted component j (within a few SE)."""
    assert result.weights.shape == (N_REPLICATES, 3)
    assert result.means.shape == (N_REPLICATES, 3, 2)
    assert result.covariances.shape == (N_REPLICATES, 3, 2, 2)
    se = result.means.std(axis=0, ddof=1)
    assert np.all(np.abs(result.means - fitted.means_) < 6 * se)
    np.testing.assert_allclose(result.weights.sum(axis=1), 1.0)
    # Replicates stay at the fitted optimum: small mixture distances.
    assert result.distances.shape == (N_REPLICATES,)
    assert np.all(result.distances < 1e-2)
    assert result.n_not_converged == 0 and result.n_failed == 0
    # Warm-started at the optimum, well-separated clusters need a handful of iterations.
    assert result.n_iter.max() <= 10


# ------------------------------------------------------------------ ArviZ
def test_dataset_has_a_draw_per_replicate_in_four_chains(result):
    ds = result.to_dataset()
    assert dict(ds.sizes) == {"chain": 4, "draw": N_REPLICATES // 4, "component": 3,
                              "feature": 2, "feature_bis": 2}
    assert ds["weights"].dims == ("chain", "draw", "component")
    assert ds["means"].dims == ("chain", "draw", "component", "feature")
    assert ds["covariances"].dims == ("chain", "draw", "component", "feature", "feature_bis")
    for name in ("weights", "means", "covariances"):
        assert np.all(np.isfinite(ds[name].values)), name
    np.testing.assert_array_equal(ds["means"].values.reshape(result.means.shape),
                                  result.means)
    assert ds.attrs["inference_library"] == "gaussmix"
    assert ds.attrs["n_replicates"] == N_REPLICATES


def test_arviz_summary_gives_finite_standard_errors_and_intervals(result):
    dt = xr.DataTree.from_dict({"bootstrap": result.to_dataset()})
    table = summary(dt, group="bootstrap", kind="stats")
    assert table.notna().all().all()
    assert len(table) == 3 + 6 + 12
    # sd is the bootstrap standard error, and the interval holds the replicates' bulk.
    np.testing.assert_allclose(table.loc["means[0, 0]", "sd"],
                               result.means[:, 0, 0].std(ddof=1), rtol=0.05)
    lower, upper = (c for c in table.columns if c.endswith(("_lb", "_ub")))
    assert np.all(table[lower].astype(float) < table["mean"].astype(float))
    assert np.all(table["mean"].astype(float) < table[upper].astype(float))
    # kind='all': nothing is NaN; r_hat of independent replicates is 1 up to noise.
    full = summary(dt, group="bootstrap", round_to="none")
    assert full.notna().all().all()
    assert np.all(np.abs(full["r_hat"].astype(float) - 1) < 0.1)


@pytest.mark.parametrize("covariance_type, shape, dims", [
    ("full", (3, 2, 2), ("component", "feature", "feature_bis")),
    ("tied", (2, 2), ("feature", "feature_bis")),
    ("diag", (3, 2), ("component", "feature")),
    ("spherical", (3,), ("component",)),
])
def test_every_covariance_type(small, covariance_type, shape, dims):
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(small)
    res = bootstrap(model, small, n_replicates=8, random_state=0)
    assert res.covariances.shape == (8, *shape)
    assert res.covariance_type == covariance_type
    ds = res.to_dataset()
    assert ds["covariances"].dims == ("chain", "draw", *dims)
    table = summary(xr.DataTree.from_dict({"bootstrap": ds}), group="bootstrap", kind="stats")
    assert table.notna().all().all()


def test_feature_names_become_coordinates(small):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(small, columns=["width", "height"])
    model = GaussianMixture(3, random_state=0).fit(frame)
    ds = bootstrap(model, frame, n_replicates=4, random_state=0).to_dataset()
    assert list(ds["feature"].values) == ["width", "height"]
    assert list(ds["feature_bis"].values) == ["width", "height"]


# ------------------------------------------------------------------ alignment
class _Relabelling(GaussianMixture):
    """A GaussianMixture whose fit lists its components in a random order."""

    _rng = np.random.default_rng(42)

    def fit(self, X, y=None, sample_weight=None):
        super().fit(X, sample_weight=sample_weight)
        order = self._rng.permutation(self.n_components)
        self.weights_ = self.weights_[order]
        self.means_ = self.means_[order]
        if self.covariance_type != "tied":
            self.covariances_ = self.covariances_[order]
            self.precisions_ = self.precisions_[order]
        return self


@pytest.mark.parametrize("covariance_type", ["full", "tied", "spherical"])
def test_label_switching_is_undone(small, monkeypatch, covariance_type):
    """Refits that list their components in a random order give the same replicates."""
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(small)
    plain = bootstrap(model, small, n_replicates=10, random_state=0)
    monkeypatch.setattr(_bootstrap, "clone",
                        lambda est: _Relabelling(**est.get_params(deep=False)))
    relabelled = bootstrap(model, small, n_replicates=10, random_state=0)
    for name in ("weights", "means", "covariances", "distances"):
        np.testing.assert_allclose(getattr(relabelled, name), getattr(plain, name),
                                   rtol=1e-12, err_msg=name)
    # (the warm start keeps the fitted labels, so without relabelling nothing moves)
    assert np.all(np.abs(plain.means - model.means_) < 1.0)


# ------------------------------------------------------------------ the scheme
def test_reproducible_and_seeded(fitted, data):
    a = bootstrap(fitted, data, n_replicates=3, random_state=7)
    b = bootstrap(fitted, data, n_replicates=3, random_state=np.random.default_rng(7))
    c = bootstrap(fitted, data, n_replicates=3, random_state=8)
    np.testing.assert_array_equal(a.means, b.means)
    assert not np.array_equal(a.means, c.means)


def test_sample_weight_multiplies_the_counts(small, monkeypatch):
    """Replicate weights are counts * sample_weight, the counts a Multinomial(n, 1/n)."""
    model = GaussianMixture(3, random_state=0).fit(small)
    n = small.shape[0]
    seen = []
    original_fit = GaussianMixture.fit

    def recording_fit(self, X, y=None, sample_weight=None):
        seen.append(np.array(sample_weight))
        return original_fit(self, X, sample_weight=sample_weight)

    monkeypatch.setattr(GaussianMixture, "fit", recording_fit)
    unweighted = bootstrap(model, small, n_replicates=3, random_state=5)
    base = np.linspace(0.5, 2.0, n)
    bootstrap(model, small, sample_weight=base, n_replicates=3, random_state=5)
    counts, weighted = seen[:3], seen[3:]
    for c, w in zip(counts, weighted, strict=True):
        assert c.sum() == n and np.all(c == np.round(c)) and np.all(c >= 0)
        np.testing.assert_array_equal(w, c * base)
    # A constant weight changes nothing (the scheme does not depend on its scale).
    seen.clear()
    doubled = bootstrap(model, small, sample_weight=np.full(n, 2.0), n_replicates=3,
                        random_state=5)
    np.testing.assert_allclose(doubled.means, unweighted.means, rtol=1e-10)


def test_replicates_start_at_the_fitted_model(small, monkeypatch):
    model = GaussianMixture(3, n_init=3, random_state=0, verbose=0).fit(small)
    started = []
    original_fit = GaussianMixture.fit

    def recording_fit(self, X, y=None, sample_weight=None):
        started.append(self.get_params(deep=False))
        return original_fit(self, X, sample_weight=sample_weight)

    monkeypatch.setattr(GaussianMixture, "fit", recording_fit)
    bootstrap(model, small, n_replicates=2, random_state=0)
    for params in started:
        assert params["n_init"] == 1 and params["warm_start"] is False
        np.testing.assert_allclose(params["weights_init"], model.weights_)
        np.testing.assert_array_equal(params["means_init"], model.means_)
        np.testing.assert_array_equal(params["precisions_init"], model.precisions_)
        assert params["tol"] == model.tol and params["max_iter"] == model.max_iter


def test_non_converged_replicates_are_counted_not_warned(small):
    model = GaussianMixture(3, random_state=0).fit(small)
    model.set_params(max_iter=1)    # every refit stops before its objective settles
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = bootstrap(model, small, n_replicates=4, random_state=0)
    assert res.n_not_converged == 4
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert res.to_dataset().attrs["n_not_converged"] == 4


def test_failed_refits_are_redrawn(small, monkeypatch):
    model = GaussianMixture(3, random_state=0).fit(small)
    calls = []
    original_fit = GaussianMixture.fit

    def flaky_fit(self, X, y=None, sample_weight=None):
        calls.append(1)
        if len(calls) % 2:
            raise ValueError("ill-defined empirical covariance")
        return original_fit(self, X, sample_weight=sample_weight)

    monkeypatch.setattr(GaussianMixture, "fit", flaky_fit)
    res = bootstrap(model, small, n_replicates=3, random_state=0)
    assert res.n_replicates == 3 and res.n_failed == 3

    def failing_fit(self, X, y=None, sample_weight=None):
        raise ValueError("ill-defined empirical covariance")

    monkeypatch.setattr(GaussianMixture, "fit", failing_fit)
    with pytest.raises(RuntimeError, match="could not be refitted"):
        bootstrap(model, small, n_replicates=2, random_state=0)


# ------------------------------------------------------------------ progress
def test_progress_bar_counts_replicates(small, monkeypatch):
    model = GaussianMixture(3, random_state=0).fit(small)
    bars = []

    class FakeBar:
        def __init__(self, total, desc):
            self.total, self.n, self.closed = total, 0, False
            bars.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.closed = True

        def update(self, k=1):
            self.n += k

    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=FakeBar))
    bootstrap(model, small, n_replicates=3, random_state=0, progress=True)
    assert len(bars) == 1 and bars[0].total == 3 and bars[0].n == 3 and bars[0].closed
    bootstrap(model, small, n_replicates=3, random_state=0, progress=False)
    bootstrap(model, small, n_replicates=3, random_state=0)   # None: stderr is no terminal
    assert len(bars) == 1


def test_progress_without_tqdm(small, monkeypatch):
    model = GaussianMixture(3, random_state=0).fit(small)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)   # import tqdm.auto raises
    with pytest.raises(ImportError, match=r"gaussmix\[progress\]"):
        bootstrap(model, small, n_replicates=2, random_state=0, progress=True)
    res = bootstrap(model, small, n_replicates=2, random_state=0)   # None: silently none
    assert isinstance(res, BootstrapResult) and res.n_replicates == 2


# ------------------------------------------------------------------ errors
def test_variational_fits_are_refused(small):
    model = GaussianMixture(3, method="variational", random_state=0).fit(small)
    with pytest.raises(ValueError, match="method='variational'"):
        bootstrap(model, small, n_replicates=2)


def test_bad_arguments(small):
    model = GaussianMixture(3, random_state=0).fit(small)
    with pytest.raises(ValueError, match="features"):
        bootstrap(model, small[:, :1], n_replicates=2)
    with pytest.raises(ValueError, match="n_replicates"):
        bootstrap(model, small, n_replicates=0)
    with pytest.raises(ValueError, match="sample_weight"):
        bootstrap(model, small, sample_weight=np.ones(3), n_replicates=2)
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        bootstrap(GaussianMixture(3), small, n_replicates=2)
