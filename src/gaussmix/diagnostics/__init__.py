"""Convergence and posterior diagnostics, as plain-language reports and ArviZ objects.

The entry points are the estimator's methods
:meth:`GaussianMixture.to_arviz <gaussmix.GaussianMixture.to_arviz>` (an
:class:`xarray.DataTree` whose ``posterior`` is the fitted model; restarts, the
optimisation trace, bootstrap replicates and predictive draws in their own groups),
:meth:`~gaussmix.GaussianMixture.diagnose` (a :class:`DiagnosticReport`) and
:meth:`~gaussmix.GaussianMixture.plot_diagnostics`, and the functions of this module:

* :func:`diagnose`: the convergence report of a fitted model: restarts compared
  directly (how many reached the best optimum, how far below it the others ended),
  the Aitken limit of EM, whether the variational approximation is usable (Pareto
  k-hat of p / q), PSIS-LOO; its warnings say what to try next;
* :func:`compare_models`: rank fits by their expected log predictive density
  (corrected PSIS-LOO, or exact K-fold cross-validation where LOO is unreliable);
* :func:`loo`: PSIS-LOO of a gaussmix DataTree, corrected for the variational
  approximation (lp / log q); :func:`loo_pit` and :func:`loo_log_weights`, the same
  correction for LOO predictive checks; :func:`psis_mean`, posterior means corrected
  by Pareto-smoothed importance sampling;
* :func:`bootstrap`: aligned bootstrap replicates of an EM fit (standard errors);
  :func:`aitken`: the Aitken-accelerated limit of an objective trace;
* :func:`plot_diagnostics`: a matplotlib figure of the restarts (needs
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

from ._aitken import AitkenEstimate, aitken
from ._bootstrap import BootstrapResult, bootstrap
from ._compare import compare_models, loo
from ._importance import loo_log_weights, loo_pit, psis_mean
from ._plotting import plot_diagnostics
from ._report import DiagnosticReport, RestartDiagnostics, diagnose

__all__ = [
    "AitkenEstimate",
    "BootstrapResult",
    "DiagnosticReport",
    "RestartDiagnostics",
    "aitken",
    "bootstrap",
    "compare_models",
    "diagnose",
    "loo",
    "loo_log_weights",
    "loo_pit",
    "plot_diagnostics",
    "psis_mean",
]
