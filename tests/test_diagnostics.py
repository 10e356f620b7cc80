"""ArviZ conversion and the convergence report (gaussmix.diagnostics).

Each verdict is checked on data built to make it fail: two known optima, a poor
variational approximation, a non-converged or broken trace.
"""

import copy
import warnings

import arviz_stats as azs
import numpy as np
import pytest
import xarray as xr

from gaussmix import DiagnosticReport, GaussianMixture
from gaussmix.diagnostics import loo, loo_pit, psis_mean

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


# --------------------------------------------------------------------------- data
def three_blobs(n_per=100, seed=0):
    """Three well-separated round clusters in 2-D (the model is well specified)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, 0.0]])
    return np.vstack([rng.normal(c, 1.0, (n_per, 2)) for c in centres])


def four_corners(n_per=60, seed=0):
    """Four clusters for three components: several local optima (which pair merges)."""
    rng = np.random.default_rng(seed)
    corners = np.array([[-5.0, -5.0], [-5.0, 5.0], [5.0, -5.0], [5.0, 5.0]])
    return np.vstack([rng.normal(c, 1.0, (n_per, 2)) for c in corners])


@pytest.fixture(scope="module")
def blobs():
    return three_blobs()


@pytest.fixture(scope="module")
def vb_fit(blobs):
    return GaussianMixture(3, method="variational", n_init=4, tol=1e-6, max_iter=500,
                           random_state=0).fit(blobs)


@pytest.fixture(scope="module")
def vb_tree(vb_fit, blobs):
    return vb_fit.to_arviz(blobs, n_draws=1000, random_state=0)


# --------------------------------------------------------------------------- DataTree
def test_posterior_is_the_kept_fit(vb_fit, vb_tree):
    """The posterior group describes weights_ / means_ / precisions_, within MC error."""
    post = vb_tree.posterior
    n = post.sizes["chain"] * post.sizes["draw"]
    for name, attribute in (("weights", vb_fit.weights_), ("means", vb_fit.means_),
                            ("precisions", vb_fit.precisions_)):
        draws = post[name]
        mean = draws.mean(("chain", "draw")).values
        se = draws.std(("chain", "draw")).values / np.sqrt(n)
        assert np.all(np.abs(mean - attribute) < 5 * se + 1e-12), name
    summary = azs.summary(vb_tree, kind="stats")
    np.testing.assert_allclose(summary.loc["means[0, 0]", "mean"], vb_fit.means_[0, 0],
                               atol=0.05)


def test_variational_tree_layout(vb_fit, vb_tree, blobs):
    dt = vb_tree
    assert set(dt.children) == {"posterior", "prior", "observed_data", "log_likelihood",
                                "posterior_predictive", "sample_stats", "restarts",
                                "optimization_trace"}
    post = dt.posterior
    assert post.means.dims == ("chain", "draw", "component", "feature")
    assert post.precisions.dims == ("chain", "draw", "component", "feature", "feature_bis")
    assert post.sizes["chain"] == 4 and post.sizes["draw"] == 250
    np.testing.assert_allclose(post.weights.sum("component"), 1.0)
    assert dt.posterior_predictive.x.dims == ("chain", "draw", "obs_id", "feature")
    assert set(dt.sample_stats.data_vars) == {"lp", "log_q", "log_weight"}
    np.testing.assert_allclose(np.exp(dt.sample_stats.log_weight).sum(), 1.0)
    trace = dt.optimization_trace
    assert trace.objective.dims == ("chain", "draw")
    for c, restart in enumerate(vb_fit.restarts_):   # padded with NaN after the stop
        np.testing.assert_array_equal(trace.objective[c, :restart.n_iter], restart.lower_bounds)
        assert np.isnan(trace.objective[c, restart.n_iter:]).all()
    azs.ess(dt, group="optimization_trace")           # ArviZ takes the group as it is
    restarts = dt.restarts
    kept = dt.attrs["kept_restart"]
    np.testing.assert_allclose(restarts.weights.sel(restart=kept), vb_fit.weights_)
    assert restarts.distance.sel(restart=kept) == 0 and restarts.gap.sel(restart=kept) == 0
    np.testing.assert_array_equal(dt.observed_data.x.values, blobs)


def test_restarts_aligned_on_weights_and_covariances():
    """Two components with the same mean are told apart by weight and covariance."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.3, (600, 2)), rng.normal(0, 3.0, (300, 2))])
    gm = GaussianMixture(2, n_init=6, init_params="random", random_state=0).fit(X)
    restarts = gm.to_arviz().restarts
    spreads = restarts.covariances[..., 0, 0]          # (restart, component)
    kept = int(np.argmax(spreads.sel(restart=gm.to_arviz().attrs["kept_restart"]).values))
    for r in restarts.restart.values:
        if bool(restarts.same_optimum.sel(restart=r)):
            assert int(np.argmax(spreads.sel(restart=r).values)) == kept


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_loo_well_specified(covariance_type, blobs):
    gm = GaussianMixture(3, method="variational", covariance_type=covariance_type, n_init=2,
                         tol=1e-6, max_iter=500, random_state=0).fit(blobs)
    dt = gm.to_arviz(blobs, n_draws=300, random_state=1)
    corrected = loo(dt)                      # lp / log q correction
    assert corrected.approx_posterior
    assert np.isfinite(corrected.elpd)
    assert np.isfinite(corrected.elpd_i.values).all()


def test_single_component_q_is_exact(blobs):
    """With one component the variational posterior is the exact posterior, so
    lp - log q is the same for every draw: the log evidence, which is the ELBO."""
    X = blobs[:100]
    for covariance_type in COVARIANCE_TYPES:
        for prior in ("dirichlet_process", "dirichlet_distribution"):
            gm = GaussianMixture(1, method="variational", covariance_type=covariance_type,
                                 weight_concentration_prior_type=prior, reg_covar=0.0,
                                 tol=1e-10).fit(X)
            stats = gm.to_arviz(X, n_draws=20, random_state=0).sample_stats
            log_w = (stats.lp - stats.log_q).values
            assert np.ptp(log_w) < 1e-8 * abs(log_w.mean())
            if covariance_type in ("full", "tied") and prior == "dirichlet_distribution":
                np.testing.assert_allclose(log_w.mean(), gm.lower_bound_, rtol=1e-10)


def test_subsample_and_full_data_lp():
    X = three_blobs(n_per=400, seed=1)
    gm = GaussianMixture(3, method="variational", n_init=2, random_state=0).fit(X)
    full = gm.to_arviz(X, n_draws=20, max_obs=X.shape[0], random_state=3)
    sub = gm.to_arviz(X, n_draws=20, max_obs=150, random_state=3)
    idx = sub.log_likelihood.obs_id.values
    assert idx.size == 150 and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(sub.observed_data.x.values, X[idx])
    np.testing.assert_allclose(sub.log_likelihood.x, full.log_likelihood.x.sel(obs_id=idx))
    # lp always sums the likelihood over all of X (chunked pass vs pointwise sum)
    np.testing.assert_allclose(sub.sample_stats.lp, full.sample_stats.lp, rtol=1e-10)
    other = GaussianMixture(2, method="variational", random_state=0).fit(X)
    again = other.to_arviz(X, n_draws=8, max_obs=150, random_state=3)
    np.testing.assert_array_equal(again.log_likelihood.obs_id.values, idx)


def test_netcdf_round_trip(vb_tree, tmp_path):
    pytest.importorskip("h5netcdf")
    path = tmp_path / "fit.nc"
    vb_tree.to_netcdf(path, engine="h5netcdf")
    back = xr.open_datatree(path, engine="h5netcdf")
    assert back.identical(vb_tree)
    assert back.restarts.same_optimum.dtype == bool


def test_em_tree_has_bootstrap_and_no_nan(blobs):
    gm = GaussianMixture(3, n_init=3, random_state=0).fit(blobs)
    dt = gm.to_arviz(blobs, n_bootstrap=40, random_state=0)
    assert "posterior" not in dt.children and "sample_stats" not in dt.children
    assert dt.bootstrap.sizes["chain"] * dt.bootstrap.sizes["draw"] == 40
    summary = azs.summary(dt, group="bootstrap")
    assert np.isfinite(summary.astype(float).values).all()
    # the replicates scatter around the fit: aligned means within a few SE
    means = dt.bootstrap.means
    assert np.all(np.abs(means.mean(("chain", "draw")) - gm.means_) < 5 * means.std(
        ("chain", "draw")) + 1e-9)
    assert "bootstrap" not in gm.to_arviz().children


# --------------------------------------------------------------------------- restarts
def _same_solution(a, b, atol=1e-2):
    """Independent reference: the same means up to relabelling (sorted rows)."""
    sort = lambda m: m[np.lexsort(m.T[::-1])]  # noqa: E731
    return np.allclose(sort(a), sort(b), atol=atol)


def test_restart_verdict_two_optima():
    X = four_corners()
    gm = GaussianMixture(3, init_params="random_from_data", n_init=16, tol=1e-8,
                         max_iter=500, random_state=0).fit(X)
    kept = gm.restarts_[int(np.argmax([r.lower_bound for r in gm.restarts_]))]
    reference = [_same_solution(r.params["means_"], kept.params["means_"])
                 for r in gm.restarts_]
    assert 1 < sum(reference) < len(reference)   # the data has restarts in each optimum
    report = gm.diagnose()
    assert [r.same_optimum for r in report.restarts] == reference
    assert report.n_at_best == sum(reference)
    assert report.restart_summary().startswith(f"{sum(reference)} of 16 restarts reached")
    others = [r for r, same in zip(report.restarts, reference) if not same]
    assert min(r.gap for r in others) > report.gap_tolerance      # genuinely lower
    assert min(r.distance for r in others) > 0.1                  # and elsewhere
    assert not report.ok and any("n_init" in w for w in report.warnings)


def test_restart_verdict_one_optimum(blobs):
    gm = GaussianMixture(3, n_init=5, random_state=0).fit(blobs)
    report = gm.diagnose()
    assert report.n_at_best == 5 and report.ok, str(report)
    assert report.restart_summary() == "5 of 5 restarts reached the best optimum"
    assert max(r.distance for r in report.restarts) < 1e-6


# --------------------------------------------------------------------------- approximation
def test_khat_usable_for_a_well_specified_fit():
    X = three_blobs(n_per=1000, seed=2)
    gm = GaussianMixture(3, method="variational", random_state=0).fit(X)
    report = gm.diagnose(X)
    assert report.khat < report.khat_threshold
    assert report.ok, str(report)
    dt = gm.to_arviz(X, max_obs=1000, random_state=0)
    corrected = psis_mean(dt)
    np.testing.assert_allclose(corrected["means"], gm.means_, atol=0.05)
    pit = loo_pit(dt)
    assert pit.shape == (1000, 2)
    counts = np.histogram(pit.values.ravel(), bins=5, range=(0, 1))[0]
    assert counts.min() > 0.5 * counts.mean()    # roughly uniform: a calibrated model


def test_khat_flags_a_poor_approximation():
    """'tied' follows scikit-learn's update (nu = nu_0 + N / k), a q about k times too
    wide: the importance ratios p / q are then far from flat."""
    X = three_blobs(n_per=300, seed=3)
    gm = GaussianMixture(3, method="variational", covariance_type="tied",
                         weight_concentration_prior_type="dirichlet_distribution",
                         random_state=0).fit(X)
    report = gm.diagnose(X)
    assert report.khat > report.khat_threshold
    assert any("variational approximation is poor" in w for w in report.warnings)


# --------------------------------------------------------------------------- report
def test_report_well_separated(vb_fit, blobs):
    report = vb_fit.diagnose(blobs)
    assert isinstance(report, DiagnosticReport)
    assert report.converged == [True] * 4
    assert report.effective_components == 3
    assert report.n_bad_pareto_k <= 0.01 * report.n_loo_obs
    text = str(report)
    assert "restarts converged: 4 of 4" in text
    html = report._repr_html_()
    assert html.startswith("<div>") and "restarts converged" in html


def test_report_flags_non_convergence_and_decrease(blobs):
    gm = GaussianMixture(3, n_init=2, max_iter=2, tol=1e-12, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(blobs)
    report = gm.diagnose()
    assert report.converged == [False, False]
    assert any("max_iter" in w for w in report.warnings)
    broken = copy.deepcopy(gm)
    trace = np.array([-3.0, -2.0, -2.5, -2.4])
    broken.restarts_[1].lower_bounds = trace
    report = broken.diagnose()
    bad = report.restarts[1]
    assert bad.decrease_iteration == 3 and bad.largest_decrease == pytest.approx(0.5)
    assert any("decreased in restart 1" in w for w in report.warnings)


def test_report_aitken_gap_flags_slow_em():
    """Heavily overlapping clusters: EM crawls, and a loose tol stops it early."""
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (2000, 1)), rng.normal(1.0, 1, (2000, 1))]
    loose = GaussianMixture(2, tol=1e-3, random_state=0).fit(X)
    report = loose.diagnose()
    assert report.aitken_gap > loose.tol
    assert any("Aitken" in w for w in report.warnings)
    # and it was right: the optimum is more than tol above where the loose fit stopped
    tight = GaussianMixture(2, tol=1e-9, max_iter=5000, random_state=0).fit(X)
    assert tight.lower_bound_ - loose.lower_bound_ > loose.tol


def test_report_effective_components(blobs):
    gm = GaussianMixture(6, method="variational", n_init=2, random_state=0,
                         weight_concentration_prior_type="dirichlet_distribution").fit(blobs)
    report = gm.diagnose()
    assert report.effective_components == 3
    assert any("fewer components" in w for w in report.warnings)


# --------------------------------------------------------------------------- demo
def test_demo_chooses_by_bic_and_prints_report(tmp_path, capsys):
    from gaussmix.__main__ import main

    pytest.importorskip("matplotlib")
    path = tmp_path / "demo.png"
    assert main(["demo", "--n-init", "4", "--plot", str(path)]) == 0
    out = capsys.readouterr().out
    assert "n_components=2:" in out and "<- lowest" in out
    assert "GaussianMixture(n_components=2, covariance_type='full'): chosen by BIC" in out
    assert "Convergence report" in out and "trace" not in out
    assert path.stat().st_size > 1000
