"""A plain-language convergence report for a fitted :class:`~gaussmix.GaussianMixture`.

:func:`diagnose` answers, for the model the estimator keeps:

* did every restart converge within ``max_iter``, and (EM) how far is the kept
  restart's log-likelihood from its Aitken-accelerated limit?
* did the objective ever decrease (EM and variational updates never decrease it, so a
  decrease beyond rounding is a numerical problem)?
* how many restarts reached the kept optimum, measured directly: a restart reached it
  when its aligned parameters are the kept fit's (mixture distance at most
  ``SAME_OPTIMUM_DISTANCE``) and its objective is within ``gap_tolerance`` of it;
  the others are reported with their gap in nats.  (r_hat across restarts is not
  used: restarts are not chains of one sampler, and their r_hat stays near 1 however
  far apart the optima are.)
* how many components carry weight?
* with X, for variational fits: is the variational approximation usable (Pareto
  k-hat of the importance ratios p / q of its draws, Yao et al. 2018, against
  ArviZ's sample-size-dependent threshold), and are the Pareto k of PSIS-LOO below it?

Each problem found becomes a warning that says what to try next.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ._aitken import aitken
from ._align import SAME_OPTIMUM_DISTANCE
from ._arviz import (
    best_restart,
    gap_tolerance,
    is_variational,
    objective_gaps,
    objective_name,
    restart_alignment,
    same_optimum,
    to_datatree,
)

if TYPE_CHECKING:
    import numpy.typing as npt
    import xarray as xr

    from .._gaussian_mixture import GaussianMixture

PARETO_K_MAX = 0.7


@dataclass
class RestartDiagnostics:
    """How one restart of a fit went, compared with the kept one.

    :func:`diagnose` makes one per restart, in the order of ``model.restarts_``, and
    keeps them in :attr:`DiagnosticReport.restarts`.  Each parameter is stored as the
    attribute of the same name.

    Parameters
    ----------
    index : int
        Position of the restart in ``model.restarts_``.
    converged : bool
        Whether the objective changed by less than ``tol`` within ``max_iter``
        iterations.
    n_iter : int
        Iterations run.
    final_objective : float
        The objective at the end of the restart (EM: mean log-likelihood per sample;
        variational: the total ELBO).
    gap : float
        The kept restart's final objective minus this one's, in nats (a total over the
        samples).
    distance : float
        Mixture distance between this restart's aligned parameters and the kept
        fit's (0 for identical mixtures, 1 for disjoint ones).
    same_optimum : bool
        Whether this restart reached the kept fit's optimum: distance at most
        ``SAME_OPTIMUM_DISTANCE`` and a gap within the restarts' stopping tolerance.
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
    >>> model = GaussianMixture(2, n_init=2, random_state=0).fit(X)
    >>> report = diagnose(model)
    >>> [(r.index, r.same_optimum) for r in report.restarts]
    [(0, True), (1, True)]
    """

    index: int
    converged: bool
    n_iter: int
    final_objective: float
    gap: float
    distance: float
    same_optimum: bool
    largest_decrease: float
    decrease_iteration: int | None


@dataclass
class DiagnosticReport:
    """What :meth:`GaussianMixture.diagnose` found; ``print(report)`` reads as text.

    Made by :func:`gaussmix.diagnostics.diagnose` (or the estimator's ``diagnose``
    method), not by hand.  Each parameter is stored as the attribute of the same name;
    ``print(report)`` summarises them, with the warnings last, and a notebook shows
    the same as HTML.

    Parameters
    ----------
    method, covariance_type : str
        The fitted model's ``method`` and ``covariance_type``.
    n_components : int
        The fitted model's number of components.
    objective : str
        What the objective is.
    tol : float
        The fitted model's convergence threshold.
    max_iter : int
        The fitted model's maximum number of iterations per restart.
    restarts : list of RestartDiagnostics
        How each restart went.
    best_restart : int
        Index of the restart the fit kept.
    n_at_best : int
        Restarts that reached the kept optimum (the kept one included).
    gap_tolerance : float
        Largest gap (nats) of two restarts at one optimum: ten times ``tol``, in nats.
    aitken_limit, aitken_gap : float or None
        EM: the Aitken-accelerated estimate of the limiting objective of the kept
        restart and its distance from the final objective (None for variational
        fits, and NaN when the trace is too short or not yet linear).
    weights : ndarray of shape (n_components,)
        The kept model's weights (posterior means for variational fits).
    effective_components : int
        Components with weight above 1 / (10 n_components).
    entropy_components : float
        The exponential of the entropy of the weights: an effective count that weighs
        small components less.
    khat : float or None, default=None
        Variational, with X: Pareto k-hat of the importance ratios p / q of draws
        from the variational posterior (None otherwise).
    khat_threshold : float or None, default=None
        ArviZ's threshold for ``khat`` at this number of draws.
    pareto_k_max : float or None, default=None
        Largest Pareto k of PSIS-LOO (variational, with X; None otherwise).
    n_bad_pareto_k : int or None, default=None
        Observations with Pareto k above the threshold (variational, with X).
    n_loo_obs : int or None, default=None
        Observations PSIS-LOO was computed on (variational, with X).
    elpd_loo : float or None, default=None
        The corrected PSIS-LOO expected log predictive density (variational, with X).
    warnings : list of str, default=[]
        Problems, each with what to do next.
    notes : list of str, default=[]
        Information that needs no action.
    datatree : xarray.DataTree or None, default=None
        The DataTree the figures come from (not in the repr).

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
      Aitken limit of the kept restart: ... (... above its final value)
      2 of 2 restarts reached the best optimum
      weights: [0.356, 0.644]; effective components: 2 of 2 above 1/(10k)
        (exp-entropy 1.92)
    No problems found.
    >>> report.ok, report.n_at_best, report.effective_components
    (True, 2, 2)
    """

    method: str
    covariance_type: str
    n_components: int
    objective: str
    tol: float
    max_iter: int
    restarts: list[RestartDiagnostics]
    best_restart: int
    n_at_best: int
    gap_tolerance: float
    aitken_limit: float | None
    aitken_gap: float | None
    weights: npt.NDArray[np.float64]
    effective_components: int
    entropy_components: float
    khat: float | None = None
    khat_threshold: float | None = None
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

    def restart_summary(self) -> str:
        """The restart-agreement verdict in one sentence.

        Returns
        -------
        str
            "k of n restarts reached the best optimum", and how far below it the
            others ended.

        Examples
        --------
        >>> from gaussmix import GaussianMixture, load_faithful
        >>> X, _ = load_faithful()
        >>> GaussianMixture(2, n_init=3, random_state=0).fit(X).diagnose().restart_summary()
        '3 of 3 restarts reached the best optimum'
        """
        n = len(self.restarts)
        text = f"{self.n_at_best} of {n} restarts reached the best optimum"
        others = [r for r in self.restarts if not r.same_optimum]
        if not others:
            return text
        gaps = sorted(r.gap for r in others)
        lower = (f"{gaps[0]:.3g} nats lower" if len(gaps) == 1 else
                 f"{gaps[0]:.3g} to {gaps[-1]:.3g} nats lower")
        same = [r for r in others if r.distance <= SAME_OPTIMUM_DISTANCE]
        text += f"; the other{'s are' if len(others) > 1 else ' is'} {lower}"
        if same:
            text += (f" ({len(same)} of them with the same parameters: the same clusters "
                     "at a worse value of the objective)")
        return text

    def _lines(self):
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
        if self.aitken_limit is not None and np.isfinite(self.aitken_limit):
            lines.append(f"  Aitken limit of the kept restart: {self.aitken_limit:.6g} "
                         f"({self.aitken_gap:.3g} above its final value)")
        lines.append(f"  {self.restart_summary()}")
        lines.append(f"  weights: [{', '.join(f'{w:.3f}' for w in self.weights)}]; "
                     f"effective components: {self.effective_components} of "
                     f"{self.n_components} above 1/(10k)\n    (exp-entropy "
                     f"{self.entropy_components:.2f})")
        if self.khat is not None and np.isfinite(self.khat):
            verdict = "usable" if self.khat < self.khat_threshold else "unreliable"
            lines.append(f"  variational approximation: Pareto k-hat {self.khat:.2f} "
                         f"(threshold {self.khat_threshold:.2f}): {verdict}")
        if self.pareto_k_max is not None:
            lines.append(f"  PSIS-LOO on {self.n_loo_obs} observations: elpd {self.elpd_loo:.2f}, "
                         f"max Pareto k {self.pareto_k_max:.2f}, {self.n_bad_pareto_k} above "
                         f"the threshold")
        lines.extend(f"  note: {note}" for note in self.notes)
        return lines

    def __str__(self):
        lines = self._lines()
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  - {w}" for w in self.warnings)
        else:
            lines.append("No problems found.")
        return "\n".join(lines)

    def _repr_html_(self):
        """The report as HTML, for notebooks."""
        head, *body = self._lines()
        items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in body)
        verdict = ("<p><b>No problems found.</b></p>" if not self.warnings else
                   "<p><b>Warnings</b></p><ul>" + "".join(
                       f"<li>{html.escape(w)}</li>" for w in self.warnings) + "</ul>")
        return f"<div><p><b>{html.escape(head)}</b></p><ul>{items}</ul>{verdict}</div>"


def _list(values):
    return ", ".join(str(v) for v in values)


# --------------------------------------------------------------------- checks
def _restart_diagnostics(model, decrease_rtol, distances):
    gaps = objective_gaps(model)
    reached = same_optimum(model, distances)
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
                                      float(restart.lower_bound), float(gaps[c]),
                                      float(distances[c]), bool(reached[c]), largest, at))
    return out


# --------------------------------------------------------------------- entry point
def diagnose(
    model: GaussianMixture,
    X: npt.ArrayLike | None = None,
    *,
    sample_weight: npt.ArrayLike | None = None,
    n_draws: int = 400,
    max_obs: int = 500,
    random_state: int | np.random.Generator | np.random.RandomState | None = 0,
    decrease_rtol: float | None = None,
) -> DiagnosticReport:
    """Check the convergence of a fitted model and report it in plain language.

    The report says whether every restart converged within ``max_iter`` (and, for
    EM, how far the kept restart is from its Aitken-accelerated limit), whether the
    objective ever decreased (a numerical problem), how many restarts reached the
    kept optimum and how far below it the others ended, how many components carry
    weight and, for variational fits given X, whether the variational approximation
    is usable (Pareto k-hat of p / q) and whether the Pareto k of PSIS-LOO are below
    the threshold.  Each problem found becomes a warning that says what to try next.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model.
    X : array-like of shape (n_samples, n_features), default=None
        The training data.  For variational fits it enables the approximation and
        PSIS-LOO checks.  The rest of the report needs only the fitted model.
    sample_weight : array-like of shape (n_samples,), default=None
        The weights given to ``fit``, if any.
    n_draws : int, default=400
        Draws from the variational posterior (k-hat, LOO).
    max_obs : int, default=500
        Observations kept for the PSIS-LOO check (a seeded subsample of a larger X).
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, \
default=0
        Seed of the draws and of the subsample; fixed by default so that the report
        is reproducible.
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
    >>> model = GaussianMixture(2, method="variational", n_init=3, random_state=0).fit(X)
    >>> report = diagnose(model, X)
    >>> report.converged
    [True, True, True]
    >>> print(report.restart_summary())
    2 of 3 restarts reached the best optimum; the other is 0.585 nats lower (1 of them
    with the same parameters: the same clusters at a worse value of the objective)
    >>> report.khat < report.khat_threshold    # the approximation is usable
    True
    """
    variational = is_variational(model)
    if decrease_rtol is None:
        decrease_rtol = 1e-4 if np.dtype(model.means_.dtype) == np.float32 else 1e-8
    _, distances = restart_alignment(model)
    restarts = _restart_diagnostics(model, decrease_rtol, distances)
    best = best_restart(model)
    limit = gap = None
    if not variational:
        estimate = aitken(model.restarts_[best].lower_bounds)
        limit, gap = float(estimate.limit), float(estimate.gap)
    weights = np.asarray(model.weights_, dtype=np.float64)
    k = weights.size
    positive = weights[weights > 0]
    dt = None
    if variational and X is not None:
        dt = to_datatree(model, X, sample_weight=sample_weight, n_draws=n_draws,
                         max_obs=max_obs, random_state=random_state, predictive=False)
    report = DiagnosticReport(
        method=model.method, covariance_type=model.covariance_type, n_components=k,
        objective=objective_name(model), tol=float(model.tol), max_iter=int(model.max_iter),
        restarts=restarts, best_restart=best,
        n_at_best=sum(r.same_optimum for r in restarts), gap_tolerance=gap_tolerance(model),
        aitken_limit=limit, aitken_gap=gap, weights=weights,
        effective_components=int(np.sum(weights > 1.0 / (10.0 * k))),
        entropy_components=float(np.exp(-np.sum(positive * np.log(positive)))),
        datatree=dt,
    )
    if dt is not None:
        report.khat = float(dt.sample_stats.attrs["khat"])
        report.khat_threshold = float(dt.sample_stats.attrs["khat_threshold"])
        _loo_check(report, dt)
    _warnings(report, model)
    return report


def _loo_check(report, dt):
    from ._compare import loo

    with warnings.catch_warnings():   # high Pareto k is reported, not warned twice
        warnings.simplefilter("ignore", UserWarning)
        result = loo(dt, pointwise=True)
    k = np.asarray(result.pareto_k.values)
    report.pareto_k_max = float(np.nanmax(k))
    report.n_bad_pareto_k = int(np.sum(k > min(PARETO_K_MAX, report.khat_threshold)))
    report.n_loo_obs = int(k.size)
    report.elpd_loo = float(result.elpd)


def _warnings(report, model):
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
    if (report.aitken_gap is not None and np.isfinite(report.aitken_gap)
            and report.aitken_gap > report.tol and report.max_iter > 0):
        w.append(
            f"the kept restart stopped {report.aitken_gap:.3g} below its Aitken-accelerated "
            f"limit, more than tol={report.tol:g}: EM is converging slowly here (a change "
            "below tol is not the distance to the optimum); lower tol (e.g. "
            f"tol={report.tol / 100:g}) or raise max_iter if the estimates must be precise.")
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
        notes.append("only one restart (n_init=1): whether other optima exist cannot be "
                     "assessed; use n_init >= 4 to check.")
    elsewhere = [r for r in report.restarts if not r.same_optimum]
    moved = [r for r in elsewhere if r.distance > SAME_OPTIMUM_DISTANCE]
    if moved:
        share = ("only the kept restart" if report.n_at_best == 1 else
                 f"{report.n_at_best} of {n} restarts")
        w.append(
            f"{report.restart_summary()}, with different parameters (mixture distance up to "
            f"{max(r.distance for r in moved):.3g}): {share} found the kept solution, so a "
            f"better one may exist; increase n_init (e.g. n_init={max(2 * n, 10)}); if the "
            "optima differ in how a cluster is split, fewer components may describe the "
            "data as well.")
    elif elsewhere:
        notes.append(
            "the restarts below the best found the same clusters: "
            + ("the Dirichlet-process prior scores the order of the sticks, and the fit "
               "kept the best order."
               if model.method == "variational"
               and model.weight_concentration_prior_type == "dirichlet_process"
               else "the restarts stopped at different distances from the optimum (a "
                    "smaller tol brings them together)."))
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
    if report.khat is not None and not report.khat < report.khat_threshold:
        w.append(
            f"the variational approximation is poor: Pareto k-hat of p / q is "
            f"{report.khat:.2f} (>= {report.khat_threshold:.2f}), so the posterior's "
            "spread and correlations are misstated; use a richer covariance_type (e.g. "
            "'full' for correlated features), fewer components, or more data.")
    if report.n_bad_pareto_k and report.n_bad_pareto_k <= max(1, 0.01 * report.n_loo_obs):
        notes.append(f"{report.n_bad_pareto_k} of {report.n_loo_obs} observations have a "
                     "PSIS-LOO Pareto k above the threshold: few enough for LOO to stand.")
    elif report.n_bad_pareto_k:
        cause = ("likely the components without weight, whose posterior the mean-field "
                 "approximation misses: use fewer components"
                 if report.effective_components < k else
                 "the variational posterior is far from the posterior, or those points are "
                 "outliers: check those observations, or try another covariance_type or "
                 "number of components")
        w.append(
            f"{report.n_bad_pareto_k} of {report.n_loo_obs} observations have a PSIS-LOO "
            f"Pareto k above the threshold, so LOO is unreliable there ({cause}); "
            "compare_models then uses K-fold cross-validation.")
