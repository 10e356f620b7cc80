"""ArviZ conversion, convergence report, plots and model comparison (gaussmix.diagnostics)."""

import copy
import warnings

import arviz as az
import numpy as np
import pytest
import xarray as xr

from gaussmix import DiagnosticReport, GaussianMixture, compare_models
from gaussmix.diagnostics import loo, plot_diagnostics

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


# --------------------------------------------------------------------------- data
def three_blobs(n_per=100, seed=0):
    """Three well-separated round clusters in 2-D (the model is well specified)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, 0.0]])
    return np.vstack([rng.normal(c, 1.0, (n_per, 2)) for c in centres])


def four_corners(n_per=60, seed=0):
    """Four clusters for three components: several local optima."""
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


def _max(diagnostic):
    return max(float(diagnostic[name].max()) for name in diagnostic.data_vars)


# --------------------------------------------------------------------------- DataTree
def test_variational_tree_layout(vb_fit, vb_tree, blobs):
    dt = vb_tree
    assert set(dt.children) == {"posterior", "optimization_trace", "observed_data",
                                "log_likelihood", "sample_stats"}
    post = dt.posterior
    assert post.weights.dims == ("chain", "draw", "component")
    assert post.means.dims == ("chain", "draw", "component", "feature")
    assert post.precisions.dims == ("chain", "draw", "component", "feature", "feature_bis")
    assert post.sizes["chain"] == 4 and post.sizes["draw"] == 1000
    np.testing.assert_allclose(post.weights.sum("component"), 1.0)
    trace = dt.optimization_trace
    assert trace.objective.dims == ("chain", "iteration")
    n_iter = trace.n_iter.values
    np.testing.assert_array_equal(n_iter, [r.n_iter for r in vb_fit.restarts_])
    for c, restart in enumerate(vb_fit.restarts_):   # padded with NaN after the stop
        np.testing.assert_array_equal(trace.objective[c, :n_iter[c]], restart.lower_bounds)
        assert np.isnan(trace.objective[c, n_iter[c]:]).all()
    assert trace.converged.dtype == bool
    assert dt.log_likelihood.x.dims == ("chain", "draw", "obs_id")
    np.testing.assert_array_equal(dt.observed_data.x.values, blobs)
    # aligned posterior means sit on the best restart's means
    best = dt.attrs["best_chain"]
    np.testing.assert_allclose(post.means.mean(("chain", "draw")),
                               vb_fit.restarts_[best].params["means_"], atol=0.2)


def test_aligned_rhat_well_separated(vb_tree):
    """Restarts that found the same clusters agree once aligned: r_hat < 1.01."""
    rhat = az.rhat(vb_tree)
    assert _max(rhat) < 1.01
    ess = az.ess(vb_tree)
    assert min(float(ess[v].min()) for v in ess.data_vars) > 1000
    summary = az.summary(vb_tree)
    assert np.isfinite(summary["r_hat"].astype(float)).all()


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_loo_well_specified(covariance_type, blobs):
    gm = GaussianMixture(3, method="variational", covariance_type=covariance_type, n_init=2,
                         tol=1e-6, max_iter=500, random_state=0).fit(blobs)
    dt = gm.to_arviz(blobs, n_draws=300, random_state=1)
    plain = az.loo(dt, pointwise=True)
    corrected = loo(dt)                      # log p / log q correction
    assert corrected.approx_posterior
    for result in (plain, corrected):
        assert np.isfinite(result.elpd)
        assert np.isfinite(result.elpd_i.values).all()
        assert float(result.pareto_k.max()) < 0.7


def test_single_component_q_is_exact(blobs):
    """With one component the variational posterior is the exact posterior, so
    log p - log q is the same for every draw: the log evidence, which is the ELBO."""
    X = blobs[:100]
    for covariance_type in COVARIANCE_TYPES:
        for prior in ("dirichlet_process", "dirichlet_distribution"):
            gm = GaussianMixture(1, method="variational", covariance_type=covariance_type,
                                 weight_concentration_prior_type=prior, reg_covar=0.0,
                                 tol=1e-10).fit(X)
            stats = gm.to_arviz(X, n_draws=20, random_state=0).sample_stats
            log_w = (stats.log_p - stats.log_q).values
            assert np.ptp(log_w) < 1e-8 * abs(log_w.mean())
            if covariance_type in ("full", "tied") and prior == "dirichlet_distribution":
                np.testing.assert_allclose(log_w.mean(), gm.lower_bound_, rtol=1e-10)


def test_subsample_and_full_data_log_p():
    X = three_blobs(n_per=400, seed=1)
    gm = GaussianMixture(3, method="variational", n_init=2, random_state=0).fit(X)
    full = gm.to_arviz(X, n_draws=20, max_obs=X.shape[0], random_state=3)
    sub = gm.to_arviz(X, n_draws=20, max_obs=150, random_state=3)
    idx = sub.log_likelihood.obs_id.values
    assert idx.size == 150 and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(sub.observed_data.x.values, X[idx])
    np.testing.assert_allclose(sub.log_likelihood.x, full.log_likelihood.x.sel(obs_id=idx))
    # log_p always sums the likelihood over all of X (chunked pass vs pointwise sum)
    np.testing.assert_allclose(sub.sample_stats.log_p, full.sample_stats.log_p, rtol=1e-10)
    other = GaussianMixture(2, method="variational", random_state=0).fit(X)
    again = other.to_arviz(X, n_draws=5, max_obs=150, random_state=3)
    np.testing.assert_array_equal(again.log_likelihood.obs_id.values, idx)


def test_netcdf_round_trip(vb_tree, tmp_path):
    pytest.importorskip("h5netcdf")
    path = tmp_path / "fit.nc"
    vb_tree.to_netcdf(path, engine="h5netcdf")
    back = xr.open_datatree(path, engine="h5netcdf")
    assert back.identical(vb_tree)
    assert back.optimization_trace.converged.dtype == bool


def test_em_tree_and_arviz(blobs):
    gm = GaussianMixture(3, n_init=3, random_state=0).fit(blobs)
    dt = gm.to_arviz(blobs)
    assert "posterior" not in dt.children and "sample_stats" not in dt.children
    point = dt.point_estimates
    assert point.sizes["draw"] == 1 and point.sizes["chain"] == 3
    best = dt.attrs["best_chain"]
    np.testing.assert_allclose(point.weights.sel(chain=best, draw=0), gm.weights_)
    stats = az.summary(dt, group="point_estimates", kind="stats")
    assert np.isfinite(stats["mean"].astype(float)).all()
    # log-likelihood of each restart's estimate; its mean is the restart's objective
    ll = dt.log_likelihood.x.mean("obs_id").values[:, 0]
    np.testing.assert_allclose(ll, [r.lower_bound for r in gm.restarts_], atol=1e-3)
    assert "log_likelihood" not in gm.to_arviz().children


# --------------------------------------------------------------------------- report
def test_report_well_separated(vb_fit, blobs):
    report = vb_fit.diagnose(blobs)
    assert isinstance(report, DiagnosticReport)
    assert report.converged == [True] * 4
    assert report.n_optima == 1 and report.max_rhat < 1.01
    assert report.effective_components == 3
    assert report.pareto_k_max < 0.7
    assert report.ok, str(report)
    text = str(report)
    assert "restarts converged: 4 of 4" in text and "No problems found." in text


def test_report_flags_different_optima():
    X = four_corners()
    gm = GaussianMixture(3, method="variational", weight_concentration_prior_type=
                         "dirichlet_distribution", init_params="random_from_data", n_init=4,
                         tol=1e-6, max_iter=300, random_state=0).fit(X)
    rhat = az.rhat(gm.to_arviz(n_draws=300, random_state=0))
    assert _max(rhat) > 1.1
    report = gm.diagnose(n_draws=300)
    assert report.n_optima > 1 and report.max_rhat > 1.1
    assert not report.ok
    assert any("different optima" in w and "n_init" in w for w in report.warnings)


def test_report_flags_em_optima():
    X = four_corners()
    gm = GaussianMixture(3, init_params="random_from_data", n_init=6, random_state=0).fit(X)
    report = gm.diagnose()
    assert report.max_rhat is None and report.parameter_spread > 0.5
    assert any("different optima" in w for w in report.warnings), str(report)


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


def test_report_effective_components(blobs):
    gm = GaussianMixture(6, method="variational", n_init=2, random_state=0,
                         weight_concentration_prior_type="dirichlet_distribution").fit(blobs)
    report = gm.diagnose()
    assert report.effective_components == 3
    assert any("fewer components" in w for w in report.warnings)


# --------------------------------------------------------------------------- plots
def test_plot_png(vb_fit, tmp_path):
    pytest.importorskip("matplotlib")
    path = plot_diagnostics(vb_fit, tmp_path / "diag.png", n_draws=50)
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"
    em = GaussianMixture(3, n_init=2, random_state=0).fit(three_blobs(n_per=30))
    em_path = em.plot_diagnostics(tmp_path / "em.png")
    assert em_path.stat().st_size > 1000


def test_plot_without_matplotlib(vb_fit, tmp_path, monkeypatch):
    import gaussmix.diagnostics._plotting as plotting

    real = plotting.importlib.util.find_spec
    monkeypatch.setattr(plotting.importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install gaussmix\[plot\]"):
        vb_fit.plot_diagnostics(tmp_path / "x.png")


# --------------------------------------------------------------------------- comparison
@pytest.mark.filterwarnings("ignore:Estimated shape parameter")
def test_compare_models(blobs):
    fits = {f"k={k}": GaussianMixture(k, method="variational", n_init=2, random_state=0,
                                      weight_concentration_prior_type="dirichlet_distribution")
            .fit(blobs) for k in (2, 3)}
    table = compare_models(fits, blobs, n_draws=100)
    assert table.index[0] == "k=3"
    assert np.isfinite(table["elpd"].astype(float)).all()
    assert az.compare({name: loo(gm.to_arviz(blobs, n_draws=100, random_state=0))
                       for name, gm in fits.items()}).index[0] == "k=3"
    with pytest.raises(ValueError, match="variational"):
        compare_models({"em": GaussianMixture(2).fit(blobs), **fits}, blobs)


# --------------------------------------------------------------------------- demo
def test_demo_prints_report(tmp_path, capsys):
    from gaussmix.__main__ import main

    pytest.importorskip("matplotlib")
    path = tmp_path / "demo.png"
    assert main(["demo", "--n-init", "4", "--plot", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Convergence report" in out and "restarts converged" in out
    assert path.stat().st_size > 1000
