"""Model comparison (gaussmix.compare_models, gaussmix.diagnostics.loo).

(1) On Old Faithful a variational k=3 fit has an empty component; PSIS-LOO fails for it
(Pareto k-hat above the threshold for almost every observation) and would prefer it.
compare_models switches to exact K-fold cross-validation, says so, and ranks k=2 first.
(2) The issue's test: on data from a known mixture the first-ranked candidate's
held-out log predictive density, on a large fresh sample, is within its reported SE
of the best candidate's.  (3) With good k-hat PSIS-LOO is kept (and equals
``loo`` of the model's DataTree); sub-sampled PSIS-LOO for large X.  (4) EM fits are
compared by K-fold, whose numbers equal a plain NumPy K-fold with the same folds.
(5) Bad input is rejected.
"""

import copy
import sys
import types
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold

from gaussmix import GaussianMixture, compare_models, load_faithful
from gaussmix.diagnostics import loo

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --------------------------------------------------------------------------- data
def two_gaussians(n, rng):
    """A known mixture: 0.4 N(m0, C0) + 0.6 N(m1, C1) in 2-D, well separated."""
    means = np.array([[-3.0, 0.0], [3.0, 1.0]])
    covs = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.6, -0.2], [-0.2, 1.2]]])
    first = rng.random(n) < 0.4
    return np.where(first[:, np.newaxis], rng.multivariate_normal(means[0], covs[0], n),
                    rng.multivariate_normal(means[1], covs[1], n))


def three_blobs(n_per=100, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, 0.0]])
    return np.vstack([rng.normal(c, 1.0, (n_per, 2)) for c in centres])


def vb(k, X, **kwargs):
    return GaussianMixture(k, method="variational", n_init=2, random_state=0,
                           **kwargs).fit(X)


@pytest.fixture(scope="module")
def faithful():
    return load_faithful()[0]


@pytest.fixture(scope="module")
def faithful_vb(faithful):
    return {f"k={k}": vb(k, faithful) for k in (2, 3)}


@pytest.fixture(scope="module")
def blobs():
    return three_blobs()


@pytest.fixture(scope="module")
def blobs_vb(blobs):
    # A symmetric Dirichlet prior: no empty component, PSIS-LOO works for k=2 and 3.
    return {f"k={k}": vb(k, blobs, weight_concentration_prior_type="dirichlet_distribution")
            for k in (2, 3)}


def manual_kfold(model, X, n_folds=10, seed=0):
    """Held-out log density of every row: warm-started refits on sklearn's KFold folds."""
    out = np.empty(X.shape[0])
    for train, test in KFold(n_folds, shuffle=True, random_state=seed).split(X):
        refit = copy.deepcopy(model).set_params(warm_start=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            refit.fit(X[train])
        score = (refit.score_samples_predictive if refit.method == "variational"
                 else refit.score_samples)
        out[test] = score(X[test])
    return out


# --------------------------------------------------------------------------- (1)
def test_faithful_switches_to_kfold_and_ranks_two_components_first(faithful, faithful_vb):
    assert faithful_vb["k=3"].weights_.min() < 0.01          # the empty component
    table = compare_models(faithful_vb, faithful, round_to="none")
    assert list(table.index) == ["k=2", "k=3"]
    assert table["elpd_method"].tolist() == ["kfold(10)", "kfold(10)"]
    assert table.attrs["elpd_method"] == "kfold(10)"
    assert "K-fold" in table.attrs["reason"] and "'k=3'" in table.attrs["reason"]
    assert table.loc["k=3", "high_k"] > 100                  # of 272 observations
    assert table.loc["k=2", "weight"] > table.loc["k=3", "weight"]
    assert np.isfinite(table[["elpd", "se", "dse", "p"]].to_numpy(float)).all()
    # The K-fold elpd is the plain warm-started K-fold, with the same folds for both.
    pointwise = {name: manual_kfold(m, faithful) for name, m in faithful_vb.items()}
    for name, values in pointwise.items():
        assert table.loc[name, "elpd"] == pytest.approx(values.sum(), abs=1e-6)
        assert table.loc[name, "se"] == pytest.approx(np.sqrt(values.size * values.var()))
    diff = pointwise["k=3"] - pointwise["k=2"]
    assert table.loc["k=3", "elpd_diff"] == pytest.approx(diff.sum(), abs=1e-6)
    assert table.loc["k=3", "dse"] == pytest.approx(np.sqrt(diff.size * diff.var()))


def test_forced_loo_warns_that_it_is_unreliable(faithful, faithful_vb):
    with pytest.warns(UserWarning, match=r"PSIS-LOO is unreliable for .*'k=3'"):
        table = compare_models(faithful_vb, faithful, cv="loo")
    assert set(table["elpd_method"]) == {"psis-loo"}
    assert table.attrs["reason"] == ""
    assert table.loc["k=3", "diag_elpd"] != ""               # arviz's own k-hat flag


# --------------------------------------------------------------------------- (2)
def test_first_ranked_is_within_se_of_the_best_on_fresh_data():
    rng = np.random.default_rng(0)
    X = two_gaussians(400, rng)
    fresh = two_gaussians(20_000, rng)
    fits = {f"k={k}": vb(k, X) for k in (1, 2, 3, 4)}
    table = compare_models(fits, X, round_to="none")
    # Held-out elpd of each candidate, on the scale of the table (a sum over n rows).
    held_out = {name: X.shape[0] * float(np.mean(m.score_samples_predictive(fresh)))
                for name, m in fits.items()}
    first = table.index[0]
    assert max(held_out.values()) - held_out[first] <= table.loc[first, "se"]
    assert table.index[-1] == "k=1"                           # far worse, ranked last
    assert held_out["k=2"] - held_out["k=1"] > 10 * table.loc["k=2", "se"]


# --------------------------------------------------------------------------- (3)
@pytest.mark.filterwarnings("ignore:Estimated shape parameter")
def test_loo_is_kept_when_khat_is_fine(blobs, blobs_vb):
    table = compare_models(blobs_vb, blobs, round_to="none")
    assert set(table["elpd_method"]) == {"psis-loo"}
    assert table.attrs == {"elpd_method": "psis-loo", "reason": "", "n_observations": 300}
    assert (table["high_k"] <= 1).all()
    assert table.index[0] == "k=3"
    for name, model in blobs_vb.items():   # the same as loo of the model's DataTree
        expected = loo(model.to_arviz(blobs, n_draws=200, random_state=0))
        assert table.loc[name, "elpd"] == pytest.approx(expected.elpd)
    forced = compare_models(blobs_vb, blobs, cv="kfold")
    assert set(forced["elpd_method"]) == {"kfold(10)"}
    assert forced.attrs["reason"].endswith("cv='kfold'")
    assert forced["high_k"].isna().all()                     # PSIS was not run


@pytest.mark.filterwarnings("ignore:Estimated shape parameter")
def test_subsampled_loo_estimates_the_full_loo(blobs, blobs_vb):
    model = blobs_vb["k=3"]
    dt = model.to_arviz(blobs, n_draws=200, random_state=0)
    full = loo(dt)
    sub = loo(dt, observations=100, seed=1)
    assert sub.subsample_size == 100 and sub.n_data_points == 300
    assert bool(sub.approx_posterior)
    assert 0 < sub.subsampling_se < full.se
    assert abs(sub.elpd - full.elpd) < 4 * sub.subsampling_se
    # compare_models sub-samples when X has more than max_obs rows, with its error.
    table = compare_models(blobs_vb, blobs, max_obs=150, max_high_k=0.05, round_to="none")
    assert set(table["elpd_method"]) == {"psis-loo-subsample(150)"}
    assert table.loc["k=2", "subsampling_dse"] > 0
    assert table.index[0] == "k=3"
    weights = table["weight"].to_numpy(float)                 # stacking on no NaN
    assert np.isfinite(weights).all() and weights.sum() == pytest.approx(1.0)
    assert weights[0] > 0.9


def test_loo_accepts_both_names_of_the_log_posterior(blobs, blobs_vb):
    dt = blobs_vb["k=2"].to_arviz(blobs, n_draws=50, random_state=0)
    stats = dt["sample_stats"].to_dataset()
    new, old = ("lp", "log_p") if "lp" in stats else ("log_p", "lp")
    renamed = dt.copy()
    renamed["sample_stats"] = stats.rename({new: old})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a, b = loo(dt), loo(renamed)
    assert a.approx_posterior and b.approx_posterior
    assert a.elpd == pytest.approx(b.elpd)


# --------------------------------------------------------------------------- (4)
def test_em_fits_are_compared_by_kfold(faithful, faithful_vb):
    em = {f"em k={k}": GaussianMixture(k, n_init=2, random_state=0).fit(faithful)
          for k in (1, 2)}
    table = compare_models(em, faithful, round_to="none")
    assert list(table.index) == ["em k=2", "em k=1"]
    assert set(table["elpd_method"]) == {"kfold(10)"}
    assert "EM fit" in table.attrs["reason"]
    for name, model in em.items():
        values = manual_kfold(model, faithful)
        assert table.loc[name, "elpd"] == pytest.approx(values.sum(), abs=1e-6)
        in_sample = model.score_samples(faithful).sum()
        assert table.loc[name, "p"] == pytest.approx(in_sample - values.sum(), abs=1e-6)
    # One EM fit among variational ones: K-fold for all of them, other folds by seed.
    mixed = compare_models({**em, **faithful_vb}, faithful, n_folds=5, random_state=3)
    assert set(mixed["elpd_method"]) == {"kfold(5)"}
    assert mixed["high_k"].isna().all()
    assert mixed.index[-1] == "em k=1"
    with pytest.raises(ValueError, match="cv='loo' needs variational fits"):
        compare_models({**em, **faithful_vb}, faithful, cv="loo")


def test_kfold_passes_weights_and_dataframes_to_the_refits(faithful):
    frame = pd.DataFrame(faithful, columns=["eruptions", "waiting"])
    em = {f"k={k}": GaussianMixture(k, random_state=0).fit(frame) for k in (1, 2)}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)           # no feature-name warnings
        plain = compare_models(em, frame, round_to="none")
    unit = compare_models(em, frame, sample_weight=np.ones(len(frame)), round_to="none")
    pd.testing.assert_frame_equal(plain, unit)
    doubled = np.where(np.arange(len(frame)) % 2 == 0, 2.0, 1.0)
    weighted = compare_models(em, frame, sample_weight=doubled, round_to="none")
    assert weighted.loc["k=2", "elpd"] != pytest.approx(plain.loc["k=2", "elpd"], abs=1e-3)


def test_progress_bars(monkeypatch, faithful):
    updates = []

    class FakeBar:
        def __init__(self, total, desc):
            self.desc = desc
            updates.append([desc, total, 0])

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n=1):
            updates[-1][2] += n

    fake = types.ModuleType("tqdm.auto")
    fake.tqdm = FakeBar
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", fake)
    em = {f"k={k}": GaussianMixture(k, random_state=0).fit(faithful) for k in (1, 2)}
    compare_models(em, faithful, n_folds=3, progress=True)
    assert updates == [["K-fold refits", 6, 6]]
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)      # not installed
    with pytest.raises(ImportError, match=r"gaussmix\[progress\]"):
        compare_models(em, faithful, progress=True)


# --------------------------------------------------------------------------- (5)
def test_bad_input(faithful, faithful_vb):
    m2 = faithful_vb["k=2"]
    with pytest.raises(ValueError, match="at least two"):
        compare_models({"k=2": m2}, faithful)
    with pytest.raises(ValueError, match="at least two"):
        compare_models([m2, faithful_vb["k=3"]], faithful)
    one_feature = GaussianMixture(2, random_state=0).fit(faithful[:, :1])
    with pytest.raises(ValueError, match="different numbers of features"):
        compare_models({"2-D": m2, "1-D": one_feature}, faithful)
    with pytest.raises(ValueError, match="X has 1 features"):
        compare_models(faithful_vb, faithful[:, :1])
    with pytest.raises(TypeError, match="not a fitted gaussmix.GaussianMixture"):
        compare_models({"k=2": m2, "other": object()}, faithful)
    with pytest.raises(ValueError, match="not fitted"):
        compare_models({"k=2": m2, "new": GaussianMixture(2)}, faithful)
    with pytest.raises(ValueError, match="cv must be one of"):
        compare_models(faithful_vb, faithful, cv="waic")
    with pytest.raises(ValueError, match="n_folds must be <= 272"):
        compare_models(faithful_vb, faithful, n_folds=1000)
    with pytest.raises(ValueError, match="max_high_k"):
        compare_models(faithful_vb, faithful, max_high_k=2.0)
    with pytest.raises(ValueError, match="sample_weight"):
        compare_models(faithful_vb, faithful, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="log_likelihood"):
        loo(m2.to_arviz(n_draws=10, random_state=0))
