"""Convergence and posterior diagnostics as ArviZ objects.

The entry points are the estimator's methods
:meth:`GaussianMixture.to_arviz <gaussmix.GaussianMixture.to_arviz>` (an
:class:`xarray.DataTree` for ArviZ, every restart a chain),
:meth:`~gaussmix.GaussianMixture.diagnose` (a plain-language
:class:`DiagnosticReport`) and :meth:`~gaussmix.GaussianMixture.plot_diagnostics`,
and the functions of this module:

* :func:`diagnose`: the convergence report of a fitted model, a
  :class:`DiagnosticReport` (one :class:`RestartDiagnostics` per restart), whose
  warnings say what to try next;
* :func:`compare_models`: rank variational fits (e.g. different ``n_components``) by
  PSIS-LOO with :func:`arviz_stats.compare`;
* :func:`loo`: PSIS-LOO of a gaussmix DataTree, corrected for the variational
  approximation (log p / log q);
* :func:`plot_diagnostics`: objective traces and weights to a PNG (needs
  ``pip install gaussmix[plot]``).

Examples
--------
>>> from gaussmix import GaussianMixture, load_faithful
>>> from gaussmix.diagnostics import diagnose
>>> X, _ = load_faithful()
>>> model = GaussianMixture(2, n_init=2, random_state=0).fit(X)
>>> diagnose(model).ok
True
"""

from ._compare import compare_models, loo
from ._report import DiagnosticReport, RestartDiagnostics, diagnose
from ._plotting import plot_diagnostics

__all__ = [
    "DiagnosticReport",
    "RestartDiagnostics",
    "compare_models",
    "diagnose",
    "loo",
    "plot_diagnostics",
]
