"""Diagnostic figure of a fitted mixture (optional extra ``plot``: matplotlib).

:func:`plot_diagnostics` returns one :class:`matplotlib.figure.Figure`, composed with
matplotlib's own layout (``subplot_mosaic`` under the constrained layout engine), with
three panels:

1. ``objective``: the objective after every iteration of every restart (one line per
   restart; the restart the fit kept is the thick black line, drawn underneath so that
   restarts retracing it stay visible);
2. ``gap``: how far below the best final objective each restart ended, in nats (EM's
   per-sample objective times the total sample weight), the restarts that reached the
   kept fit's optimum filled in (same parameters, mixture distance at most
   :data:`~gaussmix.diagnostics._align.SAME_OPTIMUM_DISTANCE`, and a gap within ten
   ``tol``: :func:`~gaussmix.diagnostics._arviz.same_optimum`);
3. ``weights``: the mixture weights of every restart as grouped bars, components
   aligned with the kept fit and named in the legend (variational fits: with central
   90% posterior intervals from draws of each restart's variational posterior).

The figure is built on :class:`matplotlib.figure.Figure` directly, so pyplot never
holds a reference to it: nothing is shown, nothing leaks when it is saved, and it
works with any backend, headless (Agg) included.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._validation import check_scalar
from ._align import SAME_OPTIMUM_DISTANCE
from ._arviz import (
    _rngs,
    best_restart,
    gap_tolerance,
    is_variational,
    objective_gaps,
    objective_name,
    restart_alignment,
    same_optimum,
    total_weight,
)

if TYPE_CHECKING:
    import os

    from matplotlib.figure import Figure

    from .._gaussian_mixture import GaussianMixture

_INSTALL_HINT = ("plot_diagnostics needs matplotlib, an optional dependency of gaussmix: "
                 "pip install gaussmix[plot]")

#: Central probability of the posterior intervals drawn on the weights (variational).
INTERVAL_PROB = 0.9
#: Above this many restarts, the objective panel colours only the kept one.
_MAX_COLOURED_RESTARTS = 10
_KEPT_COLOUR = "black"
_OTHER_COLOUR = "0.6"


def _require_matplotlib():
    if importlib.util.find_spec("matplotlib") is None:
        raise ImportError(_INSTALL_HINT, name="matplotlib")
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as exc:   # present but broken (e.g. a failed binary install)
        raise ImportError(_INSTALL_HINT, name="matplotlib") from exc
    return matplotlib, Figure


# --------------------------------------------------------------------- data
def _restart_colours(matplotlib, n_restarts, best):
    """One colour per restart (tab10 when there are few), the kept one in black."""
    if n_restarts <= _MAX_COLOURED_RESTARTS:
        cycle = matplotlib.colormaps["tab10"].colors
        colours = [cycle[c % len(cycle)] for c in range(n_restarts)]
    else:
        colours = [_OTHER_COLOUR] * n_restarts
    colours[best] = _KEPT_COLOUR
    return colours


def _component_colours(matplotlib, k):
    cmap = matplotlib.colormaps["Set2" if k <= 8 else "tab20"]
    return [cmap.colors[j % len(cmap.colors)] for j in range(k)]


def _aligned_weights(model, orders):
    """Every restart's final weights, components in the kept fit's order, (n_restarts, k)."""
    return np.stack([np.asarray(r.params["weights_"], dtype=np.float64)[order]
                     for r, order in zip(model.restarts_, orders)])


def _weight_intervals(model, orders, n_draws, random_state):
    """Central INTERVAL_PROB intervals of every restart's aligned weights, (2, n_restarts, k)."""
    from ._posterior import VariationalPosterior

    rng = _rngs(random_state)[1]
    cov = model._updates.covariance
    tail = 100 * (1 - INTERVAL_PROB) / 2
    bounds = []
    for restart, order in zip(model.restarts_, orders):
        q = VariationalPosterior.from_restart(cov, restart.params)
        _, log_weights = q.weights.sample(rng, q.concentration, n_draws)
        bounds.append(np.percentile(np.exp(log_weights[:, order]), [tail, 100 - tail], axis=0))
    return np.stack(bounds, axis=1)


# --------------------------------------------------------------------- panels
def _objective_panel(ax, model, best, colours):
    n_restarts = len(model.restarts_)
    few = n_restarts <= _MAX_COLOURED_RESTARTS
    for c, restart in enumerate(model.restarts_):
        values = np.asarray(restart.lower_bounds, dtype=np.float64)
        kept = c == best
        label = f"restart {c} (kept)" if kept else f"restart {c}"
        # The kept line is thick and underneath: a restart that retraced it shows
        # as a thin coloured line inside the black one.
        ax.plot(np.arange(1, len(values) + 1), values, color=colours[c],
                lw=3.0 if kept else 1.2, zorder=2 if kept else 3,
                marker="o" if len(values) == 1 else None, ms=6 if kept else 4,
                label=label, gid=label)
    if few:
        handles, labels = ax.get_legend_handles_labels()
    else:   # one entry for the kept restart, one for all the others
        lines = ax.get_lines()
        other = next(line for c, line in enumerate(lines) if c != best)
        handles = [lines[best], other]
        labels = [f"restart {best} (kept)", f"the other {n_restarts - 1} restarts"]
    ax.legend(handles, labels, title="restart", fontsize="small", ncols=2 if few else 1)
    ax.set_title("Objective after every iteration of each restart")
    ax.set_xlabel("iteration")
    ax.set_ylabel(objective_name(model))
    ax.xaxis.get_major_locator().set_params(integer=True)


def _gaps(model, distances):
    """Each restart's gap to the best final objective, its unit, the same-optimum flags
    and the gap below which restarts count as one optimum (in that unit)."""
    if is_variational(model) or np.isfinite(total_weight(model)):
        return (objective_gaps(model), "nats", same_optimum(model, distances),
                gap_tolerance(model))
    # An EM model saved without its total sample weight: the objective is per sample
    # and cannot be scaled to nats; the optimum is judged from the parameters alone.
    final = np.array([r.lower_bound for r in model.restarts_], dtype=np.float64)
    return (np.nanmax(final) - final, "nats per sample",
            distances <= SAME_OPTIMUM_DISTANCE, 10.0 * float(model.tol))


def _gap_panel(ax, model, best, colours, distances):
    gap, unit, same, tolerance = _gaps(model, distances)
    restarts = np.arange(len(gap))
    finite = np.isfinite(gap)
    for c in restarts[finite]:
        ax.scatter(c, gap[c], s=90 if c == best else 50, zorder=3,
                   marker="*" if c == best else "o", edgecolors=colours[c], linewidths=1.5,
                   facecolors=colours[c] if same[c] else "none")
    if (~finite).any():
        ax.text(0.01, 0.98, "no finite objective: restart "
                + ", ".join(str(c) for c in restarts[~finite]),
                transform=ax.transAxes, va="top", fontsize="small")
    ax.axhline(0.0, color=_OTHER_COLOUR, lw=0.8, zorder=1)
    floor = tolerance if np.isfinite(tolerance) and tolerance > 0 else 1e-12
    ax.axhline(floor, color=_OTHER_COLOUR, lw=0.8, ls="--", zorder=1,
               label=f"10 tol ({floor:.2g} {unit})")
    # A legend of the marker meanings (grey proxies: the colours are the restarts').
    proxies = [
        ax.scatter([], [], marker="*", s=90, color=_OTHER_COLOUR, label="kept restart"),
        ax.scatter([], [], marker="o", s=50, color=_OTHER_COLOUR,
                   label="same optimum as the kept fit"),
        ax.scatter([], [], marker="o", s=50, facecolors="none", edgecolors=_OTHER_COLOUR,
                   linewidths=1.5, label="other optimum"),
        ax.get_lines()[-1],
    ]
    ax.legend(handles=proxies, fontsize="small")
    positive = gap[finite & (gap > 0)]
    largest = float(positive.max()) if positive.size else 0.0
    if largest > 10 * floor:
        # Gaps from below tol to many nats on one axis; below it is convergence noise.
        ax.set_yscale("symlog", linthresh=floor)
        ax.set_ylim(-0.3 * floor, 2.0 * largest)
    else:
        top = max(largest, floor)
        ax.set_ylim(-0.05 * top, 1.3 * top)
    ax.set_title("Final objective below the best")
    ax.set_xlabel("restart")
    ax.set_ylabel(f"gap to the best ({unit})")
    ax.set_xticks(restarts)
    ax.set_xlim(-0.5, len(gap) - 0.5)


def _weights_panel(ax, matplotlib, model, best, orders, intervals):
    weights = _aligned_weights(model, orders)
    n_restarts, k = weights.shape
    width = 0.8 / k
    restarts = np.arange(n_restarts)
    for j, colour in enumerate(_component_colours(matplotlib, k)):
        x = restarts - 0.4 + (j + 0.5) * width
        ax.bar(x, weights[:, j], width, color=colour, label=f"component {j}", zorder=2)
        if intervals is not None:
            lower, upper = intervals[0, :, j], intervals[1, :, j]
            ax.errorbar(x, weights[:, j],
                        yerr=[np.maximum(weights[:, j] - lower, 0.0),
                              np.maximum(upper - weights[:, j], 0.0)],
                        fmt="none", ecolor="black", elinewidth=0.8, capsize=1.5, zorder=3,
                        label=f"{INTERVAL_PROB:.0%} posterior interval" if j == 0 else None)
    ax.axvspan(best - 0.45, best + 0.45, color="0.92", zorder=1)
    ax.set_xticks(restarts, [f"{c}\n(kept)" if c == best else str(c) for c in restarts])
    ax.set_xlim(-0.5, n_restarts - 0.5)
    top = float(np.nanmax(intervals[1] if intervals is not None else weights))
    ax.set_ylim(0.0, min(1.0, 1.15 * top) if top > 0 else 1.0)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: not labels[i].startswith("component"))
    ax.legend([handles[i] for i in order], [labels[i] for i in order],
              title="aligned with\nthe kept fit", fontsize="small",
              loc="upper left", bbox_to_anchor=(1.01, 1.0), ncols=1 if k <= 12 else 2)
    ax.set_title("Weights of each restart" + (" (posterior mean)" if intervals is not None
                                               else ""))
    ax.set_xlabel("restart")
    ax.set_ylabel("weight")


# --------------------------------------------------------------------- public
def plot_diagnostics(
    model: GaussianMixture,
    path: str | os.PathLike[str] | None = None,
    *,
    n_draws: int = 200,
    random_state: int | np.random.Generator | np.random.RandomState | None = 0,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Plot the objective traces, final objectives and weights of every restart.

    One :class:`matplotlib.figure.Figure` with three panels: the objective after
    every iteration of every restart (the restart the fit kept drawn thick, in
    black); the gap between each restart's final objective and the best one, in nats,
    with the restarts that reached the kept fit's optimum filled in; and every
    restart's mixture weights as grouped bars, components aligned with the kept fit
    (so label switching is not mistaken for a different solution) and named in the
    legend. For variational fits the bars carry central 90% intervals of the
    weights, from draws of each restart's variational posterior.

    The figure is not registered with pyplot: it is never shown by
    :func:`matplotlib.pyplot.show` and is freed once no longer referenced. Jupyter
    displays it when it is the value of a cell.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model; with ``n_init > 1`` the panels compare the restarts.
    path : str, os.PathLike or None, default=None
        If given, the figure is also saved there, in the format of the file suffix
        (e.g. ``.png``, ``.svg``, ``.pdf``).
    n_draws : int, default=200
        Draws per restart from the variational posterior, for the weight intervals
        (variational fits only; ignored for EM).
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, \
default=0
        Seed of the draws.
    figsize : tuple of float or None, default=None
        Width and height of the figure in inches; None chooses one from the number
        of restarts.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, with the axes ``fig.axes`` in the order objective, gap, weights.

    Raises
    ------
    ImportError
        When matplotlib is not installed (``pip install gaussmix[plot]``).
    sklearn.exceptions.NotFittedError
        When the model is not fitted.

    See Also
    --------
    GaussianMixture.plot_diagnostics : The same, as a method of the estimator.
    diagnose : The same diagnostics as a report in words.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful, plot_diagnostics
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, n_init=3, random_state=0).fit(X)
    >>> fig = plot_diagnostics(model)
    >>> len(fig.axes)
    3
    >>> [text.get_text() for text in fig.axes[2].get_legend().get_texts()]
    ['component 0', 'component 1']
    """
    matplotlib, Figure = _require_matplotlib()
    check_is_fitted(model)
    check_scalar(n_draws, "n_draws", "int", low=1)
    best = best_restart(model)
    orders, distances = restart_alignment(model)
    intervals = (_weight_intervals(model, orders, n_draws, random_state)
                 if is_variational(model) else None)
    n_restarts = len(model.restarts_)
    if figsize is None:
        figsize = (10.0, 7.5) if n_restarts <= 6 else (12.0, 8.0)
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplot_mosaic([["objective", "objective"], ["gap", "weights"]],
                              width_ratios=[1.0, 1.6])
    colours = _restart_colours(matplotlib, n_restarts, best)
    _objective_panel(axes["objective"], model, best, colours)
    _gap_panel(axes["gap"], model, best, colours, distances)
    _weights_panel(axes["weights"], matplotlib, model, best, orders, intervals)
    k = orders.shape[1]
    fig.suptitle(f"gaussmix {model.method} fit: {k} components, {n_restarts} "
                 f"restart{'s' if n_restarts != 1 else ''}, restart {best} kept")
    if path is not None:
        fig.savefig(Path(path))
    return fig
