"""The subcommands: ``fit`` (and ``demo``, the same fit on Old Faithful), ``predict``,
``sample`` and ``info``.

Each is a thin layer over the public API: :func:`gaussmix.select` fits and ranks the
grid, the chosen ``best_estimator_`` predicts, :meth:`GaussianMixture.save` and
:func:`gaussmix.load` store and read the model, :func:`gaussmix.diagnostics.diagnose`
checks convergence.  What the command line adds is reading files, writing CSVs and
the report, and the preprocessing the model file cannot hold: the columns used and,
with ``--standardize``, their centre and scale (``preprocessing.json``, applied by
``predict`` and, in reverse, by ``sample``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass

import numpy as np

from .._selection import SKLEARN_MODELS, _full_covariances
from .._version import __version__
from ._data import Table, read_table, select_columns
from ._errors import UsageError, one_line

__all__ = ["FitRun", "Preprocessing", "fit_command", "info_command", "predict_command",
           "sample_command"]

MODEL_FILE = "model.npz"
PREPROCESSING_FILE = "preprocessing.json"


# ====================================================================== preprocessing
@dataclass
class Preprocessing:
    """The columns a model was fitted on and their standardization, if any.

    Parameters
    ----------
    columns : list of str
        The names of the columns, in the model's feature order.
    center, scale : ndarray of shape (n_features,) or None
        With ``--standardize``: the model sees ``(x - center) / scale``.
    """

    columns: list
    center: np.ndarray | None = None
    scale: np.ndarray | None = None

    @classmethod
    def fit(cls, table: Table, standardize: bool) -> Preprocessing:
        """The columns of ``table`` and, when asked, their mean and standard deviation."""
        if not standardize:
            return cls(list(table.columns))
        center = table.X.mean(axis=0)
        scale = table.X.std(axis=0)
        constant = [name for name, s in zip(table.columns, scale, strict=True) if not s > 0]
        if constant:
            raise UsageError(f"--standardize: column {constant[0]!r} of {table.source} is "
                             "constant, it cannot be scaled to unit variance; leave it out "
                             "with --columns")
        return cls(list(table.columns), center, scale)

    def transform(self, X):
        """X in the model's units."""
        return X if self.center is None else (X - self.center) / self.scale

    def inverse_transform(self, Z):
        """Model units back in the data's units."""
        return Z if self.center is None else Z * self.scale + self.center

    def to_json(self) -> str:
        """The contents of preprocessing.json: the columns and the centre and scale."""
        standardize = None if self.center is None else {
            "center": self.center.tolist(), "scale": self.scale.tolist()}
        return json.dumps({"columns": self.columns, "standardize": standardize}, indent=1)

    @classmethod
    def read(cls, path: str) -> Preprocessing:
        """Read a preprocessing.json written by :meth:`to_json`."""
        try:
            with open(path, encoding="utf-8") as fh:
                spec = json.load(fh)
            columns = [str(c) for c in spec["columns"]]
            standardize = spec.get("standardize")
            if standardize is None:
                return cls(columns)
            center = np.asarray(standardize["center"], dtype=np.float64)
            scale = np.asarray(standardize["scale"], dtype=np.float64)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path}: not a gaussmix preprocessing file ({exc})") from None
        if center.shape != (len(columns),) or scale.shape != (len(columns),):
            raise UsageError(f"{path}: centre and scale do not match the columns")
        return cls(columns, center, scale)


def _model_paths(path: str) -> tuple[str, str]:
    """The model file and its preprocessing file (which may not exist)."""
    model_path = os.path.join(path, MODEL_FILE) if os.path.isdir(path) else path
    return model_path, os.path.join(os.path.dirname(model_path) or ".", PREPROCESSING_FILE)


def load_model(path: str):
    """The saved model at ``path`` (a file or a fit's --out directory) and its
    preprocessing (None when no preprocessing.json sits beside it)."""
    from .. import load

    model_path, prep_path = _model_paths(path)
    if not os.path.exists(model_path):
        raise UsageError(f"{model_path}: no such file")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = load(model_path)
        for warning in caught:   # another gaussmix version wrote it: say so, on one line
            print(f"gaussmix: warning: {one_line(warning.message)}", file=sys.stderr)
    except OSError as exc:
        raise UsageError(f"{model_path}: cannot read it: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    prep = Preprocessing.read(prep_path) if os.path.exists(prep_path) else None
    if prep is not None and len(prep.columns) != model.n_features_in_:
        raise UsageError(f"{prep_path} lists {len(prep.columns)} columns but the model has "
                         f"{model.n_features_in_} features")
    return model, prep


def _feature_names(model, prep):
    return prep.columns if prep is not None else [f"x{j}" for j in range(model.n_features_in_)]


# ====================================================================== output files
def prepare_out_dir(path: str) -> str:
    """Create ``path`` if needed and check that files can be written there."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"--out {path}: exists and is not a directory")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".gaussmix-write-test-"):
            pass
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot write there: {exc.strerror or exc}") from None
    return path


def _check_writable_file(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"--out {path}: is a directory; give a file name")
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f"--out {path}: cannot write into {folder}")


def labels_table(labels, proba, probabilities=False):
    """Rows ``row, label, probability, uncertainty`` (and one column per component).

    ``labels`` and ``proba`` are a model's ``predict`` and ``predict_proba``;
    ``probability`` is the posterior probability of a row's label (the largest),
    ``uncertainty`` is ``1 - probability``; rows are numbered from 1.  Returns the
    header, the values and their formats.
    """
    top = proba[np.arange(proba.shape[0]), labels]
    header = ["row", "label", "probability", "uncertainty"]
    columns = [np.arange(1, labels.size + 1), labels, top, 1.0 - top]
    formats = ["%d", "%d", "%.10g", "%.10g"]
    if probabilities:
        header += [f"p{k}" for k in range(proba.shape[1])]
        columns += list(proba.T)
        formats += ["%.10g"] * proba.shape[1]
    return header, np.column_stack(columns), formats


def write_csv(target, header, values, formats):
    """Write a CSV with a header row to a path or an open text stream."""
    with contextlib.ExitStack() as stack:
        fh = target if hasattr(target, "write") else stack.enter_context(
            open(target, "w", encoding="utf-8", newline=""))
        np.savetxt(fh, values, fmt=formats, delimiter=",", header=",".join(header),
                   comments="")


def probabilities_table(proba):
    header = ["row", *(f"p{k}" for k in range(proba.shape[1]))]
    values = np.column_stack([np.arange(1, proba.shape[0] + 1), proba])
    return header, values, ["%d"] + ["%.10g"] * proba.shape[1]


# ====================================================================== fit
@dataclass
class FitRun:
    """Everything one ``gaussmix fit`` produced, for the summary and the report.

    Parameters
    ----------
    table : Table
        The data as read.
    prep : Preprocessing
        Its columns and standardization.
    X : ndarray
        What the models were fitted to (standardized when asked).
    result : SelectionResult
        The grid of fits and its ranking.
    model : GaussianMixture
        The chosen fit, ``result.best_estimator_``.
    labels, proba : ndarray
        ``model.predict(X)`` and ``model.predict_proba(X)``.
    options : dict
        The estimator options given to :func:`gaussmix.select`.
    command : list of str
        The command line, for the report.
    written : list of str
        The files written.
    """

    table: Table
    prep: Preprocessing
    X: np.ndarray
    result: object
    model: object
    labels: np.ndarray
    proba: np.ndarray
    options: dict
    command: list
    written: list


def _threads(n):
    """Limit the compiled kernels' OpenMP threads (and BLAS's) to ``n``, or nothing."""
    if n is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n)


def _criterion(args) -> str:
    if args.criterion is None:
        return "elbo" if args.method == "variational" else "bic"
    if args.method == "variational" and args.criterion != "elbo":
        raise UsageError(f"--criterion {args.criterion} ranks maximum-likelihood fits; "
                         "variational fits are ranked by --criterion elbo (the default "
                         "with --method variational)")
    if args.method == "em" and args.criterion == "elbo":
        raise UsageError("--criterion elbo ranks variational fits: add --method "
                         "variational, or use bic or icl")
    return args.criterion


def _check_models(args):
    if args.method == "variational" and args.covariance_type != "all":
        unsupported = [m for m in args.covariance_type if m not in SKLEARN_MODELS]
        if unsupported:
            raise UsageError(f"--method variational fits scikit-learn's covariance types "
                             f"({', '.join(SKLEARN_MODELS)}), not {unsupported[0]}")


def selection_options(args) -> dict:
    """The keyword arguments of :func:`gaussmix.select` that the options give."""
    return {"n_components": args.n_components, "covariance_type": args.covariance_type,
            "criterion": _criterion(args), "method": args.method,
            "init_params": args.init_params, "n_init": args.n_init,
            "random_state": args.seed, "tol": args.tol, "max_iter": args.max_iter}


def fit_command(args, table: Table | None = None, out=None, command=None) -> FitRun:
    """``gaussmix fit``: read, select, write the outputs, print the summary."""
    from .. import select

    out = sys.stdout if out is None else out
    _check_models(args)
    options = selection_options(args)
    if args.out is not None:
        prepare_out_dir(args.out)   # before the fits: fail fast
    if table is None:
        table = read_table(args.data, args.columns)
    smallest = min(args.n_components)
    if table.n_samples < max(2, smallest):
        raise UsageError(f"{table.source} has {table.n_samples} row"
                         f"{'s' if table.n_samples != 1 else ''}: fitting "
                         f"{smallest} component{'s' if smallest != 1 else ''} needs at least "
                         f"{max(2, smallest)}")
    prep = Preprocessing.fit(table, args.standardize)
    X = prep.transform(table.X)
    progress = False if args.quiet else None   # None: a bar on a terminal only
    try:
        with _threads(args.threads):
            result = select(X, progress=progress, top=5, **options)
    except ValueError as exc:
        raise UsageError(one_line(exc)) from None
    model = result.best_estimator_
    labels = np.asarray(model.predict(X))
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    run = FitRun(table, prep, X, result, model, labels, proba, options,
                 list(command) if command is not None else [], [])
    if args.out is not None:
        _write_fit_outputs(run, args)
    if not args.quiet:
        from ._summary import fit_summary

        print(fit_summary(run, verbose=args.verbose), file=out)
    return run


def _write_fit_outputs(run, args):
    folder = args.out
    path = os.path.join(folder, "labels.csv")
    write_csv(path, *labels_table(run.labels, run.proba))
    run.written.append(path)
    if args.probabilities:
        path = os.path.join(folder, "probabilities.csv")
        write_csv(path, *probabilities_table(run.proba))
        run.written.append(path)
    path = os.path.join(folder, MODEL_FILE)
    run.model.save(path)
    run.written.append(path)
    path = os.path.join(folder, PREPROCESSING_FILE)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(run.prep.to_json() + "\n")
    run.written.append(path)
    if args.report:
        from ._report import write_report

        path = os.path.join(folder, "report.html")
        write_report(run, path)
        run.written.append(path)


# ====================================================================== predict, sample, info
def _predict_columns(table_columns, model, prep, columns, source):
    """Positions of the model's features among the data's columns."""
    n_features = model.n_features_in_
    if columns is not None:
        positions = select_columns(table_columns, columns, source)
    elif prep is not None and all(c in table_columns for c in prep.columns):
        positions = [table_columns.index(c) for c in prep.columns]
    elif len(table_columns) == n_features:
        positions = list(range(n_features))
    else:
        wanted = f" ({', '.join(prep.columns)})" if prep is not None else ""
        raise UsageError(f"{source} has {len(table_columns)} columns but the model has "
                         f"{n_features} features{wanted}: choose them with --columns")
    if len(positions) != n_features:
        raise UsageError(f"--columns gives {len(positions)} columns but the model has "
                         f"{n_features} features")
    return positions


def predict_command(args, out=None):
    """``gaussmix predict``: labels (and probabilities) of the rows of DATA."""
    model, prep = load_model(args.model)
    if args.out is not None:
        _check_writable_file(args.out)
    table = read_table(args.data, choose=lambda names, source: _predict_columns(
        names, model, prep, args.columns, source))
    X = table.X
    if prep is not None:
        X = prep.transform(X)
    rows = labels_table(np.asarray(model.predict(X)),
                        np.asarray(model.predict_proba(X), dtype=np.float64),
                        args.probabilities)
    write_csv(args.out if args.out is not None else (out or sys.stdout), *rows)


def sample_command(args, out=None):
    """``gaussmix sample``: N rows drawn from the model, in the data's units."""
    model, prep = load_model(args.model)
    if args.out is not None:
        _check_writable_file(args.out)
    if args.seed is not None:
        model.set_params(random_state=args.seed)
    X, components = model.sample(args.n_samples)
    if prep is not None:
        X = prep.inverse_transform(X)
    names = _feature_names(model, prep)
    values = np.column_stack([X, components])
    write_csv(args.out if args.out is not None else (out or sys.stdout),
              [*names, "component"], values, ["%.10g"] * len(names) + ["%d"])


def component_lines(model, names, prep=None):
    """One line per component: weight, mean and standard deviations (data units)."""
    means = np.asarray(model.means_, dtype=np.float64)
    sds = np.sqrt(np.einsum("kii->ki", _full_covariances(model)))
    if prep is not None and prep.center is not None:
        means, sds = prep.inverse_transform(means), sds * prep.scale
    lines = []
    for j in range(means.shape[0]):
        lines.append(f"  component {j}: weight {model.weights_[j]:.3f}  mean "
                     f"[{', '.join(f'{m:.4g}' for m in means[j])}]  sd "
                     f"[{', '.join(f'{s:.4g}' for s in sds[j])}]")
    return lines


def info_command(args, out=None):
    """``gaussmix info``: what a saved model is and how it was fitted."""
    out = sys.stdout if out is None else out
    model, prep = load_model(args.model)
    model_path, prep_path = _model_paths(args.model)
    names = _feature_names(model, prep)
    lines = [f"{model_path}: {type(model).__name__}(n_components={model.n_components}, "
             f"covariance_type={model.covariance_type!r}, method={model.method!r})",
             f"  features ({model.n_features_in_}): {', '.join(names)}"]
    if prep is not None and prep.center is not None:
        lines.append(f"  standardized before fitting ({prep_path}); parameters below in the "
                     "data's units")
    restarts = getattr(model, "restarts_", None)
    n_init = len(restarts) if restarts else model.n_init
    lines.append(f"  fit: {'converged' if model.converged_ else 'did NOT converge'} after "
                 f"{model.n_iter_} iterations (tol={model.tol:g}, max_iter={model.max_iter}), "
                 f"best of {n_init} initialisation{'s' if n_init != 1 else ''}, "
                 f"random_state={model.random_state!r}")
    objective = ("ELBO (total)" if model.method == "variational"
                 else "mean log-likelihood per sample")
    lines.append(f"  lower_bound_: {model.lower_bound_:.6g} ({objective})")
    lines.extend(component_lines(model, names, prep))
    lines.append(f"  read by gaussmix {__version__}")
    print("\n".join(lines), file=out)
