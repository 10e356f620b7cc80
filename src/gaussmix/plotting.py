"""Plots of a fitted Gaussian mixture (optional extra ``plot``: matplotlib).

mclust's ``plot(mod, what = "classification" | "uncertainty" | "density" | "BIC")``,
one function each, plus the diagnostics figure:

- :func:`plot_classification`: the data coloured by component, the component means
  and the 1- and 2-sigma ellipses of the component covariances; a pairs grid for
  more than two features, histograms by component for one;
- :func:`plot_uncertainty`: the data sized and coloured by the classification
  uncertainty ``1 - max_k p(k | x)``;
- :func:`plot_density`: contours of the mixture density (of the marginal of two
  features when there are more);
- :func:`plot_criterion`: the model-selection criterion against the number of
  components G, one line per covariance model (a :class:`~gaussmix.SelectionResult`);
- :func:`plot_diagnostics`: the restarts of a fit
  (:func:`gaussmix.diagnostics.plot_diagnostics`).

Every function returns a :class:`matplotlib.axes.Axes` (or a
:class:`matplotlib.figure.Figure` for grids).  Without ``ax`` the figure is built on
:class:`matplotlib.figure.Figure` directly, so pyplot never holds it: nothing is shown
or leaked, and any backend (headless Agg included) works.  matplotlib is imported only
when a function is called; without it they raise an :class:`ImportError` naming the
``gaussmix[plot]`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import logsumexp
from sklearn.utils.validation import check_is_fitted

from .diagnostics import plot_diagnostics

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "plot_classification",
    "plot_criterion",
    "plot_density",
    "plot_diagnostics",
    "plot_uncertainty",
]

_INSTALL_HINT = 'gaussmix.plotting needs matplotlib: pip install "gaussmix[plot]"'


def _require_matplotlib():
    """Import matplotlib, or raise an ImportError that names the ``plot`` extra."""
    try:
        import matplotlib
        import matplotlib.figure
        import matplotlib.lines
        import matplotlib.patches
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return matplotlib


def _new_axes(matplotlib, ax, figsize=(6.4, 4.8)):
    """``ax`` itself, or the single Axes of a new pyplot-free Figure."""
    if ax is not None:
        return ax
    fig = matplotlib.figure.Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def _colours(k):
    """One colour per component, matplotlib's default cycle."""
    return [f"C{i % 10}" for i in range(k)]


def _full_covariances(model) -> np.ndarray:
    """The component covariances of ``model`` as an array of shape (k, d, d).

    Handles scikit-learn's shapes by ``covariance_type`` ('full' (k, d, d), 'tied'
    (d, d), 'diag' (k, d), 'spherical' (k,)); any other name (mclust's "VEV", ...)
    is taken as already (k, d, d).
    """
    cov = np.asarray(model.covariances_, dtype=float)
    means = np.asarray(model.means_, dtype=float)
    k, d = means.shape
    kind = model.covariance_type
    if kind == "tied":
        full = np.broadcast_to(cov.reshape(d, d), (k, d, d)).copy()
    elif kind == "diag":
        full = np.zeros((k, d, d))
        full[:, np.arange(d), np.arange(d)] = cov.reshape(k, d)
    elif kind == "spherical":
        full = cov.reshape(k)[:, None, None] * np.eye(d)
    else:
        full = cov
    if full.shape != (k, d, d):
        raise ValueError(f"covariances_ of shape {cov.shape} do not fit "
                         f"covariance_type={kind!r} with {k} components in {d} dimensions")
    return full


def _marginal(model, features):
    """Weights, means (k, m) and covariances (k, m, m) of the marginal on ``features``."""
    f = list(features)
    cov = _full_covariances(model)
    return (np.asarray(model.weights_, dtype=float),
            np.asarray(model.means_, dtype=float)[:, f], cov[:, f][:, :, f])


def _marginal_log_density(model, points, features) -> np.ndarray:
    """Log-density of the mixture's marginal on ``features`` at ``points`` (n, m).

    The marginal of a Gaussian mixture is the mixture of the component marginals,
    computed analytically (no d-dimensional grid).
    """
    weights, means, covs = _marginal(model, features)
    points = np.atleast_2d(np.asarray(points, dtype=float))
    m = means.shape[1]
    log_comp = np.empty((points.shape[0], len(weights)))
    for j, (mu, cov) in enumerate(zip(means, covs, strict=True)):
        chol = np.linalg.cholesky(cov)
        z = np.linalg.solve(chol, (points - mu).T)
        log_det = 2.0 * np.log(np.diag(chol)).sum()
        log_comp[:, j] = -0.5 * (np.sum(z * z, axis=0) + log_det + m * np.log(2 * np.pi))
    with np.errstate(divide="ignore"):
        return logsumexp(log_comp + np.log(weights), axis=1)


def _feature_names(model, X, feature_names, d):
    """Names of the features: given, the model's ``feature_names_in_``, X's columns."""
    if feature_names is None:
        feature_names = getattr(model, "feature_names_in_", None)
    if feature_names is None and hasattr(X, "columns"):
        feature_names = list(X.columns)
    if feature_names is None:
        return [f"x{i}" for i in range(d)]
    names = [str(n) for n in feature_names]
    if len(names) != d:
        raise ValueError(f"feature_names has {len(names)} names for {d} features")
    return names


def _resolve_features(features, names, d, default):
    """Feature indices from ``features`` (indices or names); ``default`` when None."""
    if features is None:
        return tuple(default)
    if isinstance(features, (str, int, np.integer)):
        features = [features]
    out = []
    for f in features:
        if isinstance(f, str):
            if f not in names:
                raise ValueError(f"unknown feature {f!r}; the features are {names}")
            out.append(names.index(f))
        else:
            i = int(f)
            if not -d <= i < d:
                raise ValueError(f"feature index {i} out of range for {d} features")
            out.append(i % d)
    if not out:
        raise ValueError("features is empty")
    return tuple(out)


def _check_model(model):
    check_is_fitted(model)
    return np.asarray(model.means_).shape


def _as_array(X, d):
    arr = np.asarray(X, dtype=float)
    if arr.ndim == 1 and d == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != d:
        raise ValueError(f"X must have shape (n_samples, {d}); got {arr.shape}")
    return arr


def _ellipse_params(cov2, radius):
    """Width, height and angle (degrees) of the ``radius``-sigma ellipse of ``cov2``."""
    vals, vecs = np.linalg.eigh(cov2)
    vals = np.clip(vals, 0.0, None)
    major = vecs[:, 1]
    angle = np.degrees(np.arctan2(major[1], major[0]))
    return 2 * radius * np.sqrt(vals[1]), 2 * radius * np.sqrt(vals[0]), angle


def _draw_ellipses(matplotlib, ax, means, covs, ellipses, colours):
    styles = ["-", "--", ":", "-."]
    for j in range(len(means)):
        for r_index, radius in enumerate(ellipses):
            width, height, angle = _ellipse_params(covs[j], float(radius))
            ax.add_patch(matplotlib.patches.Ellipse(
                means[j], width, height, angle=angle, fill=False,
                edgecolor=colours[j], linewidth=1.2,
                linestyle=styles[r_index % len(styles)]))


def _classification_2d(matplotlib, ax, model, Xa, labels, features, names, ellipses,
                       legend=True):
    k = np.asarray(model.means_).shape[0]
    colours = _colours(k)
    i, j = features
    _, means, covs = _marginal(model, (i, j))
    for c in range(k):
        mask = labels == c
        ax.scatter(Xa[mask, i], Xa[mask, j], s=12, color=colours[c], alpha=0.7,
                   label=f"component {c}")
    ax.scatter(means[:, 0], means[:, 1], marker="X", s=70, c=colours,
               edgecolors="black", linewidths=0.8, zorder=3)
    _draw_ellipses(matplotlib, ax, means, covs, ellipses, colours)
    ax.set_xlabel(names[i])
    ax.set_ylabel(names[j])
    if legend:
        ax.legend(loc="best", fontsize="small")


def _hist_by_class(ax, x, labels, k, colours, label=True):
    bins = np.histogram_bin_edges(x, bins=20)
    data = [x[labels == c] for c in range(k)]
    ax.hist(data, bins=bins, stacked=True, density=True, color=colours, alpha=0.6,
            label=[f"component {c}" for c in range(k)] if label else None)


def plot_classification(model, X, *, ax=None, features=None, ellipses=(1, 2),
                        feature_names=None) -> Axes | Figure:
    """Plot the data coloured by component, with the means and covariance ellipses.

    mclust's ``plot(mod, what = "classification")``.  Each sample is coloured by its
    most probable component (``model.predict(X)``), the component means are marked
    with a cross and, for two features, the ``ellipses``-sigma ellipses of each
    component's covariance (the marginal 2 x 2 block of it) are drawn: the points at
    Mahalanobis distance 1 and 2 from the mean.  With more than two features (and
    ``features=None``) a pairs grid is drawn instead: every pair of features off the
    diagonal, histograms by component on it.  With one feature: a stacked histogram
    by component and the weighted component densities.

    Parameters
    ----------
    model : GaussianMixture
        A fitted mixture (any ``covariance_type``, mclust names included).
    X : array-like of shape (n_samples, n_features)
        The samples to plot.
    ax : matplotlib.axes.Axes or None, default=None
        Where to draw (one or two features); None draws on a new figure.  Must be
        None for a pairs grid.
    features : sequence of int or str or None, default=None
        The features to plot, by index or name: one (histogram), two (scatter) or
        more (pairs grid).  None plots every feature.
    ellipses : sequence of float, default=(1, 2)
        Radii, in standard deviations (Mahalanobis distance), of the ellipses drawn
        around every component; empty for none.
    feature_names : sequence of str or None, default=None
        Axis labels; None uses the model's ``feature_names_in_``, the columns of a
        DataFrame ``X`` or ``x0, x1, ...``.

    Returns
    -------
    matplotlib.axes.Axes or matplotlib.figure.Figure
        The Axes for one or two features; the Figure of the d x d grid for more.

    See Also
    --------
    plot_uncertainty : The uncertainty of the same classification.
    plot_density : Contours of the mixture density.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> from gaussmix.plotting import plot_classification
    >>> X, names = load_faithful()
    >>> model = GaussianMixture(2, random_state=0).fit(X)
    >>> ax = plot_classification(model, X, feature_names=names)
    >>> len(ax.patches)
    4
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['component 0', 'component 1']
    """
    matplotlib = _require_matplotlib()
    k, d = _check_model(model)
    Xa = _as_array(X, d)
    names = _feature_names(model, X, feature_names, d)
    feats = _resolve_features(features, names, d, range(d))
    labels = np.asarray(model.predict(X))
    colours = _colours(k)

    if len(feats) == 1:
        ax = _new_axes(matplotlib, ax)
        (f,) = feats
        x = Xa[:, f]
        _hist_by_class(ax, x, labels, k, colours)
        weights, means, covs = _marginal(model, feats)
        pad = 0.1 * (np.ptp(x) or 1.0)
        grid = np.linspace(x.min() - pad, x.max() + pad, 400)
        sd = np.sqrt(covs[:, 0, 0])
        comp = weights[:, None] * np.exp(
            -0.5 * ((grid[None, :] - means) / sd[:, None]) ** 2) / (
            np.sqrt(2 * np.pi) * sd[:, None])
        for c in range(k):
            ax.plot(grid, comp[c], color=colours[c], linewidth=1.5)
        ax.plot(grid, comp.sum(axis=0), color="black", linewidth=1.5, label="mixture")
        ax.plot(means[:, 0], np.zeros(k), linestyle="none", marker="X", color="black")
        ax.set_xlabel(names[f])
        ax.set_ylabel("density")
        ax.set_title("Classification")
        ax.legend(loc="best", fontsize="small")
        return ax

    if len(feats) == 2:
        ax = _new_axes(matplotlib, ax)
        _classification_2d(matplotlib, ax, model, Xa, labels, feats, names, ellipses)
        ax.set_title("Classification")
        return ax

    if ax is not None:
        raise ValueError(f"a pairs grid of {len(feats)} features needs its own figure: "
                         "pass ax=None, or choose two features with features=(i, j)")
    m = len(feats)
    fig = matplotlib.figure.Figure(figsize=(2.2 * m + 1.5, 2.2 * m), layout="constrained")
    axes = fig.subplots(m, m, squeeze=False)
    for row, fi in enumerate(feats):
        for col, fj in enumerate(feats):
            sub = axes[row, col]
            if row == col:
                _hist_by_class(sub, Xa[:, fi], labels, k, colours, label=False)
                sub.set_yticks([])
            else:   # x: the column's feature, y: the row's
                _classification_2d(matplotlib, sub, model, Xa, labels, (fj, fi), names,
                                   ellipses, legend=False)
            sub.set_xlabel(names[fj] if row == m - 1 else "")
            sub.set_ylabel(names[fi] if col == 0 else "")
    handles = [matplotlib.lines.Line2D([], [], linestyle="none", marker="o",
                                       color=colours[c]) for c in range(k)]
    fig.legend(handles, [f"component {c}" for c in range(k)], loc="outside right upper",
               fontsize="small")
    fig.suptitle("Classification")
    return fig


def plot_uncertainty(model, X, *, ax=None, features=None,
                     feature_names=None) -> Axes:
    """Plot the samples sized and coloured by the uncertainty of their classification.

    mclust's ``plot(mod, what = "uncertainty")``.  The uncertainty of a sample is
    ``1 - max_k p(k | x)`` (from ``model.predict_proba(X)``): 0 for a sample that
    surely belongs to one component, at most ``1 - 1/k``.  The most uncertain samples
    are drawn largest, on top, and a colorbar gives the scale.

    Parameters
    ----------
    model : GaussianMixture
        A fitted mixture.
    X : array-like of shape (n_samples, n_features)
        The samples to plot.
    ax : matplotlib.axes.Axes or None, default=None
        Where to draw; None draws on a new figure.
    features : sequence of int or str or None, default=None
        The two features (indices, or names from ``feature_names_in_``) on the axes;
        None takes the first two.  For one-dimensional data the uncertainty is
        plotted against the single feature.
    feature_names : sequence of str or None, default=None
        Axis labels; None uses the model's ``feature_names_in_``, the columns of a
        DataFrame ``X`` or ``x0, x1, ...``.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes; ``ax.collections[0].get_array()`` holds the uncertainties, in the
        order of ``ax.collections[0].get_offsets()``.

    See Also
    --------
    plot_classification : The classification itself.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> from gaussmix.plotting import plot_uncertainty
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, random_state=0).fit(X)
    >>> ax = plot_uncertainty(model, X)
    >>> float(ax.collections[0].get_array().max()) <= 0.5
    True
    """
    matplotlib = _require_matplotlib()
    k, d = _check_model(model)
    Xa = _as_array(X, d)
    names = _feature_names(model, X, feature_names, d)
    feats = _resolve_features(features, names, d, (0, 1) if d >= 2 else (0,))
    if len(feats) > 2:
        raise ValueError(f"features must name one or two features; got {len(feats)}")
    proba = np.asarray(model.predict_proba(X))
    uncertainty = 1.0 - proba.max(axis=1)
    top = 1.0 - 1.0 / k if k > 1 else 1.0
    order = np.argsort(uncertainty, kind="stable")   # most uncertain drawn on top
    ax = _new_axes(matplotlib, ax)
    x = Xa[order, feats[0]]
    y = Xa[order, feats[1]] if len(feats) == 2 else uncertainty[order]
    sizes = 6.0 + 100.0 * uncertainty[order] / top
    points = ax.scatter(x, y, c=uncertainty[order], s=sizes, cmap="viridis",
                        vmin=0.0, vmax=top, edgecolors="none")
    ax.figure.colorbar(points, ax=ax, label="uncertainty  1 - max p(k | x)")
    ax.set_xlabel(names[feats[0]])
    ax.set_ylabel(names[feats[1]] if len(feats) == 2 else "uncertainty")
    ax.set_title("Uncertainty")
    return ax


def _grid_limits(model, Xa, feats):
    """Plotting range of each feature: the data's, or the components' +- 4 sd."""
    _, means, covs = _marginal(model, feats)
    sd = np.sqrt(np.einsum("kii->ki", covs))
    low, high = (means - 4 * sd).min(axis=0), (means + 4 * sd).max(axis=0)
    if Xa is not None:
        x = Xa[:, list(feats)]
        span = np.ptp(x, axis=0)
        span = np.where(span > 0, span, 1.0)
        low, high = x.min(axis=0) - 0.1 * span, x.max(axis=0) + 0.1 * span
    return low, high


def plot_density(model, X=None, *, ax=None, features=None, levels=10,
                 grid_size=100, feature_names=None) -> Axes:
    """Plot contours of the mixture density, optionally over the data.

    mclust's ``plot(mod, what = "density")``.  For two features the density is the
    model's (``model.score_samples`` on a ``grid_size`` x ``grid_size`` grid); for
    more, it is the marginal density of the two chosen features, the mixture of the
    components' two-dimensional marginals, computed exactly.  For one-dimensional
    data the density curve is drawn.

    Parameters
    ----------
    model : GaussianMixture
        A fitted mixture.
    X : array-like of shape (n_samples, n_features) or None, default=None
        Samples drawn as points under the contours (and which set the plotted
        range); None draws the density alone, over the components' means +- 4
        standard deviations.
    ax : matplotlib.axes.Axes or None, default=None
        Where to draw; None draws on a new figure.
    features : sequence of int or str or None, default=None
        The two features (indices, or names from ``feature_names_in_``); None takes
        the first two.
    levels : int or sequence of float, default=10
        The number of contour levels, spaced evenly in log density from a
        thousandth of the density's maximum on the grid up to it; or the density
        values of the levels.
    grid_size : int, default=100
        Grid points along each axis.
    feature_names : sequence of str or None, default=None
        Axis labels; None uses the model's ``feature_names_in_``, the columns of a
        DataFrame ``X`` or ``x0, x1, ...``.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes, the contours a :class:`matplotlib.contour.QuadContourSet` among
        ``ax.collections``.

    See Also
    --------
    plot_classification : The components that make the density.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> from gaussmix.plotting import plot_density
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, random_state=0).fit(X)
    >>> ax = plot_density(model, X, levels=8)
    >>> ax.get_title()
    'Density'
    """
    matplotlib = _require_matplotlib()
    _, d = _check_model(model)
    Xa = None if X is None else _as_array(X, d)
    names = _feature_names(model, X, feature_names, d)
    feats = _resolve_features(features, names, d, (0, 1) if d >= 2 else (0,))
    if len(feats) > 2:
        raise ValueError(f"features must name one or two features; got {len(feats)}")
    grid_size = int(grid_size)
    if grid_size < 2:
        raise ValueError(f"grid_size must be at least 2; got {grid_size}")
    ax = _new_axes(matplotlib, ax)
    low, high = _grid_limits(model, Xa, feats)
    native = feats == tuple(range(d))   # the model's own features, in order

    if len(feats) == 1:
        grid = np.linspace(low[0], high[0], max(grid_size, 200))
        log_dens = (model.score_samples(grid[:, None]) if native
                    else _marginal_log_density(model, grid[:, None], feats))
        if Xa is not None:
            ax.hist(Xa[:, feats[0]], bins=np.histogram_bin_edges(Xa[:, feats[0]], 20),
                    density=True, color="0.8")
        ax.plot(grid, np.exp(log_dens), color="C0")
        ax.set_xlabel(names[feats[0]])
        ax.set_ylabel("density")
        ax.set_title("Density")
        return ax

    gx = np.linspace(low[0], high[0], grid_size)
    gy = np.linspace(low[1], high[1], grid_size)
    xx, yy = np.meshgrid(gx, gy)
    points = np.column_stack([xx.ravel(), yy.ravel()])
    log_dens = (np.asarray(model.score_samples(points), dtype=float) if native
                else _marginal_log_density(model, points, feats)).reshape(xx.shape)
    if Xa is not None:
        ax.scatter(Xa[:, feats[0]], Xa[:, feats[1]], s=6, color="0.6", zorder=1)
    if np.ndim(levels) == 0:
        n_levels = int(levels)
        if n_levels < 1:
            raise ValueError(f"levels must be at least 1; got {n_levels}")
        top = log_dens.max()
        log_levels = np.linspace(top - np.log(1000.0), top, n_levels + 1)[:-1]
    else:
        log_levels = np.log(np.sort(np.asarray(levels, dtype=float)))
    ax.contour(xx, yy, log_dens, levels=log_levels, cmap="viridis", zorder=2)
    ax.set_xlabel(names[feats[0]])
    ax.set_ylabel(names[feats[1]])
    ax.set_title("Density")
    return ax


def plot_criterion(result, *, ax=None) -> Axes:
    """Plot the model-selection criterion against the number of components.

    mclust's ``plot(mclustBIC(...))``: one line per covariance model over G, the best
    (lowest) fit marked.  The criterion is in scikit-learn's sign, lower is better
    (mclust's BIC is minus it); failed fits (NaN) leave gaps.

    Parameters
    ----------
    result : SelectionResult or pandas.DataFrame
        The result of :func:`gaussmix.select`, or a table like its ``table``:
        indexed by G, one column per covariance model.
    ax : matplotlib.axes.Axes or None, default=None
        Where to draw; None draws on a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes: ``ax.lines`` holds one line per column of the table, in order, and
        ``ax.collections[0]`` the marker of the best fit.

    See Also
    --------
    gaussmix.select : Makes the table.

    Examples
    --------
    >>> from gaussmix import load_faithful, select
    >>> from gaussmix.plotting import plot_criterion
    >>> X, _ = load_faithful()
    >>> result = select(X, n_components=range(1, 4), covariance_type=["full", "VEV"])
    >>> ax = plot_criterion(result)
    >>> [line.get_label() for line in ax.lines]
    ['full', 'VEV']
    """
    matplotlib = _require_matplotlib()
    import pandas as pd

    table = getattr(result, "table", result)
    if not isinstance(table, pd.DataFrame):
        raise TypeError("result must be a SelectionResult or a pandas DataFrame; got "
                        f"{type(result).__name__}")
    criterion = getattr(result, "criterion", None)
    values = table.to_numpy(dtype=float)
    g = np.asarray(table.index, dtype=float)
    ax = _new_axes(matplotlib, ax)
    markers = "os^vD<>pPX*h"
    for c, column in enumerate(table.columns):
        ax.plot(g, values[:, c], marker=markers[c % len(markers)], color=f"C{c % 10}",
                label=str(column), linewidth=1.2, markersize=5)
    if np.isfinite(values).any():
        row, col = np.unravel_index(np.nanargmin(np.where(np.isfinite(values), values,
                                                          np.nan)), values.shape)
        ax.scatter([g[row]], [values[row, col]], s=180, facecolors="none",
                   edgecolors="black", linewidths=1.8, zorder=3,
                   label=f"best: {table.columns[col]}, G={table.index[row]}")
    ax.set_xticks(g)
    ax.set_xticklabels([str(i) for i in table.index])
    ax.set_xlabel("number of components G")
    name = criterion.upper() if criterion else "criterion"
    ax.set_ylabel(f"{name} (lower is better)")
    ax.set_title(name)
    ax.legend(loc="best", fontsize="small")
    return ax
