"""The text ``gaussmix fit`` prints: the chosen model, why, its convergence, the
alternatives."""

from __future__ import annotations

import numpy as np

from .._version import __version__
from ._commands import FitRun, component_lines

__all__ = ["choice_reason", "evidence", "fit_summary"]

#: Kass & Raftery (1995)'s scale for a BIC difference (2 log Bayes factor).
_EVIDENCE = ((2.0, "not worth more than a bare mention"), (6.0, "positive"),
             (10.0, "strong"), (np.inf, "very strong"))


def criterion_name(criterion: str) -> str:
    return "-2 ELBO" if criterion == "elbo" else criterion.upper()


def evidence(delta: float) -> str:
    """Kass & Raftery's words for a BIC difference ``delta`` >= 0."""
    return next(words for bound, words in _EVIDENCE if delta < bound)


def _label(G, model):
    return f"{model},{G}"


def choice_reason(run: FitRun) -> str:
    """Why the chosen model was chosen: its criterion and the gap to the next best."""
    result = run.result
    name = criterion_name(result.criterion)
    top = result.top(2)
    best = top.iloc[0]
    text = f"lowest {name} ({best[result.criterion]:.2f})"
    if len(top) < 2:
        return text + ", the only model that could be fitted"
    second = top.iloc[1]
    delta = float(second["delta"])
    if delta <= 1e-9 * max(1.0, abs(float(best[result.criterion]))):
        return (text + f", equal to that of {top.index[1]} (the same fit on these data; "
                "the first in the table's order is taken)")
    text += f", {delta:.2f} below the next best, {top.index[1]}"
    if result.criterion == "bic":
        text += f" (evidence: {evidence(delta)}, on Kass & Raftery's scale)"
    return text


def _selection_table(result, name):
    """The criterion per G, one column per model (only for a few models)."""
    table = result.table
    best = (result.best_params_["n_components"], result.best_params_["covariance_type"])
    models = list(table.columns)
    lines = []
    if len(models) == 1:
        for G, value in table[models[0]].items():
            mark = "  <- lowest" if (G, models[0]) == best else ""
            cell = f"{value:10.2f}" if np.isfinite(value) else f"{'NaN':>10}"
            lines.append(f"  n_components={G}: {cell}{mark}")
        return lines
    width = max(10, *(len(m) + 1 for m in models))
    lines.append("  " + f"{'G':>3}" + "".join(f"{m:>{width}}" for m in models))
    for G, row in table.iterrows():
        cells = "".join(f"{v:{width}.2f}" if np.isfinite(v) else f"{'NaN':>{width}}"
                        for v in row)
        lines.append(f"  {G:>3}{cells}")
    return lines


def convergence_line(model) -> str:
    """Whether the kept fit converged, in how many iterations, out of how many starts."""
    restarts = getattr(model, "restarts_", None) or []
    n_converged = sum(bool(r.converged) for r in restarts)
    state = ("converged" if model.converged_ else
             "did NOT converge (raise --max-iter or --tol)")
    text = (f"{state} in {model.n_iter_} iterations (tol={model.tol:g}, "
            f"max_iter={model.max_iter})")
    if len(restarts) > 1:
        text += f"; {n_converged} of {len(restarts)} initialisations converged"
    return text


def fit_summary(run: FitRun, verbose: bool = False) -> str:
    """The summary of a fit, as printed on standard output."""
    result, model, table = run.result, run.model, run.table
    name = criterion_name(result.criterion)
    models = list(result.table.columns)
    G = list(result.table.index)
    Gs = f"{G[0]}-{G[-1]}" if G == list(range(G[0], G[-1] + 1)) and len(G) > 1 else (
        ",".join(map(str, G)))
    d = len(table.columns)
    lines = [f"gaussmix {__version__}: {table.source}, {table.n_samples} rows x "
             f"{d} feature{'s' if d != 1 else ''} ({', '.join(table.columns)})"
             + (", standardized" if run.prep.center is not None else "")]
    what = (f"covariance_type={models[0]!r}" if len(models) == 1
            else f"{len(models)} covariance types")
    lines.append(f"\nmodel selection: {name} of n_components {Gs} x {what} "
                 f"(lower is better), {result.table.size} fit{'s' if result.table.size != 1 else ''}")
    if len(models) <= 5:
        lines.extend(_selection_table(result, name))
    params = result.best_params_
    lines.append(f"\nGaussianMixture(n_components={params['n_components']}, "
                 f"covariance_type={params['covariance_type']!r}): chosen by {name}: "
                 f"{choice_reason(run)}; method={model.method!r}, best of "
                 f"n_init={model.n_init}")
    lines.extend(component_lines(model, table.columns, run.prep))
    lines.append(f"  {convergence_line(model)}")
    counts = np.bincount(run.labels, minlength=model.n_components)
    lines.append(f"  rows per label: {', '.join(str(c) for c in counts)}; mean uncertainty "
                 f"{float(np.mean(1.0 - run.proba.max(axis=1))):.3f}")
    top = result.top(5)
    if len(top) > 1:
        lines.append("\ntop alternatives:")
        for label, row in top.iloc[1:].iterrows():
            lines.append(f"  {label:<8} {name} {row[result.criterion]:10.2f}  "
                         f"(+{row['delta']:.2f})")
    n_failed = int(result.table.isna().to_numpy().sum())
    if n_failed:
        lines.append(f"  {n_failed} of {result.table.size} fits have no {name} (singular or "
                     "impossible; see the report)")
    if verbose:
        lines.append("")
        lines.append(str(model.diagnose(run.X)))
        trace = np.asarray(model.lower_bounds_)
        shown = trace[:: max(1, len(trace) // 8)]
        lines.append("objective trace: " + "  ".join(f"{v:.5f}" for v in shown))
    if run.written:
        lines.append("\nwrote " + ", ".join(run.written))
    return "\n".join(lines)
