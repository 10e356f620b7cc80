"""A plain-language convergence report for a fitted :class:`~gaussmix.GaussianMixture`.

:func:`diagnose` reads the restarts kept by ``fit`` (``restarts_``) and the ArviZ
DataTree of :func:`gaussmix.diagnostics._arviz.to_datatree`, and answers:

* did every restart converge within ``max_iter``?
* did the objective ever decrease (EM and variational updates never decrease it, so a
  decrease beyond rounding is a numerical problem)?
* how far apart are the final objectives of the restarts (several local optima)?
* do the restarts agree on the parameters once their components are aligned
  (variational: rank-normalised r_hat and bulk ESS of the posterior draws, with the
  restarts as chains; EM: the largest distance between aligned means, in component
  standard deviations)?
* how many components carry weight?
* with X, for variational fits: are the Pareto k of PSIS-LOO (with the log p / log q
  correction for the variational approximation) below 0.7?

Each problem found becomes a warning that says what to try next.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ._arviz import (
    best_restart,
    component_variances,
    is_variational,
    objective_name,
    restart_orders,
    to_datatree,
)

if TYPE_CHECKING:
    import numpy.typing as npt
    import xarray as xr

    from .._gaussian_mixture import GaussianMixture

RHAT_MAX = 1.01
RHAT_SEVERE = 1.1
PARETO_K_MAX = 0.7


@dataclass
class RestartDiagnostics:
    """How one restart (chain) of a fit went.

    :func:`diagnose` makes one per restart, in the order of ``model.restarts_``, and
    keeps them in :attr:`DiagnosticReport.restarts`.  Each parameter is stored as the
    attribute of the same name.

    Parameters
    ----------
    index : int
        Position of the restart in ``model.restarts_`` (its chain in the DataTree).
    converged : bool
        Whether the objective changed by less than ``tol`` within ``max_iter``
        iterations.
    n_iter : int
        Iterations run.
    final_objective : float
        The objective at the end of the restart (EM: mean log-likelihood per sample;
        variational: the total ELBO).
    largest_decrease : float
        Largest decrease of the objective between two iterations (0 if none).
    decrease_iteration : int or None
        Iteration (1-based) after which that decrease happened, if it is larger than
        rounding (``decrease_rtol`` of :func:`diagnose`); None otherwise.

    See Also
    --------
    diagnose : Makes the report that holds these.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> from gaussmix.diagnostics import diagnose
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, method="variational", n_init=2, random_state=0).fit(X)
    >>> report = diagnose(model, n_draws=20)
    >>> report.restarts[0]
    RestartDiagnostics(index=0, converged=True, n_iter=6, final_objective=-1181.7...,
                       largest_decrease=0.0, decrease_iteration=None)
    >>> [restart.n_iter for restart in report.restarts]
    [6, 6]
    """

    index: int
    converged: bool
    n_iter: int
    final_objective: float
    largest_decrease: float
    decrease_iteration: int | None


@dataclass
class DiagnosticReport:
    """What :meth:`GaussianMixture.diagnose` found; ``str(report)`` reads as text.

    Made by :func:`gaussmix.diagnostics.diagnose` (or the estimator's ``diagnose``
    method), not by hand.  Each parameter is stored as the attribute of the same name;
    ``print(report)`` summarises them, with the warnings last.

    Parameters
    ----------
    method, covariance_type : str
        The fitted model's ``method`` and ``covariance_type``.
    n_components : int
        The fitted model's number of components.
    objective : str
        What the objective is (EM: mean log-likelihood per sample; variational: the
        total ELBO).
    tol : float
        The fitted model's convergence threshold.
    max_iter : int
        The fitted model's maximum number of iterations per restart.
    restarts : list of RestartDiagnostics
        How each restart went.
    best_restart : int
        Index of the restart the fit kept.
    objective_spread : float
        Best minus worst final objective, in objective units.
    objective_spread_per_sample : float
        The same per (weighted) sample.
    n_optima : int
        Groups of restarts whose final objectives agree within ``spread_tol`` per sample.
    n_at_best : int
        Restarts in the best group.
    max_rhat, min_ess_bulk : float or None
        Variational: largest r_hat and smallest bulk ESS over all aligned posterior
        parameters, the restarts being the chains (None for EM or one restart).
    worst_parameter : str or None
        The parameter with the largest r_hat (None when ``max_rhat`` is None).
    parameter_spread : float or None
        EM: largest |aligned mean - best restart's mean| over restarts, components and
        features, in standard deviations of the best restart's component (None for
        variational fits).
    weights : ndarray of shape (n_components,)
        The kept model's weights (posterior means for variational fits).
    effective_components : int
        Components with weight above 1 / (10 n_components).
    entropy_components : float
        The exponential of the entropy of the weights: an effective count that weighs
        small components less.
    pareto_k_max : float or None, default=None
        Largest Pareto k of PSIS-LOO (variational, with X; None otherwise).
    n_bad_pareto_k : int or None, default=None
        Observations with Pareto k above 0.7 (variational, with X; None otherwise).
    n_loo_obs : int or None, default=None
        Observations PSIS-LOO was computed on (variational, with X; None otherwise).
    elpd_loo : float or None, default=None
        The PSIS-LOO expected log predictive density (variational, with X; None
        otherwise).
    warnings : list of str, default=[]
        Problems, each with what to do next.
    notes : list of str, default=[]
        Information that needs no action.
    datatree : xarray.DataTree or None, default=None
        The DataTree the r_hat / ESS / LOO figures come from (not in the repr).

    Attributes
    ----------
    ok : bool
        True when no warning was raised.
    converged : list of bool
        Whether each restart converged.

    See Also
    --------
    diagnose : Makes the report.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, n_init=2, random_state=0).fit(X)
    >>> report = model.diagnose(X)
    >>> print(report)
    Convergence report: GaussianMixture(n_components=2, covariance_type='full', method='em')
      objective: mean log-likelihood per sample
      restarts converged: 2 of 2; iterations 4, 4 (max_iter=100, tol=0.001)
      objective never decreased
      best restart: 0; final objectives spread by ... per sample); 1 distinct optimum(s),
        2 of 2 restarts at the best
      aligned means across restarts differ by up to ... component standard deviations
      weights: [0.356, 0.644]; effective components: 2 of 2 above 1/(10k)
        (exp-entropy 1.92)
    No problems found.
    >>> report.ok, report.n_optima, report.effective_components
    (True, 1, 2)
    """

    method: str
    covariance_type: str
    n_components: int
    objective: str
    tol: float
    max_iter: int
    restarts: list[RestartDiagnostics]
    best_restart: int
    objective_spread: float
    objective_spread_per_sample: float
    n_optima: int
    n_at_best: int
    max_rhat: float | None
    min_ess_bulk: float | None
    worst_parameter: str | None
    parameter_spread: float | None
    weights: npt.NDArray[np.float64]
    effective_components: int
    entropy_components: float
    pareto_k_max: float | None = None
    n_bad_pareto_k: int | None = None
    n_loo_obs: int | None = None
    elpd_loo: float | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    datatree: xr.DataTree | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when no warning was raised.

        Notes (``report.notes``) do not count: they need no action.

        Examples
        --------
        >>> from gaussmix import GaussianMixture, load_faithful
        >>> X, _ = load_faithful()
        >>> GaussianMixture(2, n_init=2, random_state=0).fit(X).diagnose().ok
        True
        """
        return not self.warnings

    @property
    def converged(self) -> list[bool]:
        """Whether each restart converged, in the order of ``restarts``.

        Examples
        --------
        >>> from gaussmix import GaussianMixture, load_faithful
        >>> X, _ = load_faithful()
        >>> model = GaussianMixture(2, n_init=2, max_iter=2, random_state=0).fit(X)
        >>> model.diagnose().converged
        [False, False]
        """
        return [r.converged for r in self.restarts]

    def __str__(self):
        lines = [f"Convergence report: GaussianMixture(n_components={self.n_components}, "
                 f"covariance_type={self.covariance_type!r}, method={self.method!r})",
                 f"  objective: {self.objective}"]
        n = len(self.restarts)
        done = [r.index for r in self.restarts if r.converged]
        lines.append(f"  restarts converged: {len(done)} of {n}"
                     + ("" if len(done) in (0, n) else f" (restarts {_list(done)})")
                     + f"; iterations {_list([r.n_iter for r in self.restarts])}"
                     f" (max_iter={self.max_iter}, tol={self.tol:g})")
        decreased = [r for r in self.restarts if r.decrease_iteration is not None]
        lines.append("  objective never decreased" if not decreased else
                     f"  objective decreased in {len(decreased)} restart(s)")
        lines.append(f"  best restart: {self.best_restart}; final objectives spread by "
                     f"{self.objective_spread:.4g} ({self.objective_spread_per_sample:.3g} per "
                     f"sample); {self.n_optima} distinct optimum(s), {self.n_at_best} of {n} "
                     "restarts at the best")
        if self.max_rhat is not None:
            lines.append(f"  aligned posterior parameters: max r_hat {self.max_rhat:.3f} "
                         f"({self.worst_parameter}), min bulk ESS {self.min_ess_bulk:.0f}")
        if self.parameter_spread is not None:
            lines.append(f"  aligned means across restarts differ by up to "
                         f"{self.parameter_spread:.3g} component standard deviations")
        lines.append(f"  weights: [{', '.join(f'{w:.3f}' for w in self.weights)}]; "
                     f"effective components: {self.effective_components} of "
                     f"{self.n_components} above 1/(10k) (exp-entropy "
                     f"{self.entropy_components:.2f})")
        if self.pareto_k_max is not None:
            lines.append(f"  PSIS-LOO on {self.n_loo_obs} observations: elpd {self.elpd_loo:.2f}, "
                         f"max Pareto k {self.pareto_k_max:.2f}, {self.n_bad_pareto_k} above "
                         f"{PARETO_K_MAX}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  - {w}" for w in self.warnings)
        else:
            lines.append("No problems found.")
        return "\n".join(lines)


def _list(values):
    return ", ".join(str(v) for v in values)


# --------------------------------------------------------------------- checks
def _restart_diagnostics(model, decrease_rtol):
    out = []
    for c, restart in enumerate(model.restarts_):
        trace = np.asarray(restart.lower_bounds, dtype=np.float64)
        steps = np.diff(trace)
        largest, at = 0.0, None
        if steps.size:
            j = int(np.argmin(steps))
            largest = max(0.0, -float(steps[j]))
            allowed = decrease_rtol * max(1.0, abs(float(trace[j])))
            if largest > allowed:
                at = j + 2     # lower_bounds[j + 1] is the objective after iteration j + 2
        out.append(RestartDiagnostics(c, bool(restart.converged), int(restart.n_iter),
                                      float(restart.lower_bound), largest, at))
    return out


def _total_weight(model):
    """Total (weighted) number of samples the fit saw: sum_k beta_k - k beta_0 (variational)."""
    if not is_variational(model):
        return 1.0    # the EM objective is already per sample
    beta = np.asarray(model.mean_precision_, dtype=np.float64)
    return float(beta.sum() - beta.size * model._updates.priors.mean_precision)


def _optima(final, threshold):
    """Number of groups of final objectives within ``threshold`` of their group's best."""
    values = np.sort(final[np.isfinite(final)])[::-1]
    if values.size == 0:
        return 0, 0
    groups, top, at_best = 1, values[0], 0
    for v in values:
        if top - v > threshold:
            groups, top = groups + 1, v
        if groups == 1:
            at_best += 1
    return groups, at_best


def _worst(diagnostic, pick):
    """(value, label) of the extreme entry over every variable of a Dataset/DataTree."""
    best_value, best_label = None, None
    for name in diagnostic.data_vars:
        da = diagnostic[name]
        values = np.asarray(da.values, dtype=np.float64)
        if not np.isfinite(values).any():
            continue
        flat = int(pick(np.where(np.isfinite(values), values, np.nan).ravel()))
        value = float(values.ravel()[flat])
        if best_value is None or (value > best_value if pick is np.nanargmax else value < best_value):
            index = np.unravel_index(flat, values.shape) if values.ndim else ()
            coords = [f"{dim}={da[dim].values[i]}" for dim, i in zip(da.dims, index)]
            best_value = value
            best_label = f"{name}[{', '.join(coords)}]" if coords else name
    return best_value, best_label


def _em_parameter_spread(model, orders):
    """max_c,k,j |mu_ckj - mu_best,kj| / sd_best,kj over aligned restarts."""
    cov = model._updates.covariance
    best = best_restart(model)
    params = model.restarts_[best].params
    ref = np.asarray(params["means_"], dtype=np.float64)
    sd = np.sqrt(component_variances(cov, params, ref))
    spread = 0.0
    for restart, order in zip(model.restarts_, orders):
        means = np.asarray(restart.params["means_"], dtype=np.float64)[order]
        spread = max(spread, float(np.max(np.abs(means - ref) / sd)))
    return spread


# --------------------------------------------------------------------- entry point
def diagnose(
    model: GaussianMixture,
    X: npt.ArrayLike | None = None,
    *,
    sample_weight: npt.ArrayLike | None = None,
    n_draws: int = 500,
    max_obs: int = 1000,
    random_state: int | np.random.Generator | np.random.RandomState | None = 0,
    spread_tol: float | None = None,
    decrease_rtol: float | None = None,
) -> DiagnosticReport:
    """Check the convergence of a fitted model and report it in plain language.

    The report says whether every restart converged within ``max_iter``, whether the
    objective ever decreased (a numerical problem), how many distinct optima the
    restarts reached, whether the restarts agree on the parameters once their
    components are aligned (variational: r_hat and bulk ESS with the restarts as
    chains; EM: distance between aligned means), how many components carry weight
    and, for variational fits given X, whether the Pareto k of PSIS-LOO are below
    0.7.  Each problem found becomes a warning that says what to try next.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model.
    X : array-like of shape (n_samples, n_features), default=None
        The training data.  For variational fits it enables the PSIS-LOO check
        (Pareto k).  The rest of the report needs only the fitted model.
    sample_weight : array-like of shape (n_samples,), default=None
        The weights given to ``fit``, if any.
    n_draws : int, default=500
        Draws per restart from the variational posterior (r_hat, ESS, LOO).
    max_obs : int, default=1000
        Observations kept for LOO (a seeded subsample of a larger X).
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, \
default=0
        Seed of the draws and of the subsample; fixed by default so that the report
        is reproducible.
    spread_tol : float, default=None
        Two restarts reached the same optimum when their final objectives differ by
        at most this much per sample.  None means max(1e-4, 10 * tol per sample).
    decrease_rtol : float, default=None
        A step counts as a decrease when the objective drops by more than
        ``decrease_rtol * max(1, |objective|)``.  None means 1e-8 for float64 fits
        and 1e-4 for float32 fits (rounding).

    Returns
    -------
    DiagnosticReport
        The findings; ``print(report)`` shows them as text, ``report.ok`` is True when
        there is no warning, and ``report.warnings`` lists what to try next.

    See Also
    --------
    GaussianMixture.diagnose : The same, as a method of the estimator.
    loo : PSIS-LOO of the model's DataTree.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> from gaussmix.diagnostics import diagnose
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, method="variational", n_init=2, random_state=0).fit(X)
    >>> report = diagnose(model, X, n_draws=20)
    >>> report.converged
    [True, True]
    >>> report.n_optima, report.n_at_best
    (2, 1)
    >>> report.weights.round(2)
    array([0.64, 0.36])
    >>> report.n_loo_obs
    272
    >>> report.ok
    False
    >>> print(report.warnings[0])
    the restarts ended in 2 different optima (...); only the best restart reached the
    best optimum, and the fit kept it: increase n_init (e.g. n_init=10) ...
    """
    import arviz_stats as azs

    variational = is_variational(model)
    if decrease_rtol is None:
        decrease_rtol = 1e-4 if np.dtype(model.means_.dtype) == np.float32 else 1e-8
    restarts = _restart_diagnostics(model, decrease_rtol)
    n_restarts = len(restarts)
    best = best_restart(model)
    n_total = _total_weight(model)
    tol_per_sample = model.tol / n_total if variational else model.tol
    if spread_tol is None:
        spread_tol = max(1e-4, 10.0 * tol_per_sample)
    final = np.array([r.final_objective for r in restarts])
    finite = final[np.isfinite(final)]
    spread = float(finite.max() - finite.min()) if finite.size else float("nan")
    spread_per_sample = spread / n_total
    n_optima, n_at_best = _optima(final / n_total, spread_tol)

    dt = to_datatree(model, X, sample_weight=sample_weight, n_draws=n_draws,
                     max_obs=max_obs, random_state=random_state)
    orders = restart_orders(model)
    max_rhat = min_ess = worst = parameter_spread = None
    if variational and n_restarts > 1:
        max_rhat, worst = _worst(azs.rhat(dt), np.nanargmax)
        min_ess, _ = _worst(azs.ess(dt), np.nanargmin)
    if not variational:
        parameter_spread = _em_parameter_spread(model, orders)

    weights = np.asarray(model.weights_, dtype=np.float64)
    k = weights.size
    effective = int(np.sum(weights > 1.0 / (10.0 * k)))
    positive = weights[weights > 0]
    entropy_components = float(np.exp(-np.sum(positive * np.log(positive))))

    report = DiagnosticReport(
        method=model.method, covariance_type=model.covariance_type, n_components=k,
        objective=objective_name(model), tol=float(model.tol), max_iter=int(model.max_iter),
        restarts=restarts, best_restart=best, objective_spread=spread,
        objective_spread_per_sample=spread_per_sample, n_optima=n_optima,
        n_at_best=n_at_best, max_rhat=max_rhat, min_ess_bulk=min_ess, worst_parameter=worst,
        parameter_spread=parameter_spread, weights=weights, effective_components=effective,
        entropy_components=entropy_components, datatree=dt,
    )
    if variational and X is not None:
        _loo_check(report, dt)
    _warnings(report, model, n_draws, spread_tol)
    return report


def _loo_check(report, dt):
    from ._compare import loo

    with warnings.catch_warnings():   # high Pareto k is reported, not warned twice
        warnings.simplefilter("ignore", UserWarning)
        result = loo(dt, pointwise=True)
    k = np.asarray(result.pareto_k.values)
    report.pareto_k_max = float(np.nanmax(k))
    report.n_bad_pareto_k = int(np.sum(k > PARETO_K_MAX))
    report.n_loo_obs = int(k.size)
    report.elpd_loo = float(result.elpd)


def _warnings(report, model, n_draws, spread_tol):
    """Fill ``report.warnings`` and ``report.notes``; every warning names a next step."""
    w, notes = report.warnings, report.notes
    n = len(report.restarts)
    stuck = [r.index for r in report.restarts if not r.converged]
    if stuck and report.max_iter > 0:
        best_stuck = report.best_restart in stuck
        w.append(
            f"{len(stuck)} of {n} restarts (restart {_list(stuck)}) stopped at "
            f"max_iter={report.max_iter} before the objective changed by less than "
            f"tol={report.tol:g}"
            + (", including the best one" if best_stuck else "")
            + f": increase max_iter (e.g. max_iter={max(2 * report.max_iter, 200)}); if the "
            "objective creeps up slowly for ever, a larger tol or fewer components helps.")
    for r in report.restarts:
        if r.decrease_iteration is not None:
            w.append(
                f"the objective decreased in restart {r.index} at iteration "
                f"{r.decrease_iteration} by {r.largest_decrease:.3g}: EM and variational "
                "updates never decrease it, so this is a numerical problem (or a bug): fit "
                "float64 data, increase reg_covar, or use fewer components; please report "
                "it if it persists.")
    if report.max_iter == 0:
        notes.append("max_iter=0: no iteration was run, so there is no convergence to check.")
    if n == 1:
        notes.append("only one restart (n_init=1): local optima and r_hat cannot be "
                     "assessed; use n_init >= 4 to check them.")
    if report.max_rhat is not None:
        disagree = report.max_rhat > RHAT_MAX
        evidence = (f"aligned posterior parameters disagree: r_hat {report.max_rhat:.3f} for "
                    f"{report.worst_parameter} (> {RHAT_MAX})")
    else:
        disagree = report.parameter_spread is not None and report.parameter_spread > 0.5
        evidence = (f"aligned means differ by up to {report.parameter_spread:.3g} component "
                    "standard deviations" if report.parameter_spread is not None else "")
    spread = (f"final objectives spread by {report.objective_spread_per_sample:.3g} per sample "
              f"> {spread_tol:.3g}")
    if n > 1 and report.n_optima > 1 and disagree:
        strength = ("only the best restart reached the best optimum"
                    if report.n_at_best == 1 else
                    f"{report.n_at_best} of {n} restarts reached the best optimum")
        w.append(
            f"the restarts ended in {report.n_optima} different optima ({spread}; {evidence}); "
            f"{strength}, and the fit kept it: increase n_init (e.g. n_init={max(2 * n, 10)}) "
            "to be confident the best optimum is found; if the optima differ in how a cluster "
            "is split, fewer components may describe the data as well.")
    elif n > 1 and report.n_optima > 1:
        notes.append(
            f"{spread}, but the aligned solutions agree: the same clusters were found "
            + ("in a different stick order, which the Dirichlet-process prior scores "
               "differently (the fit keeps the best order)"
               if model.method == "variational"
               and model.weight_concentration_prior_type == "dirichlet_process"
               else "at different distances from the optimum (a smaller tol brings them "
                    "together)")
            + ".")
    elif n > 1 and disagree:
        severe = report.max_rhat is None or report.max_rhat > RHAT_SEVERE
        w.append(
            f"the restarts reached the same objective but {evidence}: "
            + ("equivalent solutions, or a component the data do not pin down; try fewer "
               "components, and increase n_init to see how many solutions there are."
               if severe else
               f"possibly noise: rerun with more draws (n_draws > {n_draws}); if it stays, "
               "increase n_init or try fewer components."))
    if (report.min_ess_bulk is not None and not disagree
            and report.min_ess_bulk < 0.1 * n * n_draws):
        w.append(
            f"low bulk ESS ({report.min_ess_bulk:.0f} of {n * n_draws} draws): the restarts' "
            "posteriors differ in spread; increase n_init, or use a smaller tol so that every "
            "restart gets closer to its optimum.")
    k = report.n_components
    if report.effective_components < k:
        text = (f"only {report.effective_components} of {k} components have weight above "
                f"1/(10k) = {1.0 / (10 * k):.3g}")
        if model.method == "variational" and \
                model.weight_concentration_prior_type == "dirichlet_process":
            notes.append(text + " (the Dirichlet process prior switched the others off); "
                         f"n_components={max(report.effective_components, 1)} would "
                         "describe the data as well.")
        else:
            w.append(text + f": use fewer components (n_components="
                     f"{max(report.effective_components, 1)}).")
    if report.n_bad_pareto_k:
        cause = ("likely the components without weight, whose posterior the mean-field "
                 "approximation misses: use fewer components"
                 if report.effective_components < k else
                 "the variational posterior is far from the posterior, or those points are "
                 "outliers: check those observations, increase n_draws, or try another "
                 "covariance_type or number of components")
        w.append(
            f"{report.n_bad_pareto_k} of {report.n_loo_obs} observations have Pareto k > "
            f"{PARETO_K_MAX}, so PSIS-LOO is unreliable there ({cause}).")
