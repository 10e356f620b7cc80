"""Model selection (gaussmix._selection): the select grid and the bootstrap LRT.

Reference values for Old Faithful are mclust's (R, ``mclustBIC(faithful)``): EEE,3
log-likelihood -1126.326 and BIC -2314.316, VVV,2 BIC -2322.192, in mclust's sign
(higher is better); gaussmix's tables are minus these.
"""

import importlib
import importlib.util
import sys
import types

import numpy as np
import pandas as pd
import pytest

from gaussmix import GaussianMixture, load_faithful
from gaussmix._selection import (
    MCLUST_MODELS,
    SKLEARN_MODELS,
    LRTResult,
    SelectionResult,
    available_models,
    bootstrap_lrt,
    select,
)

FOUR = list(SKLEARN_MODELS)


@pytest.fixture(scope="module", autouse=True)
def _one_openmp_thread():
    """These tests make hundreds of fits of a few hundred rows, for which starting an
    OpenMP team costs more than it saves (much more on a busy machine); the numbers
    compared are computed under the same setting."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def faithful():
    return load_faithful()[0]


@pytest.fixture(scope="module")
def grid(faithful):
    """One shared grid on Old Faithful: G = 1..4, the four scikit-learn types."""
    return select(faithful, range(1, 5), FOUR, n_init=10)


def _cells(table):
    """The finite cells of a G x model table as a Series indexed by (G, model)."""
    return pd.Series({(G, m): table.loc[G, m] for G in table.index for m in table.columns
                      if np.isfinite(table.loc[G, m])})


def _two_clusters(n=150, seed=0, gap=8.0):
    rng = np.random.default_rng(seed)
    half = n // 2
    return np.r_[rng.normal(0.0, 1.0, (half, 2)), rng.normal(gap, 1.0, (n - half, 2))]


# ---------------------------------------------------------------------- the table
def test_table_is_G_by_model(grid):
    assert isinstance(grid, SelectionResult)
    for table in (grid.table, grid.loglik, grid.df, grid.reasons, grid.converged,
                  *grid.criteria.values()):
        assert table.shape == (4, 4)
        assert list(table.index) == [1, 2, 3, 4]
        assert list(table.columns) == FOUR
    assert grid.table.index.name == "n_components"
    assert grid.table.columns.name == "covariance_type"
    assert grid.table is grid.criteria["bic"]
    # df: k d + (k - 1) + covariance parameters, for d = 2.
    assert grid.df.loc[2, "full"] == 2 * 2 + 1 + 2 * 3
    assert grid.df.loc[3, "tied"] == 3 * 2 + 2 + 3
    assert grid.df.loc[1, "diag"] == 2 + 0 + 2
    assert grid.df.loc[4, "spherical"] == 4 * 2 + 3 + 4
    assert grid.table.notna().all().all()
    assert grid.reasons.isna().all().all()


def test_cells_equal_independent_fits(grid, faithful):
    n = faithful.shape[0]
    for G, model in [(1, "full"), (2, "full"), (3, "tied"), (4, "diag"), (2, "spherical")]:
        est = GaussianMixture(G, covariance_type=model, n_init=10, random_state=0).fit(faithful)
        assert grid.table.loc[G, model] == pytest.approx(est.bic(faithful), rel=1e-12)
        assert grid.criteria["aic"].loc[G, model] == pytest.approx(est.aic(faithful), rel=1e-12)
        assert grid.loglik.loc[G, model] == pytest.approx(est.score(faithful) * n, rel=1e-12)
        # bic = -2 loglik + df log n, aic = -2 loglik + 2 df
        assert grid.table.loc[G, model] == pytest.approx(
            -2 * grid.loglik.loc[G, model] + grid.df.loc[G, model] * np.log(n), rel=1e-12)


def test_mclust_sign_is_minus(grid):
    pd.testing.assert_frame_equal(grid.table_mclust, -grid.table)


def test_best_is_the_argmin(grid, faithful):
    stacked = _cells(grid.table)
    G, model = stacked.idxmin()
    assert grid.best_params_ == {"n_components": G, "covariance_type": model}
    best = grid.best_estimator_
    assert best.n_components == G and best.covariance_type == model
    assert best.bic(faithful) == pytest.approx(stacked.min(), rel=1e-12)
    assert grid.best_criterion_ == stacked.min()


def test_summary_and_top_list_models_in_order(grid):
    top = grid.top(5)
    values = top["bic"].to_numpy()
    assert np.all(np.diff(values) >= 0)
    expected = _cells(grid.table).sort_values().index[:5]
    assert list(top.index) == [f"{m},{G}" for G, m in expected]
    assert top["delta"].iloc[0] == 0 and np.all(top["delta"] >= 0)
    text = grid.summary()
    assert text.startswith("Top 3 models based on the BIC criterion:")
    positions = [text.index(label) for label in top.index[:3]]
    assert positions == sorted(positions)
    assert "mclust names: EEE,3" in text   # tied,3 is mclust's EEE,3
    assert f"{-values[0]:.3f}" in text     # mclust's sign too
    assert "tied,3" in repr(grid) and "<pre>" in grid._repr_html_()


def test_plot_one_line_per_model(grid):
    matplotlib = pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    fig = grid.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len(lines) == 4
    assert [line.get_label() for line in lines] == FOUR
    np.testing.assert_array_equal(lines[3].get_ydata(), grid.table["full"].to_numpy())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[-1] == "best: tied,3"
    best = ax.collections[0].get_offsets()[0]
    assert tuple(best) == (3, grid.table.loc[3, "tied"])
    flipped = grid.plot(mclust_sign=True).axes[0].get_lines()[3].get_ydata()
    np.testing.assert_array_equal(flipped, -grid.table["full"].to_numpy())
    # On given axes: the figure of the axes.
    fig2 = Figure()
    ax2 = fig2.add_subplot()
    assert grid.plot(ax=ax2) is fig2
    assert matplotlib is not None


def test_plot_without_matplotlib(grid, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    with pytest.raises(ImportError, match=r'pip install "gaussmix\[plot\]"'):
        grid.plot()


# ---------------------------------------------------------------------- ICL
def test_icl_adds_a_non_negative_classification_term(grid, faithful):
    icl, bic = grid.criteria["icl"], grid.criteria["bic"]
    assert np.all(icl.to_numpy() >= bic.to_numpy())
    np.testing.assert_allclose(icl.loc[1], bic.loc[1])       # G = 1 is crisp
    # mclust's definition, in scikit-learn's sign: bic - 2 sum_i log max_k z_ik.
    est = GaussianMixture(3, covariance_type="tied", n_init=10, random_state=0).fit(faithful)
    z = est.predict_proba(faithful)
    expected = est.bic(faithful) - 2 * np.sum(np.log(z.max(axis=1)))
    assert icl.loc[3, "tied"] == pytest.approx(expected, rel=1e-12)
    assert icl.loc[3, "tied"] > bic.loc[3, "tied"] + 1     # overlapping: a real penalty


def test_icl_equals_bic_when_crisp():
    X = _two_clusters(gap=1000.0)
    result = select(X, [1, 2], ["full", "spherical"], criterion="icl")
    np.testing.assert_allclose(result.criteria["icl"], result.criteria["bic"], rtol=0, atol=1e-6)
    assert result.table is result.criteria["icl"]
    assert result.best_params_["n_components"] == 2
    assert "ICL criterion" in result.summary()


def test_icl_ranks_by_icl(faithful):
    result = select(faithful, range(1, 5), ["full", "tied"], criterion="icl", n_init=3)
    stacked = _cells(result.criteria["icl"])
    G, model = stacked.idxmin()
    assert result.best_params_ == {"n_components": G, "covariance_type": model}


def test_estimator_icl_is_used_when_it_exists(monkeypatch, faithful):
    monkeypatch.setattr(GaussianMixture, "icl", lambda self, X: 42.0, raising=False)
    result = select(faithful, [1, 2], ["full"], criterion="icl")
    assert (result.table == 42.0).all().all()


# ---------------------------------------------------------------------- failures
def test_singular_fits_are_nan_with_a_reason():
    # Points on a line in 2-D: every full/tied/diag covariance is singular, the
    # spherical one is not.
    t = np.linspace(0.0, 1.0, 40)
    X = np.c_[t, 2.0 * t]
    result = select(X, [1, 2], FOUR)
    for model in ("full", "tied"):
        assert result.table[model].isna().all()
        assert all("singular covariance" in r for r in result.reasons[model])
        assert result.loglik[model].isna().all()
        assert result.df[model].notna().all()      # df is the model's, known anyway
    assert result.table["spherical"].notna().all()
    assert result.reasons["spherical"].isna().all()
    assert result.best_params_["covariance_type"] in ("spherical", "diag")
    assert "fits have no value" in result.summary()


def test_components_near_n_collapse_and_G_above_n_is_nan():
    X = np.random.default_rng(0).normal(size=(6, 2))
    result = select(X, [1, 5, 6, 8], ["full", "spherical"])
    assert result.table.loc[1].notna().all()
    # 5 or 6 components on 6 points: singletons, whose covariance is reg_covar alone.
    assert np.isnan(result.table.loc[6, "full"])
    assert "singular covariance" in result.reasons.loc[6, "full"]
    assert np.isnan(result.table.loc[5, "full"])
    for model in ("full", "spherical"):
        assert np.isnan(result.table.loc[8, model])
        assert result.reasons.loc[8, model].startswith("fewer samples than components")
    assert result.best_params_["n_components"] == 1


def test_a_grid_where_every_fit_fails_raises():
    X = np.random.default_rng(0).normal(size=(5, 2))
    with pytest.raises(ValueError, match="no fit of the grid succeeded: fewer samples"):
        select(X, [6, 7], ["full"])


def test_a_fit_that_raises_becomes_a_reason():
    # reg_covar=0 on collapsed data: the estimator raises, the cell is NaN + reason.
    X = np.r_[np.zeros((10, 2)), np.ones((10, 2))]
    X[:, 1] = 0.0
    result = select(X, [1, 2], ["full", "spherical"], reg_covar=0.0)
    assert np.isnan(result.table.loc[2, "full"])
    assert "the fit raised" in result.reasons.loc[2, "full"]
    assert result.best_params_ == {"n_components": 1, "covariance_type": "spherical"}


# ---------------------------------------------------------------------- Old Faithful
def test_faithful_picks_tied_3(faithful):
    result = select(faithful, covariance_type=["full", "tied"], n_init=10)
    assert result.table.shape == (9, 2)
    assert result.best_params_ == {"n_components": 3, "covariance_type": "tied"}
    assert result.top(2).index[0] == "tied,3"


def test_faithful_reproduces_mclust(faithful):
    result = select(faithful, [2, 3], ["full", "tied"], n_init=10, tol=1e-8, max_iter=2000)
    mclust_bic = result.table_mclust
    # VVV,2: mclust's BIC to its 3 printed decimals.
    assert mclust_bic.loc[2, "full"] == pytest.approx(-2322.192, abs=1e-3)
    # EEE,3: mclust's EM stops at a relative change of 1e-5 of the log-likelihood
    # (0.011 nats here), 0.010 below the maximum gaussmix converges to; so gaussmix is
    # at least as high, and within mclust's own tolerance.
    assert result.best_params_ == {"n_components": 3, "covariance_type": "tied"}
    loglik = result.loglik.loc[3, "tied"]
    assert -1126.326 <= loglik <= -1126.326 + 1e-5 * 1127
    assert -2314.316 <= mclust_bic.loc[3, "tied"] <= -2314.316 + 2 * 1e-5 * 1127
    assert result.df.loc[3, "tied"] == 11


# ---------------------------------------------------------------------- models
def test_all_means_the_models_the_estimator_accepts(faithful):
    models = available_models()
    accepted = set()
    for c in GaussianMixture._parameter_constraints["covariance_type"]:
        accepted |= set(getattr(c, "options", ()))
    assert models == (MCLUST_MODELS if set(MCLUST_MODELS) <= accepted else SKLEARN_MODELS)
    result = select(faithful[:60], [1, 2], "all")
    assert list(result.table.columns) == list(models)


def test_mclust_names_match_the_models_module():
    if importlib.util.find_spec("gaussmix.models") is None:
        pytest.skip("gaussmix.models not there yet")
    models = importlib.import_module("gaussmix.models")
    if hasattr(models, "MCLUST_MODELS"):
        assert tuple(models.MCLUST_MODELS) == MCLUST_MODELS


# ---------------------------------------------------------------------- starts
def _kmeans_labels(X, k):
    from sklearn.cluster import KMeans

    return KMeans(k, n_init=1, random_state=0).fit(X).labels_


def test_partition_hook_is_called_once_and_starts_every_cell(faithful):
    calls = []

    def partitions(X, ks):
        calls.append(list(ks))
        return np.stack([_kmeans_labels(X, k) for k in ks])

    result = select(faithful, [1, 2, 3], FOUR, partitions=partitions, n_init=5)
    assert calls == [[1, 2, 3]]            # one call (one tree) for the whole grid
    # Each cell = EM from the M-step of its partition under its own model.
    for G, model in [(2, "full"), (3, "tied"), (3, "diag"), (2, "spherical")]:
        labels = _kmeans_labels(faithful, G)
        resp = np.eye(G)[labels]
        # The partition's M-step under the model, built here independently.
        nk = resp.sum(axis=0)
        means = resp.T @ faithful / nk[:, None]
        covs = []
        for j in range(G):
            diff = faithful[labels == j] - means[j]
            covs.append(diff.T @ diff / nk[j] + 1e-6 * np.eye(2))
        covs = np.array(covs)
        if model == "tied":
            pooled = sum(nk[j] * (covs[j] - 1e-6 * np.eye(2)) for j in range(G)) / nk.sum()
            precisions = np.linalg.inv(pooled + 1e-6 * np.eye(2))
        elif model == "diag":
            precisions = 1.0 / np.diagonal(covs, axis1=1, axis2=2)
        elif model == "spherical":
            precisions = 1.0 / np.diagonal(covs, axis1=1, axis2=2).mean(axis=1)
        else:
            precisions = np.linalg.inv(covs)
        est = GaussianMixture(G, covariance_type=model, random_state=0,
                              weights_init=nk / nk.sum(), means_init=means,
                              precisions_init=precisions).fit(faithful)
        assert result.table.loc[G, model] == pytest.approx(est.bic(faithful), rel=1e-9)


def test_partitions_as_a_mapping_and_bad_partitions(faithful):
    labels = {1: np.zeros(len(faithful), int), 2: _kmeans_labels(faithful, 2),
              3: np.zeros(len(faithful), int)}     # 3: only one group
    result = select(faithful, [1, 2, 3, 4], ["full"], partitions=labels)
    assert np.isfinite(result.table.loc[[1, 2], "full"]).all()
    assert "has 1 groups, not 3" in result.reasons.loc[3, "full"]
    assert "no entry for G=4" in result.reasons.loc[4, "full"]
    with pytest.raises(TypeError, match="partitions must be"):
        select(faithful, [1], ["full"], partitions=[1, 2])


def test_hc_uses_one_tree_for_the_grid(faithful, monkeypatch):
    if importlib.util.find_spec("gaussmix._hierarchical") is None:
        monkeypatch.setitem(sys.modules, "gaussmix._hierarchical", None)
        with pytest.raises(ValueError, match="init_params='hc' needs"):
            select(faithful, [1, 2], ["full"], init_params="hc")
        return
    hierarchical = importlib.import_module("gaussmix._hierarchical")
    calls = []
    real = hierarchical.hierarchical_labels

    def counting(X, ks, *args, **kwargs):
        calls.append(list(ks))
        return real(X, ks, *args, **kwargs)

    monkeypatch.setattr(hierarchical, "hierarchical_labels", counting)
    result = select(faithful, [1, 2, 3], ["full", "tied"], init_params="hc")
    assert calls == [[1, 2, 3]]
    assert result.table.notna().all().all()


def test_hc_cells_equal_the_estimators_own_hc_start(faithful):
    accepted = set()
    for c in GaussianMixture._parameter_constraints["init_params"]:
        accepted |= set(getattr(c, "options", ()))
    if "hc" not in accepted:
        pytest.skip("GaussianMixture has no init_params='hc' yet")
    result = select(faithful, [2, 3], ["full", "tied"], init_params="hc")
    for G, model in [(2, "full"), (3, "tied")]:
        est = GaussianMixture(G, covariance_type=model, init_params="hc").fit(faithful)
        assert result.table.loc[G, model] == pytest.approx(est.bic(faithful), rel=1e-9)


# ---------------------------------------------------------------------- running
def test_parallel_gives_the_serial_table(faithful):
    from joblib import parallel_config

    serial = select(faithful, [1, 2, 3], ["full", "diag"], n_init=2)
    with parallel_config(backend="threading"):
        threaded = select(faithful, [1, 2, 3], ["full", "diag"], n_init=2, n_jobs=2)
    pd.testing.assert_frame_equal(serial.table, threaded.table)
    pd.testing.assert_frame_equal(serial.reasons, threaded.reasons)
    assert serial.best_params_ == threaded.best_params_
    # Workers return numbers only; the best cell is refitted in the caller.
    assert threaded.best_estimator_.bic(faithful) == serial.best_criterion_


def test_progress_bar(faithful, monkeypatch):
    updates = []

    class FakeBar:
        def __init__(self, total, desc):
            updates.append([desc, total, 0])

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n=1):
            updates[-1][2] += n

    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=FakeBar))
    select(faithful, [1, 2], ["full", "tied", "diag"], progress=True)
    assert updates == [["select", 6, 6]]
    updates.clear()
    select(faithful, [1, 2], ["full"], progress=False)
    assert updates == []
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)     # not installed
    with pytest.raises(ImportError, match=r"gaussmix\[progress\]"):
        select(faithful, [1], ["full"], progress=True)


def test_dataframe_input_keeps_feature_names(faithful):
    df = pd.DataFrame(faithful, columns=["eruptions", "waiting"])
    result = select(df, [1, 2], ["full"])
    assert list(result.best_estimator_.feature_names_in_) == ["eruptions", "waiting"]


def test_random_state_makes_it_reproducible(faithful):
    a = select(faithful, [2, 3], ["full"], random_state=np.random.RandomState(3))
    b = select(faithful, [2, 3], ["full"], random_state=np.random.RandomState(3))
    pd.testing.assert_frame_equal(a.table, b.table)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, error, match", [
    ({"covariance_type": ["full", "VXV"]}, ValueError, "unknown covariance_type 'VXV'"),
    ({"covariance_type": "nope"}, ValueError, "unknown covariance_type 'nope'"),
    ({"covariance_type": []}, ValueError, "covariance_type is empty"),
    ({"covariance_type": ["full", "full"]}, ValueError, "lists a model twice"),
    ({"criterion": "bicc"}, ValueError, "criterion must be one of"),
    ({"criterion": None}, ValueError, "criterion must be one of"),
    ({"n_components": []}, ValueError, "n_components is empty"),
    ({"n_components": range(0)}, ValueError, "n_components is empty"),
    ({"n_components": [0, 1]}, ValueError, "integers >= 1"),
    ({"n_components": [1.5]}, ValueError, "integers >= 1"),
    ({"n_components": "3"}, ValueError, "integers >= 1"),
    ({"n_init": 0}, ValueError, "n_init must be"),
    ({"top": 0}, ValueError, "top must be"),
    ({"method": "variational"}, ValueError, "method must be 'em'"),
    ({"means_init": np.zeros((2, 2))}, ValueError, "means_init cannot be given"),
    ({"tol": -1.0}, ValueError, "tol"),
    ({"not_a_parameter": 1}, TypeError, "not_a_parameter"),
])
def test_bad_input(faithful, kwargs, error, match):
    kwargs = {"n_components": [1, 2], "covariance_type": ["full"], **kwargs}
    with pytest.raises(error, match=match):
        select(faithful, **kwargs)


def test_bad_X():
    with pytest.raises(ValueError):
        select(np.array([[1.0, np.nan], [2.0, 3.0]]), [1], ["full"])
    with pytest.raises(ValueError):
        select(np.ones((1, 2)), [1], ["full"])


# ---------------------------------------------------------------------- bootstrap LRT
@pytest.fixture(scope="module")
def lrt():
    """Data from a known 2-component mixture; few replicates and cheap fits."""
    X = _two_clusters(n=150, seed=1, gap=6.0)
    return X, bootstrap_lrt(X, "full", max_components=3, n_replicates=49, n_init=1,
                            tol=1e-3, random_state=0)


def test_lrt_rejects_one_and_keeps_two(lrt):
    _, result = lrt
    assert isinstance(result, LRTResult)
    assert result.n_components == [1, 2]
    assert result.p_value[0] == pytest.approx(1 / 50)      # every replicate below
    assert result.p_value[1] > 0.2
    assert result.n_components_ == 2
    assert [len(r) for r in result.replicates] == [49, 49]


def test_lrt_statistic_and_p_values(lrt):
    X, result = lrt
    loglik = result.loglik
    assert result.statistic[0] == pytest.approx(2 * (loglik[2] - loglik[1]))
    for stat, boot, p in zip(result.statistic, result.replicates, result.p_value):
        assert p == (1 + np.sum(boot >= stat)) / (1 + boot.size)
        # Clipped at 0 (the G + 1 model contains the G model), which the split start
        # (nesting the G fit) makes rare.
        assert boot.min() >= 0 and np.mean(boot == 0) < 0.1
        # A fresh seed per replicate: no two replicates are the same draw.
        assert np.unique(boot).size == boot.size
    # 1 component fitted to 1-component data: its log-likelihood is the Gaussian's.
    mean, cov = X.mean(axis=0), np.cov(X.T, bias=True)
    from scipy.stats import multivariate_normal

    assert loglik[1] == pytest.approx(multivariate_normal(mean, cov).logpdf(X).sum(), rel=1e-6)


def test_lrt_summary_and_table(lrt):
    _, result = lrt
    text = result.summary()
    assert text.startswith("Bootstrap sequential LRT for the number of mixture components")
    assert "Model = full (mclust VVV), replicates = 49" in text
    assert "1 vs 2" in text and "2 vs 3" in text
    assert "Selected: 2 components" in text
    table = result.table
    assert list(table.index) == ["1 vs 2", "2 vs 3"]
    np.testing.assert_array_equal(table["p_value"], result.p_value)


def test_lrt_plot(lrt):
    pytest.importorskip("matplotlib")
    _, result = lrt
    ax = result.plot(2).axes[0]
    assert ax.get_title() == "Bootstrap LRT for model full with 2 vs 3 components"
    (line,) = ax.get_lines()
    assert line.get_xdata()[0] == result.statistic[1]
    heights = sum(patch.get_height() * patch.get_width() for patch in ax.patches)
    assert heights == pytest.approx(1.0)          # a density histogram
    with pytest.raises(ValueError, match="no test 3 vs 4"):
        result.plot(3)


def test_lrt_warm_starts_from_the_observed_fit(monkeypatch):
    """Every replicate also starts its G + 1 fit from the observed G + 1 fit (mclust)."""
    import gaussmix._selection as selection

    seen = []
    real = selection._fit_alternative

    def spy(X, null, n_init, seed, covariance_type, params, warm=None):
        seen.append(warm)
        return real(X, null, n_init, seed, covariance_type, params, warm)

    monkeypatch.setattr(selection, "_fit_alternative", spy)
    X = _two_clusters(n=60, seed=4)
    result = bootstrap_lrt(X, "full", max_components=2, n_replicates=4, n_init=1, tol=1e-3)
    assert seen[0] is None                       # the observed fit
    assert len(seen) == 5 and all(w is not None for w in seen[1:])
    assert all(w["means_init"].shape == (2, 2) for w in seen[1:])
    assert result.n_components == [1]


def test_lrt_stops_at_the_first_null_kept_unless_test_all():
    X = _two_clusters(n=100, seed=2, gap=6.0)
    kw = {"n_replicates": 19, "n_init": 1, "tol": 1e-3, "random_state": 0}
    stopped = bootstrap_lrt(X, "spherical", max_components=4, **kw)
    assert stopped.n_components == [1, 2]
    every = bootstrap_lrt(X, "spherical", max_components=4, test_all=True, **kw)
    assert every.n_components == [1, 2, 3]
    np.testing.assert_array_equal(every.p_value[:2], stopped.p_value)
    assert every.n_components_ == stopped.n_components_ == 2


def test_lrt_is_reproducible_and_parallel_safe():
    from joblib import parallel_config

    X = _two_clusters(n=80, seed=3, gap=6.0)
    kw = {"max_components": 2, "n_replicates": 9, "n_init": 1, "tol": 1e-3,
          "random_state": 5}
    a = bootstrap_lrt(X, "tied", **kw)
    with parallel_config(backend="threading"):
        b = bootstrap_lrt(X, "tied", n_jobs=2, **kw)
    np.testing.assert_array_equal(a.replicates[0], b.replicates[0])
    assert a.p_value[0] == b.p_value[0]


@pytest.mark.parametrize("kwargs, match", [
    ({"covariance_type": ["full", "tied"]}, "one covariance model"),
    ({"covariance_type": "bogus"}, "unknown covariance_type"),
    ({"max_components": 1}, "max_components must be"),
    ({"max_components": 1000}, "larger than the number of samples"),
    ({"n_replicates": 0}, "n_replicates must be"),
    ({"level": 1.5}, "level must be"),
    ({"method": "variational"}, "method must be 'em'"),
])
def test_lrt_bad_input(kwargs, match):
    X = _two_clusters(n=40)
    with pytest.raises(ValueError, match=match):
        bootstrap_lrt(X, **{"n_replicates": 5, **kwargs})


def test_default_replicates_exceed_mclusts():
    import inspect

    default = inspect.signature(bootstrap_lrt).parameters["n_replicates"].default
    assert default > 999 and ((default + 1) * 0.05).is_integer()
