"""Plots of the fitted mixture (gaussmix.plotting)."""

import copy
import doctest
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse

import gaussmix
import gaussmix.diagnostics
from gaussmix import GaussianMixture, load_faithful, plotting, select
from gaussmix.plotting import (
    _full_covariances,
    _marginal_log_density,
    plot_classification,
    plot_criterion,
    plot_density,
    plot_diagnostics,
    plot_uncertainty,
)

PUBLIC = ("plot_classification", "plot_uncertainty", "plot_density", "plot_criterion")


@pytest.fixture(autouse=True)
def no_pyplot_figures_left():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before, "a test left a pyplot figure open"


def blobs(d, k=3, n_per=60, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (k, d))
    return np.vstack([rng.normal(c, 1.0, (n_per, d)) * np.linspace(1, 1.5, d)
                      for c in centres])


@pytest.fixture(scope="module")
def faithful():
    X, names = load_faithful()
    return X, names, GaussianMixture(2, random_state=0).fit(X)


@pytest.fixture(scope="module")
def model3d():
    X = blobs(3)
    return X, GaussianMixture(3, random_state=0).fit(X)


def ellipses_of(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


def legend_texts(legend):
    return [t.get_text() for t in legend.get_texts()]


# --- import and optional dependency -------------------------------------------------

def test_importing_gaussmix_does_not_import_matplotlib():
    code = ("import sys, gaussmix, gaussmix.plotting; "
            "assert 'matplotlib' not in sys.modules, sorted(m for m in sys.modules "
            "if m.startswith('matplotlib'))")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_matplotlib_the_error_names_the_extra(monkeypatch, faithful):
    X, _, model = faithful
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    calls = [lambda: plot_classification(model, X), lambda: plot_uncertainty(model, X),
             lambda: plot_density(model, X), lambda: plot_criterion(pd.DataFrame({"a": [1.0]}))]
    for call in calls:
        with pytest.raises(ImportError, match=r'gaussmix\[plot\]') as info:
            call()
        assert 'pip install "gaussmix[plot]"' in str(info.value)
        assert "gaussmix.plotting needs matplotlib" in str(info.value)


def test_matplotlib_is_back_after_the_monkeypatch():
    assert sys.modules["matplotlib"] is matplotlib


def test_plot_diagnostics_is_reexported(faithful):
    X, _, _ = faithful
    assert plotting.plot_diagnostics is gaussmix.diagnostics.plot_diagnostics
    assert set(PUBLIC) | {"plot_diagnostics"} == set(plotting.__all__)
    fig = plot_diagnostics(GaussianMixture(2, n_init=2, random_state=0).fit(X))
    assert isinstance(fig, Figure)


# --- classification ----------------------------------------------------------------

def test_classification_2d_returns_axes_with_ellipses_and_legend(faithful):
    X, names, model = faithful
    ax = plot_classification(model, X, feature_names=names)
    assert isinstance(ax, Axes)
    assert len(ellipses_of(ax)) == 2 * 2
    assert legend_texts(ax.get_legend()) == ["component 0", "component 1"]
    assert ax.get_xlabel() == names[0] and ax.get_ylabel() == names[1]
    # points: one PathCollection per component, coloured by predict
    labels = model.predict(X)
    for c in range(2):
        np.testing.assert_allclose(ax.collections[c].get_offsets(), X[labels == c])
    # the means are marked
    np.testing.assert_allclose(ax.collections[2].get_offsets(), model.means_)


@pytest.mark.parametrize("radii", [(), (1,), (1, 2), (0.5, 1, 2)])
def test_number_of_ellipses_is_components_times_radii(faithful, radii):
    X, _, model = faithful
    ax = plot_classification(model, X, ellipses=radii)
    assert len(ellipses_of(ax)) == model.n_components * len(radii)


def test_one_sigma_ellipse_of_a_known_covariance(faithful):
    X, _, fitted = faithful
    model = copy.deepcopy(fitted)
    theta = np.deg2rad(30.0)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    known = rot @ np.diag([4.0, 1.0]) @ rot.T   # semi-axes 2 and 1, major axis at 30 deg
    model.covariances_ = model.covariances_.copy()
    model.covariances_[1] = known
    ax = plot_classification(model, X, ellipses=(1, 2))
    e1, e2 = [e for e in ellipses_of(ax) if np.allclose(e.center, model.means_[1])]
    assert e1.width == pytest.approx(4.0) and e1.height == pytest.approx(2.0)
    assert e1.angle % 180 == pytest.approx(30.0)
    assert e2.width == pytest.approx(8.0) and e2.height == pytest.approx(4.0)


def implied_covariance(ellipse, radius):
    """The covariance whose radius-sigma ellipse is this patch."""
    a = np.deg2rad(ellipse.angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    axes = np.diag([(ellipse.width / 2) ** 2, (ellipse.height / 2) ** 2]) / radius ** 2
    return rot @ axes @ rot.T


def test_ellipses_match_the_eigendecomposition(faithful):
    X, _, model = faithful
    ax = plot_classification(model, X, ellipses=(1, 2))
    patches = ellipses_of(ax)
    for j in range(model.n_components):
        cov = model.covariances_[j]
        vals, vecs = np.linalg.eig(cov)          # independent of the module's eigh
        vals, vecs = np.real(vals), np.real(vecs)
        big = np.argmax(vals)
        e1, e2 = patches[2 * j], patches[2 * j + 1]
        np.testing.assert_allclose(e1.center, model.means_[j])
        assert e1.width / 2 == pytest.approx(np.sqrt(vals.max()))
        assert e1.height / 2 == pytest.approx(np.sqrt(vals.min()))
        expected_angle = np.degrees(np.arctan2(vecs[1, big], vecs[0, big])) % 180
        assert e1.angle % 180 == pytest.approx(expected_angle, abs=1e-6)
        np.testing.assert_allclose(implied_covariance(e1, 1), cov, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(implied_covariance(e2, 2), cov, rtol=1e-8, atol=1e-10)


def test_pairs_grid_for_more_than_two_features(model3d):
    X, model = model3d
    fig = plot_classification(model, X)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 9
    grid = np.array(fig.axes).reshape(3, 3)
    cov = model.covariances_
    for i in range(3):
        for j in range(3):
            ax = grid[i, j]
            if i == j:
                assert not ellipses_of(ax) and ax.patches   # histogram bars
            else:
                es = ellipses_of(ax)
                assert len(es) == 3 * 2
                block = cov[0][np.ix_([j, i], [j, i])]   # x: column j, y: row i
                np.testing.assert_allclose(implied_covariance(es[0], 1), block,
                                           rtol=1e-8, atol=1e-10)
                np.testing.assert_allclose(es[0].center, model.means_[0, [j, i]])
    assert legend_texts(fig.legends[0]) == [f"component {c}" for c in range(3)]


def test_two_chosen_features_of_three_give_axes(model3d):
    X, model = model3d
    ax = plot_classification(model, X, features=(2, 0))
    assert isinstance(ax, Axes)
    es = ellipses_of(ax)
    assert len(es) == 6
    np.testing.assert_allclose(implied_covariance(es[0], 1),
                               model.covariances_[0][np.ix_([2, 0], [2, 0])], atol=1e-10)


def test_pairs_grid_refuses_an_axes(model3d):
    X, model = model3d
    with pytest.raises(ValueError, match="pairs grid"):
        plot_classification(model, X, ax=Figure().add_subplot())


def test_one_dimensional_classification():
    X = blobs(1, k=2)
    model = GaussianMixture(2, random_state=0).fit(X)
    ax = plot_classification(model, X)
    assert isinstance(ax, Axes)
    texts = legend_texts(ax.get_legend())
    assert "component 0" in texts and "component 1" in texts
    assert len(ax.lines) >= 3   # two weighted components and the mixture
    mixture = ax.lines[2]
    xs, ys = mixture.get_data()
    np.testing.assert_allclose(ys, np.exp(model.score_samples(xs[:, None])), rtol=1e-8)


def test_feature_names_from_a_dataframe(faithful):
    X, names, _ = faithful
    frame = pd.DataFrame(X, columns=names)
    model = GaussianMixture(2, random_state=0).fit(frame)
    ax = plot_classification(model, frame, features=("waiting", "eruptions"))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("waiting", "eruptions")
    with pytest.raises(ValueError, match="unknown feature"):
        plot_classification(model, frame, features=("nope", "waiting"))


def test_draws_on_a_given_axes(faithful):
    X, _, model = faithful
    ax = Figure().add_subplot()
    assert plot_classification(model, X, ax=ax) is ax


@pytest.mark.parametrize("covariance_type",
                         ["full", "tied", "diag", "spherical", "VEV", "EII", "VVI"])
def test_every_covariance_type(covariance_type):
    X = blobs(3, k=2, n_per=40)
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    full = _full_covariances(model)
    assert full.shape == (2, 3, 3)
    cov = np.asarray(model.covariances_)
    if covariance_type == "tied":
        np.testing.assert_allclose(full[0], cov)
        np.testing.assert_allclose(full[1], cov)
    elif covariance_type == "diag":
        np.testing.assert_allclose(full, [np.diag(c) for c in cov])
    elif covariance_type == "spherical":
        np.testing.assert_allclose(full, [c * np.eye(3) for c in cov])
    else:
        np.testing.assert_allclose(full, cov)
    # the full covariances give the model's own density
    np.testing.assert_allclose(_marginal_log_density(model, X, (0, 1, 2)),
                               model.score_samples(X), rtol=1e-6, atol=1e-8)
    fig = plot_classification(model, X)
    assert isinstance(fig, Figure)
    assert len(ellipses_of(fig.axes[1])) == 2 * 2
    assert isinstance(plot_classification(model, X, features=(0, 1)), Axes)
    assert isinstance(plot_uncertainty(model, X), Axes)
    assert isinstance(plot_density(model, X, features=(0, 2), grid_size=30), Axes)


# --- uncertainty ---------------------------------------------------------------------

def test_uncertainty_values_are_one_minus_max_probability(faithful):
    X, _, model = faithful
    ax = plot_uncertainty(model, X)
    assert isinstance(ax, Axes)
    points = ax.collections[0]
    assert isinstance(points, PathCollection)
    expected = 1.0 - model.predict_proba(X).max(axis=1)
    values = np.asarray(points.get_array())
    offsets = np.asarray(points.get_offsets())
    # the same multiset of values, each at its own sample
    np.testing.assert_allclose(np.sort(values), np.sort(expected))
    order = np.lexsort((X[:, 1], X[:, 0]))
    back = np.lexsort((offsets[:, 1], offsets[:, 0]))
    np.testing.assert_allclose(offsets[back], X[order])
    np.testing.assert_allclose(values[back], expected[order])
    assert len(ax.figure.axes) == 2   # the colorbar
    # the most uncertain are drawn largest
    sizes = points.get_sizes()
    assert sizes[np.argmax(values)] == sizes.max()


def test_uncertainty_of_chosen_features_and_one_dimension(model3d):
    X, model = model3d
    ax = plot_uncertainty(model, X, features=(1, 2))
    offsets = np.asarray(ax.collections[0].get_offsets())
    np.testing.assert_allclose(np.sort(offsets[:, 0]), np.sort(X[:, 1]))
    X1 = blobs(1, k=2)
    m1 = GaussianMixture(2, random_state=0).fit(X1)
    ax = plot_uncertainty(m1, X1)
    np.testing.assert_allclose(np.sort(ax.collections[0].get_array()),
                               np.sort(1 - m1.predict_proba(X1).max(axis=1)))


# --- density -------------------------------------------------------------------------

def contours_of(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def test_density_contours_exist(faithful):
    X, _, model = faithful
    ax = plot_density(model, X, levels=7, grid_size=40)
    assert isinstance(ax, Axes)
    (cs,) = contours_of(ax)
    assert len(cs.levels) == 7
    assert isinstance(plot_density(model, grid_size=30), Axes)   # without data
    ax = plot_density(model, X, levels=[1e-3, 1e-2], grid_size=30)
    np.testing.assert_allclose(np.exp(contours_of(ax)[0].levels), [1e-3, 1e-2])


def test_density_of_two_features_is_the_models(faithful):
    X, _, model = faithful
    np.testing.assert_allclose(_marginal_log_density(model, X, (0, 1)),
                               model.score_samples(X), rtol=1e-8)


def test_marginal_density_of_a_3d_model_integrates_to_one(model3d):
    X, model = model3d
    for feats in [(0, 1), (0, 2), (2, 1)]:
        lo = X[:, list(feats)].min(axis=0) - 15
        hi = X[:, list(feats)].max(axis=0) + 15
        gx, gy = np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300)
        xx, yy = np.meshgrid(gx, gy)
        dens = np.exp(_marginal_log_density(
            model, np.column_stack([xx.ravel(), yy.ravel()]), feats)).reshape(xx.shape)
        total = np.trapezoid(np.trapezoid(dens, gx, axis=1), gy)
        assert total == pytest.approx(1.0, abs=1e-3)
    # the plot of two of three features, over samples drawn from the model
    rng = np.random.default_rng(1)
    means, covs, w = model.means_, model.covariances_, model.weights_
    comp = rng.choice(len(w), size=4000, p=w)
    draws = np.array([rng.multivariate_normal(means[c], covs[c]) for c in comp])
    ax = plot_density(model, draws, features=(0, 2), grid_size=40)
    assert contours_of(ax)


def test_density_one_dimension():
    X = blobs(1, k=2)
    model = GaussianMixture(2, random_state=0).fit(X)
    ax = plot_density(model, X)
    xs, ys = ax.lines[0].get_data()
    np.testing.assert_allclose(ys, np.exp(model.score_samples(xs[:, None])), rtol=1e-8)
    assert np.trapezoid(ys, xs) == pytest.approx(1.0, abs=0.02)


# --- criterion -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def selection(faithful):
    X, _, _ = faithful
    return select(X, n_components=range(1, 4), covariance_type=["full", "diag", "VEV"])


def test_criterion_one_line_per_model_and_best_marked(selection):
    ax = plot_criterion(selection)
    table = selection.table
    assert isinstance(ax, Axes)
    assert [line.get_label() for line in ax.lines] == list(map(str, table.columns))
    for line, column in zip(ax.lines, table.columns, strict=True):
        np.testing.assert_allclose(line.get_ydata(), table[column].to_numpy())
        np.testing.assert_allclose(line.get_xdata(), table.index.to_numpy())
    values = table.to_numpy()
    row, col = np.unravel_index(np.nanargmin(values), values.shape)
    np.testing.assert_allclose(ax.collections[0].get_offsets(),
                               [[table.index[row], values[row, col]]])
    assert selection.best_params_ == {"n_components": table.index[row],
                                      "covariance_type": table.columns[col]}
    assert "BIC" in ax.get_ylabel()
    texts = legend_texts(ax.get_legend())
    assert texts[:3] == list(table.columns) and texts[3].startswith("best")


def test_criterion_from_a_dataframe_with_nan():
    table = pd.DataFrame({"EII": [10.0, 8.0, np.nan], "VVV": [10.0, np.nan, 5.0]},
                         index=pd.Index([1, 2, 3], name="n_components"))
    ax = plot_criterion(table)
    assert len(ax.lines) == 2
    np.testing.assert_allclose(ax.collections[0].get_offsets(), [[3, 5.0]])
    with pytest.raises(TypeError, match="SelectionResult"):
        plot_criterion([1, 2, 3])


# --- documentation -------------------------------------------------------------------

@pytest.mark.parametrize("name", PUBLIC)
def test_numpydoc_valid(name):
    validate = pytest.importorskip("numpydoc.validate")
    errors = [f"{code}: {msg}" for code, msg in
              validate.validate(f"gaussmix.plotting.{name}")["errors"]]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("name", PUBLIC)
def test_examples_run(name):
    obj = getattr(plotting, name)
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(obj, name, globs={}) if t.examples]
    assert tests
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_module_docstring_lists_the_functions():
    for name in plotting.__all__:
        assert f":func:`{name}`" in plotting.__doc__


def test_feature_names_label_uncertainty_and_density(faithful):
    X, names, model = faithful
    ax = plot_uncertainty(model, X, feature_names=names)
    assert (ax.get_xlabel(), ax.get_ylabel()) == tuple(names)
    ax = plot_density(model, X, feature_names=names, features=("waiting", "eruptions"),
                      grid_size=30)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("waiting", "eruptions")
