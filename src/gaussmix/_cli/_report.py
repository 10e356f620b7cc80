"""``report.html``: one self-contained page about a ``gaussmix fit`` run.

The page needs nothing but itself: the CSS is inline, the figures are PNG images in
``data:`` URIs, there is no script and no external URL, so it opens offline and can
be mailed as one file.  Its sections: the data, the model selection (table and
criterion plot), the chosen model's parameters, its classification and uncertainty
plots, the convergence diagnostics (gaussmix's report and restart figure; ArviZ's
posterior plots for variational fits when ``arviz_plots`` is installed), and the
command line and versions that reproduce the run.  Without matplotlib the page is
written without figures and says why.
"""

from __future__ import annotations

import base64
import datetime
import html
import importlib.util
import io
import os
import sys
import warnings

import numpy as np

from .._selection import _full_covariances
from .._version import __version__
from ._commands import FitRun
from ._summary import choice_reason, convergence_line, criterion_name

__all__ = ["SECTIONS", "render_report", "write_report"]

#: The section headings of the report, in order (the browser test looks for them).
SECTIONS = ("Data", "Model selection", "Chosen model", "Classification",
            "Convergence and diagnostics", "Reproducing this run")

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 72em; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: right; }
th { background: #f3f3f3; }
td.best { background: #ffe9a8; font-weight: bold; }
figure { display: inline-block; margin: 0.5em 1em 0.5em 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.note { color: #8a5a00; }
.meta { color: #666; font-size: 0.9em; }
"""


def _esc(value) -> str:
    return html.escape(str(value))


def _png(fig, dpi=90) -> str:
    """The figure as a PNG data URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(uri, caption) -> str:
    return (f'<figure><img src="{uri}" alt="{_esc(caption)}">'
            f"<figcaption>{_esc(caption)}</figcaption></figure>")


def _table(header, rows, best=None) -> str:
    """An HTML table; ``best`` is the (row, column) index of a cell to highlight."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            tag = "th" if j == 0 else "td"
            cls = ' class="best"' if best == (i, j) else ""
            cells.append(f"<{tag}{cls}>{_esc(cell)}</{tag}>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _number(value, digits=4) -> str:
    return "NaN" if not np.isfinite(value) else f"{value:.{digits}g}"


class _Figures:
    """Makes the figures, or records why there are none."""

    def __init__(self):
        self.available = True   # until a plotting function raises ImportError
        self.problems = []

    def make(self, caption, draw):
        """``draw()`` returns a Figure, an Axes or a PlotCollection: its PNG figure."""
        if not self.available:
            return ""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                made = draw()
                fig = getattr(made, "figure", made)
                if hasattr(made, "viz"):   # an arviz_plots PlotCollection
                    fig = made.viz["figure"].item()
                uri = _png(fig)
                _release(fig)
        except ImportError:
            self.available = False
            return ""
        except Exception as exc:   # noqa: BLE001 - a figure must not cost the report
            self.problems.append(f"{caption}: {type(exc).__name__}: {exc}")
            return ""
        return _figure(uri, caption)


def _release(fig):
    """Close a figure that pyplot holds (ArviZ's), so none accumulate."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None and getattr(fig, "number", None) in pyplot.get_fignums():
        pyplot.close(fig)


# ====================================================================== sections
def _data_section(run: FitRun) -> str:
    table = run.table
    X = table.X
    rows = [[name, _number(X[:, j].mean()), _number(X[:, j].std(ddof=1) if X.shape[0] > 1
                                                    else 0.0),
             _number(X[:, j].min()), _number(np.median(X[:, j])), _number(X[:, j].max())]
            for j, name in enumerate(table.columns)]
    parts = [f"<p>{_esc(table.source)}: {table.n_samples} rows, {len(table.columns)} "
             f"features{' (a header row was read)' if table.has_header else ''}.</p>",
             _table(["feature", "mean", "sd", "min", "median", "max"], rows)]
    if run.prep.center is not None:
        parts.append("<p>The models were fitted to the standardized columns, (x - mean) / "
                     "sd; the figures show them in those units, the parameters below are "
                     "in the data's units.</p>")
    return "".join(parts)


def _selection_section(run: FitRun, figures: _Figures) -> str:
    result = run.result
    name = criterion_name(result.criterion)
    table = result.table
    best = result.best_params_
    bi = list(table.index).index(best["n_components"])
    bj = list(table.columns).index(best["covariance_type"]) + 1
    rows = [[G, *(_number(v, 7) for v in row)] for G, row in table.iterrows()]
    parts = [f"<p>{table.size} fits: n_components {', '.join(map(str, table.index))} x "
             f"covariance types {', '.join(map(str, table.columns))}, ranked by {name} "
             f"(lower is better"
             + ("; mclust's sign is the opposite" if result.criterion in ("bic", "icl")
                else "") + f"). Chosen: <b>{_esc(best['covariance_type'])}, "
             f"{best['n_components']} components</b>: {_esc(choice_reason(run))}.</p>",
             _table(["G", *table.columns], rows, best=(bi, bj))]
    top = result.top(5)
    parts.append(_table(["model", name, "difference to the best"],
                        [[label, _number(row[result.criterion], 7), f"{row['delta']:.2f}"]
                         for label, row in top.iterrows()]))
    reasons = [(G, model, reason) for G, row in result.reasons.iterrows()
               for model, reason in row.items() if isinstance(reason, str)]
    if reasons:
        parts.append("<p>Fits without a value:</p><ul>" + "".join(
            f"<li>{_esc(model)}, {G}: {_esc(reason)}</li>" for G, model, reason in reasons)
            + "</ul>")
    from ..plotting import plot_criterion

    parts.append(figures.make(f"{name} against the number of components",
                              lambda: plot_criterion(result)))
    return "".join(parts)


def _model_section(run: FitRun) -> str:
    model, names, prep = run.model, run.table.columns, run.prep
    means = np.asarray(model.means_, dtype=np.float64)
    covariances = np.array(_full_covariances(model), dtype=np.float64)
    if prep.center is not None:
        means = prep.inverse_transform(means)
        covariances = covariances * np.outer(prep.scale, prep.scale)
    k, d = means.shape
    counts = np.bincount(run.labels, minlength=k)
    rows = [[j, f"{model.weights_[j]:.4f}", counts[j], *(_number(m, 6) for m in means[j])]
            for j in range(k)]
    parts = [f"<p>GaussianMixture(n_components={k}, covariance_type="
             f"{_esc(repr(model.covariance_type))}, method={_esc(repr(model.method))}), "
             f"{_esc(convergence_line(model))}.</p>",
             _table(["component", "weight", "rows labelled", *(f"mean {n}" for n in names)],
                    rows)]
    if d <= 8:
        for j in range(k):
            parts.append(f"<p>Covariance of component {j}:</p>")
            parts.append(_table(["", *names], [[names[a], *(_number(v, 5) for v in row)]
                                               for a, row in enumerate(covariances[j])]))
    else:
        sds = np.sqrt(np.einsum("kii->ki", covariances))
        parts.append("<p>Standard deviations (the covariances have " f"{d} x {d} entries "
                     "each; load model.npz for them):</p>")
        parts.append(_table(["component", *names],
                            [[j, *(_number(s, 5) for s in sds[j])] for j in range(k)]))
    return "".join(parts)


def _classification_section(run: FitRun, figures: _Figures) -> str:
    from ..plotting import plot_classification, plot_density, plot_uncertainty

    model, X = run.model, run.X
    names = [f"{n} (standardized)" if run.prep.center is not None else n
             for n in run.table.columns]
    shown = tuple(range(min(X.shape[1], 5)))   # a pairs grid of at most 5 features
    uncertainty = 1.0 - run.proba.max(axis=1)
    parts = [f"<p>Every row is labelled with its most probable component; its uncertainty "
             f"is 1 - that probability (mean {uncertainty.mean():.3f}, "
             f"{int(np.sum(uncertainty > 0.1))} rows above 0.1).</p>"]
    if X.shape[1] > len(shown):
        parts.append(f"<p>The figures show the first {len(shown)} of {X.shape[1]} "
                     "features.</p>")
    parts.append(figures.make(
        "Classification, with the 1- and 2-sigma ellipses of the components",
        lambda: plot_classification(model, X, features=shown, feature_names=names)))
    parts.append(figures.make("Uncertainty of the classification",
                              lambda: plot_uncertainty(model, X, feature_names=names)))
    if X.shape[1] >= 2:
        parts.append(figures.make("Density of the mixture",
                                  lambda: plot_density(model, X, feature_names=names)))
    return "".join(parts)


def _diagnostics_section(run: FitRun, figures: _Figures) -> str:
    model = run.model
    report = model.diagnose(run.X)
    parts = [report._repr_html_()]
    parts.append(figures.make("Restarts: objective traces, final gaps and weights",
                              lambda: model.plot_diagnostics()))
    if model.method == "variational" and report.datatree is not None:
        if importlib.util.find_spec("arviz_plots") is not None:
            k, d = model.means_.shape
            # The components that carry weight: the others' posteriors are their prior.
            kept = [int(j) for j in np.flatnonzero(model.weights_ > 1.0 / (10.0 * k))]
            n_rows = -(-len(kept) * (1 + d) // 4)   # arviz_plots wraps at 4 columns

            def posterior_plot():
                import arviz_plots

                return arviz_plots.plot_dist(
                    report.datatree, var_names=["weights", "means"],
                    coords={"component": kept}, backend="matplotlib",
                    figure_kwargs={"figsize": (11.0, 2.8 * n_rows)})

            parts.append(figures.make(
                "Variational posterior of the weights and means (ArviZ) of the "
                f"{len(kept)} components with weight above 1/(10k)", posterior_plot))
        else:
            parts.append('<p class="note">ArviZ\'s posterior plots need arviz_plots '
                         "(pip install arviz-plots).</p>")
    return "".join(parts)


def _reproduce_section(run: FitRun) -> str:
    import shlex

    from .. import show_versions

    options = ", ".join(f"{k}={v!r}" for k, v in run.options.items())
    data = "X" if run.prep.center is None else "(X - X.mean(axis=0)) / X.std(axis=0)"
    versions = io.StringIO()
    try:
        show_versions(file=versions)
    except Exception as exc:   # noqa: BLE001 - the report must still be written
        versions.write(f"(show_versions failed: {exc})")
    command = shlex.join(run.command) if run.command else "(not run from the command line)"
    return (f"<p>Command line (in {_esc(os.getcwd())}):</p><pre>{_esc(command)}</pre>"
            "<p>The same fit from Python, with X the columns "
            f"{_esc(', '.join(run.table.columns))} as float64:</p>"
            f"<pre>import gaussmix\nresult = gaussmix.select({_esc(data)}, {_esc(options)})"
            "\nmodel = result.best_estimator_</pre>"
            f"<p>Versions:</p><pre>{_esc(versions.getvalue())}</pre>")


def render_report(run: FitRun) -> str:
    """The report of a fit as one self-contained HTML page.

    Parameters
    ----------
    run : FitRun
        What ``gaussmix fit`` produced.

    Returns
    -------
    str
        The page: inline CSS, figures as PNG ``data:`` URIs, no script, no external
        URL.
    """
    figures = _Figures()
    model = run.model
    params = run.result.best_params_
    sections = [
        ("Data", _data_section(run)),
        ("Model selection", _selection_section(run, figures)),
        ("Chosen model", _model_section(run)),
        ("Classification", _classification_section(run, figures)),
        ("Convergence and diagnostics", _diagnostics_section(run, figures)),
        ("Reproducing this run", _reproduce_section(run)),
    ]
    assert tuple(name for name, _ in sections) == SECTIONS
    if not figures.available:
        missing = ('<p class="note">This report has no figures: matplotlib is not '
                   'installed (pip install "gaussmix[plot]").</p>')
    elif figures.problems:
        missing = ('<p class="note">Some figures could not be drawn: '
                   + _esc("; ".join(figures.problems)) + "</p>")
    else:
        missing = ""
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = (f"gaussmix: {params['covariance_type']}, {params['n_components']} components "
             f"for {run.table.source}")
    body = "".join(f'<section id="{name.split()[0].lower()}"><h2>{_esc(name)}</h2>'
                   f"{content}</section>" for name, content in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{_esc(title)}</h1><p class=\"meta\">gaussmix {_esc(__version__)}, "
            f"{when}; method={_esc(repr(model.method))}.</p>{missing}{body}</body></html>\n")


def write_report(run: FitRun, path) -> None:
    """Write :func:`render_report` of ``run`` to ``path`` (UTF-8)."""
    page = render_report(run)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(page)
