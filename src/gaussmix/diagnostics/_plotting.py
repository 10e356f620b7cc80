"""Diagnostic plots through ArviZ's matplotlib backend (optional extra ``plot``).

:func:`plot_diagnostics` draws two ArviZ plots of the DataTree of
:meth:`GaussianMixture.to_arviz` and writes them, one above the other, to one PNG:

1. the objective after every iteration of every restart (``arviz_plots.plot_trace`` of
   the ``optimization_trace`` group, iterations on the x axis, one line per restart);
2. the mixture weights: for variational fits ``arviz_plots.plot_trace_dist`` of the
   aligned posterior draws (density and trace per restart); for EM
   ``arviz_plots.plot_forest`` of every restart's aligned point estimate.

matplotlib is needed (``pip install gaussmix[plot]``); everything else comes with ArviZ.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._arviz import POINT_GROUP, TRACE_GROUP, objective_name, to_datatree

if TYPE_CHECKING:
    import os

    from .._gaussian_mixture import GaussianMixture

_INSTALL_HINT = ("plot_diagnostics needs matplotlib, an optional dependency of gaussmix: "
                 "pip install gaussmix[plot]")


def _require_matplotlib():
    if importlib.util.find_spec("matplotlib") is None:
        raise ImportError(_INSTALL_HINT, name="matplotlib")
    import matplotlib

    return matplotlib


def _objective_tree(dt):
    """The objective traces as a posterior-like group: iterations become draws."""
    import xarray as xr

    trace = dt[TRACE_GROUP].to_dataset()[["objective"]].rename({"iteration": "draw"})
    return xr.DataTree.from_dict({"posterior": trace})


def _legend(pc, dim, title):
    """A legend for ``dim`` when the plot maps an aesthetic to it (best effort)."""
    try:
        pc.add_legend(dim, title=title)
    except ValueError:   # no aesthetic mapped to dim in this plot
        pass


def _render(pc, title):
    """A PlotCollection's figure, titled, rendered to PNG and read back as an array."""
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    figure = pc.get_viz("figure")
    figure.suptitle(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    buffer.seek(0)
    return mpimg.imread(buffer, format="png")


def _stack(images):
    """Stack RGBA images vertically on a white background (widths padded)."""
    width = max(image.shape[1] for image in images)
    rows = []
    for image in images:
        if image.shape[2] == 3:
            image = np.concatenate([image, np.ones(image.shape[:2] + (1,))], axis=2)
        pad = np.ones((image.shape[0], width - image.shape[1], 4), dtype=image.dtype)
        rows.append(np.concatenate([image, pad], axis=1))
    return np.concatenate(rows, axis=0)


def plot_diagnostics(
    model: GaussianMixture,
    path: str | os.PathLike[str],
    *,
    n_draws: int = 200,
    random_state: int | np.random.Generator | np.random.RandomState | None = 0,
) -> Path:
    """Write the objective traces and the weights of a fitted model to a PNG file.

    The figure has two panels, one above the other: the objective after every
    iteration of every restart, and the mixture weights (variational fits: the aligned
    posterior draws of each restart; EM: each restart's aligned final estimate).

    Parameters
    ----------
    model : GaussianMixture
        A fitted model (``n_init > 1`` shows several restarts).
    path : str or os.PathLike
        Where to write the PNG.
    n_draws : int, default=200
        Posterior draws per restart shown for variational fits.
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, \
default=0
        Seed of the draws.

    Returns
    -------
    pathlib.Path
        ``path``, as a :class:`pathlib.Path`.

    Raises
    ------
    ImportError
        When matplotlib is not installed (``pip install gaussmix[plot]``).

    See Also
    --------
    GaussianMixture.plot_diagnostics : The same, as a method of the estimator.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful, plot_diagnostics
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, method="variational", n_init=2, random_state=0).fit(X)
    >>> path = plot_diagnostics(model, "diagnostics.png", n_draws=20)
    >>> path.suffix, path.exists()
    ('.png', True)
    """
    _require_matplotlib()
    import arviz_plots as azp
    import matplotlib.pyplot as plt

    dt = to_datatree(model, n_draws=n_draws, random_state=random_state)
    path = Path(path)
    images = []
    pc = azp.plot_trace(_objective_tree(dt), backend="matplotlib", visuals={"title": False})
    _legend(pc, "chain", "restart")
    for axes in pc.get_viz("figure").axes:
        axes.set_xlabel("iteration")
    images.append(_render(pc, f"objective per restart: {objective_name(model)}"))
    if "posterior" in dt.children:
        pc = azp.plot_trace_dist(dt, var_names=["weights"], backend="matplotlib")
        _legend(pc, "component", "component")
        title = ("weights: variational posterior draws of each restart "
                 "(components aligned with the best restart)")
    else:
        pc = azp.plot_forest(dt, group=POINT_GROUP, var_names=["weights"], combined=False,
                             backend="matplotlib")
        title = "weights: final estimate of each restart (components aligned with the best)"
    images.append(_render(pc, title))
    plt.imsave(path, _stack(images), format="png")
    return path
