"""The diagnostic figure (gaussmix.diagnostics.plot_diagnostics)."""

import copy
import importlib.util
import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from gaussmix import GaussianMixture, load_faithful
from gaussmix.diagnostics import plot_diagnostics
from gaussmix.diagnostics._align import SAME_OPTIMUM_DISTANCE
from gaussmix.diagnostics._arviz import (
    best_restart,
    objective_gaps,
    objective_name,
    restart_alignment,
    same_optimum,
)

TITLES = ("Objective after every iteration", "Final objective below the best",
          "Weights of each restart")
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF", "svg": b"<?xml"}


def four_corners(n_per=60, seed=0):
    """Four clusters for three components: restarts end in different optima."""
    rng = np.random.default_rng(seed)
    corners = np.array([[-5.0, -5.0], [-5.0, 5.0], [5.0, -5.0], [5.0, 5.0]])
    return np.vstack([rng.normal(c, 1.0, (n_per, 2)) for c in corners])


@pytest.fixture(scope="module")
def faithful():
    return load_faithful()[0]


@pytest.fixture(scope="module")
def em_fit(faithful):
    return GaussianMixture(2, n_init=3, random_state=0).fit(faithful)


@pytest.fixture(scope="module")
def vb_fit(faithful):
    return GaussianMixture(2, method="variational", n_init=3, random_state=0).fit(faithful)


@pytest.fixture(scope="module")
def corners_fit():
    return GaussianMixture(3, n_init=6, random_state=1).fit(four_corners())


@pytest.fixture(autouse=True)
def _no_figures_left():
    """No test leaves a pyplot-managed figure behind."""
    plt.close("all")
    yield
    assert plt.get_fignums() == []


def _panels(fig):
    assert len(fig.axes) == 3
    objective, gap, weights = fig.axes
    for ax, title in zip(fig.axes, TITLES):
        assert ax.get_title().startswith(title)
    return objective, gap, weights


def _legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def _gap_markers(ax):
    """The (restart, gap, filled) of each restart's marker in the gap panel."""
    markers = []
    for collection in ax.collections:
        offsets = collection.get_offsets()
        if len(offsets) == 1:
            face = collection.get_facecolor()
            markers.append((offsets[0][0], offsets[0][1], len(face) > 0 and face[0][3] > 0))
    return sorted(markers)


# --------------------------------------------------------------------------- figure
@pytest.mark.parametrize("fit", ["em_fit", "vb_fit"])
def test_returns_a_figure_with_the_three_panels(fit, request):
    model = request.getfixturevalue(fit)
    fig = plot_diagnostics(model, n_draws=20)
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == []          # not registered with pyplot
    objective, gap, weights = _panels(fig)
    assert objective.get_ylabel() == objective_name(model)
    assert objective.get_xlabel() == "iteration"
    assert gap.get_xlabel() == weights.get_xlabel() == "restart"
    assert gap.get_ylabel().endswith("(nats)")
    assert str(best_restart(model)) in fig.get_suptitle()


def test_objective_names_differ_by_method(em_fit, vb_fit):
    em_label = plot_diagnostics(em_fit).axes[0].get_ylabel()
    vb_label = plot_diagnostics(vb_fit, n_draws=10).axes[0].get_ylabel()
    assert "mean log-likelihood per sample" in em_label
    assert "ELBO" in vb_label


@pytest.mark.parametrize("fit", ["em_fit", "vb_fit", "corners_fit"])
def test_one_objective_line_per_restart(fit, request):
    model = request.getfixturevalue(fit)
    objective = plot_diagnostics(model, n_draws=10).axes[0]
    lines = objective.get_lines()
    assert len(lines) == model.n_init == len(model.restarts_)
    best = best_restart(model)
    for c, (line, restart) in enumerate(zip(lines, model.restarts_)):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, len(restart.lower_bounds) + 1))
        np.testing.assert_allclose(line.get_ydata(), restart.lower_bounds)
        assert line.get_gid() == (f"restart {c} (kept)" if c == best else f"restart {c}")
    kept = lines[best]
    assert all(kept.get_linewidth() > line.get_linewidth()
               for c, line in enumerate(lines) if c != best)
    assert f"restart {best} (kept)" in _legend_texts(objective)


def test_many_restarts_share_one_legend_entry(faithful):
    model = GaussianMixture(2, n_init=12, max_iter=20, random_state=0).fit(faithful)
    objective = plot_diagnostics(model).axes[0]
    assert len(objective.get_lines()) == 12
    best = best_restart(model)
    assert _legend_texts(objective) == [f"restart {best} (kept)", "the other 11 restarts"]


@pytest.mark.parametrize("fit", ["em_fit", "vb_fit", "corners_fit"])
def test_gap_panel_marks_the_best_optimum(fit, request):
    model = request.getfixturevalue(fit)
    gap = plot_diagnostics(model, n_draws=10).axes[1]
    final = np.array([r.lower_bound for r in model.restarts_])
    _, distances = restart_alignment(model)
    markers = _gap_markers(gap)
    assert [m[0] for m in markers] == list(range(model.n_init))
    gaps = objective_gaps(model)
    np.testing.assert_allclose([m[1] for m in markers], gaps, atol=1e-9)
    if model.method == "em":   # in nats: the per-sample objective times the sample count
        np.testing.assert_allclose(gaps, (final.max() - final) * model._fit_weight, atol=1e-9)
    same = same_optimum(model, distances)
    assert [m[2] for m in markers] == list(same)
    assert not (same & (distances > SAME_OPTIMUM_DISTANCE)).any()
    assert markers[best_restart(model)][2]                # the kept fit is filled
    assert any("same optimum" in t for t in _legend_texts(gap))


def test_gap_panel_without_the_sample_weight(em_fit):
    """An EM model saved before the total weight was recorded: gaps per sample."""
    model = copy.deepcopy(em_fit)
    del model._fit_weight
    gap = plot_diagnostics(model).axes[1]
    assert gap.get_ylabel().endswith("(nats per sample)")
    final = np.array([r.lower_bound for r in model.restarts_])
    markers = _gap_markers(gap)
    np.testing.assert_allclose([m[1] for m in markers], final.max() - final, atol=1e-12)
    assert markers[best_restart(model)][2]


def test_gap_panel_separates_optima(corners_fit):
    """Not vacuous: the four-corners fit has restarts at another optimum."""
    filled = [m[2] for m in _gap_markers(plot_diagnostics(corners_fit).axes[1])]
    assert not all(filled) and any(filled)


@pytest.mark.parametrize("fit", ["em_fit", "vb_fit", "corners_fit"])
def test_weights_legend_names_every_component(fit, request):
    model = request.getfixturevalue(fit)
    weights = plot_diagnostics(model, n_draws=10).axes[2]
    k = model.n_components
    texts = _legend_texts(weights)
    assert texts[:k] == [f"component {j}" for j in range(k)]


@pytest.mark.parametrize("fit", ["em_fit", "vb_fit", "corners_fit"])
def test_weights_are_aligned_with_the_kept_fit(fit, request):
    model = request.getfixturevalue(fit)
    weights = plot_diagnostics(model, n_draws=10).axes[2]
    k, n = model.n_components, model.n_init
    bars = [container for container in weights.containers
            if type(container).__name__ == "BarContainer"]
    assert len(bars) == k
    heights = np.array([[patch.get_height() for patch in bar] for bar in bars])  # (k, n)
    assert heights.shape == (k, n)
    orders, _ = restart_alignment(model)
    for c, restart in enumerate(model.restarts_):
        np.testing.assert_allclose(heights[:, c], restart.params["weights_"][orders[c]])
    np.testing.assert_allclose(heights[:, best_restart(model)], model.weights_)


def test_variational_weights_have_posterior_intervals(vb_fit, em_fit):
    weights = plot_diagnostics(vb_fit, n_draws=100).axes[2]
    errorbars = [c for c in weights.containers if type(c).__name__ == "ErrorbarContainer"]
    assert len(errorbars) == vb_fit.n_components
    assert "90% posterior interval" in _legend_texts(weights)
    for bars in errorbars:
        segments = bars.lines[2][0].get_segments()
        assert len(segments) == vb_fit.n_init
        for (x0, low), (x1, high) in segments:
            assert x0 == x1 and 0.0 <= low <= high <= 1.0
    em_weights = plot_diagnostics(em_fit).axes[2]
    assert not [c for c in em_weights.containers if type(c).__name__ == "ErrorbarContainer"]


def test_intervals_follow_random_state(vb_fit):
    def segments(**kwargs):
        ax = plot_diagnostics(vb_fit, n_draws=30, **kwargs).axes[2]
        bars = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
        return np.array([b.lines[2][0].get_segments() for b in bars])

    np.testing.assert_array_equal(segments(random_state=3), segments(random_state=3))
    assert not np.array_equal(segments(random_state=3), segments(random_state=4))


# --------------------------------------------------------------------------- edge cases
@pytest.mark.parametrize("method", ["em", "variational"])
def test_single_restart(faithful, method):
    model = GaussianMixture(2, method=method, n_init=1, random_state=0).fit(faithful)
    fig = plot_diagnostics(model, n_draws=10)
    objective, gap, weights = _panels(fig)
    assert len(objective.get_lines()) == 1
    assert len(_gap_markers(gap)) == 1 and _gap_markers(gap)[0][1] == 0.0
    assert _legend_texts(weights)[:2] == ["component 0", "component 1"]


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_every_covariance_type(faithful, covariance_type):
    model = GaussianMixture(2, method="variational", covariance_type=covariance_type,
                            weight_concentration_prior_type="dirichlet_process",
                            n_init=2, random_state=0).fit(faithful)
    assert len(plot_diagnostics(model, n_draws=10).axes) == 3


def test_figsize(em_fit):
    fig = plot_diagnostics(em_fit, figsize=(6.0, 4.0))
    np.testing.assert_allclose(fig.get_size_inches(), [6.0, 4.0])


def test_unfitted_model_raises():
    with pytest.raises(NotFittedError):
        plot_diagnostics(GaussianMixture(2))


@pytest.mark.parametrize("n_draws", [0, 2.5])
def test_bad_n_draws(vb_fit, n_draws):
    with pytest.raises((ValueError, TypeError), match="n_draws"):
        plot_diagnostics(vb_fit, n_draws=n_draws)


# --------------------------------------------------------------------------- saving
@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
@pytest.mark.parametrize("fit", ["em_fit", "vb_fit"])
def test_saving_writes_the_requested_format(fit, fmt, request, tmp_path):
    model = request.getfixturevalue(fit)
    path = tmp_path / f"diagnostics.{fmt}"
    fig = plot_diagnostics(model, path, n_draws=10)
    assert isinstance(fig, Figure)
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(MAGIC[fmt])
    if fmt == "svg":
        assert b"<svg" in data
    assert plt.get_fignums() == []


def test_saving_accepts_a_str_path(em_fit, tmp_path):
    path = str(tmp_path / "diagnostics.png")
    assert isinstance(plot_diagnostics(em_fit, path), Figure)
    with open(path, "rb") as f:
        assert f.read(8) == MAGIC["png"]


def test_nothing_is_written_without_a_path(em_fit, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plot_diagnostics(em_fit)
    assert list(tmp_path.iterdir()) == []


def test_estimator_method_returns_the_figure(em_fit, tmp_path):
    path = tmp_path / "method.png"
    fig = em_fit.plot_diagnostics(path)
    assert isinstance(fig, Figure) and path.stat().st_size > 1000


# --------------------------------------------------------------------------- no matplotlib
def test_without_matplotlib_find_spec(em_fit, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install gaussmix\[plot\]") as info:
        plot_diagnostics(em_fit)
    assert info.value.name == "matplotlib"


def test_without_matplotlib_sys_modules(em_fit, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"gaussmix\[plot\]"):
        plot_diagnostics(em_fit)


def test_import_error_is_raised_before_the_fit_check(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    with pytest.raises(ImportError, match=r"gaussmix\[plot\]"):
        plot_diagnostics(GaussianMixture(2))
