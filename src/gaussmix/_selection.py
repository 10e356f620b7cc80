"""Model selection: a grid of fits over (number of components, covariance model).

:func:`select` fits :class:`~gaussmix.GaussianMixture` for every number of components
G in ``n_components`` and every covariance model in ``covariance_type``, as mclust's
``mclustBIC`` does, and returns a :class:`SelectionResult`: the criterion table (G x
model, NaN and a reason where a fit is singular or impossible), the best fitted
estimator, mclust's list of top models, and a figure of the criterion against G.
:func:`bootstrap_lrt` is mclust's ``mclustBootstrapLRT``: a parametric bootstrap of
the likelihood-ratio statistic for G against G + 1 components.

Why a function returning a result, and not an estimator class
    The output of a model search is a report (tables, a ranking, a figure) of which
    the fitted model is one part.  scikit-learn's ``GridSearchCV`` scores held-out
    folds, whereas BIC and ICL are penalised in-sample criteria: wrapping them in
    ``GridSearchCV`` needs a fake single "fold" equal to the training set and loses
    the table of failures.  So ``select`` is a function (mclust's ``Mclust``/
    ``mclustBIC`` shape) whose result carries scikit-learn's ``best_estimator_`` and
    ``best_params_`` names: ``best_estimator_`` is an ordinary fitted
    ``GaussianMixture`` for pipelines, ``predict`` and ``sample``.

Sign conventions (documented on every table)
    gaussmix follows scikit-learn: ``bic = -2 log L + df log n`` and
    ``aic = -2 log L + 2 df``, *lower is better*.  mclust reports
    ``BIC = 2 log L - df log n``, *higher is better*: mclust's BIC is exactly minus
    gaussmix's (:attr:`SelectionResult.table_mclust`).  The ICL (Biernacki, Celeux &
    Govaert 2000) penalises the uncertainty of the MAP classification, as mclust's:
    ``icl = bic - 2 sum_i log max_k z_ik`` (z the posterior probabilities), so
    ``icl >= bic`` with equality when every row is classified with certainty;
    mclust's ``ICL = BIC + 2 sum_i sum_k C_ik log z_ik`` (C the MAP indicators) is
    again minus gaussmix's.  The estimator's own ``icl`` method is used when it has
    one.

Singular fits
    mclust reports NA where a covariance is singular (``rcond < eps``).  gaussmix adds
    ``reg_covar`` to every covariance, so a collapsed component (a singleton, an empty
    one, points on a line in 2-D) never raises; it is detected instead: a fit is
    *singular* when for some component the empirical covariance (the fitted one minus
    ``reg_covar * I``) has ``lambda_min <= singular_tol * (lambda_max + reg_covar)``,
    the ``+ reg_covar`` keeping the test meaningful when the whole scatter is no
    larger than the round-off of that subtraction.  Such a cell is NaN in every table
    (its likelihood is set by ``reg_covar`` alone) with the reason in
    :attr:`SelectionResult.reasons`; so is a G larger than the number of samples and a
    fit that raised.

Parallel fits
    ``n_jobs=None`` (the default) fits the cells one after another, each fit's passes
    over the data running on all the cores (the compiled kernels are OpenMP
    parallel): for large data a serial grid is already parallel, and nothing is
    copied.  With ``n_jobs`` the cells go to :class:`joblib.Parallel` with the
    backend of the caller's :func:`joblib.parallel_config`, by default loky's worker
    processes.  loky caps each worker's OpenMP and BLAS threads at ``cpu_count //
    n_jobs``, so the workers do not oversubscribe the cores, and its workers are not
    forked from a process whose OpenMP threads started (libgomp is not fork-safe).
    Workers return numbers only (the fitted estimator of a cell never crosses the
    process boundary); the best cell is refitted in the caller, which gives the same
    fit since every cell's seed is fixed, so results do not depend on
    ``n_jobs``.  This pays off for many small fits, whose time goes to per-iteration
    overhead and to starting OpenMP teams: the 14 x 9 grid of Old Faithful (272
    rows, ``n_init=3``) took 11 s with ``n_jobs=2`` against 38 s serially on a busy
    2-core machine.  Threads (``parallel_config(backend="threading")``) avoid the
    start-up of the processes but hold the GIL between kernel calls and let every
    thread start its own OpenMP team: they oversubscribe the cores on large fits.

Hierarchical starts
    mclust starts every EM of its grid from one model-based hierarchical
    agglomeration of the data, cut at each G.  Here, with ``init_params="hc"`` (or
    ``partitions=``), the partitions are computed once for all G before the grid
    (:func:`gaussmix._hierarchical.hierarchical_labels` on one tree, the estimator's
    cached tree when there is one), and every cell starts EM from the M-step of its
    partition under its own covariance model, given to the estimator as
    ``weights_init``, ``means_init`` and ``precisions_init`` (the estimator's public
    shapes for every model), with ``n_init=1``: the same start, so the same fit, as
    ``GaussianMixture(G, covariance_type=model, init_params="hc")``.  Passing the
    starts rather than relying on the estimator's per-process cache of trees also
    spares every parallel worker process from building the tree again.
"""

from __future__ import annotations

import importlib.util
import numbers
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from sklearn.utils._param_validation import InvalidParameterError, StrOptions

from ._gaussian_mixture import GaussianMixture
from .diagnostics._progress import progress_bar

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["CRITERIA", "MCLUST_MODELS", "SKLEARN_MODELS", "LRTResult", "SelectionResult",
           "bootstrap_lrt", "select"]

#: mclust's 14 covariance models, in mclust's order (volume, shape, orientation).
MCLUST_MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
                 "EEV", "VEV", "EVV", "VVV")
#: scikit-learn's four covariance types, in the order of the mclust models they are.
SKLEARN_MODELS = ("spherical", "diag", "tied", "full")
#: The mclust model each scikit-learn name is.
SKLEARN_TO_MCLUST = {"spherical": "VII", "diag": "VVI", "tied": "EEE", "full": "VVV"}
#: Criteria of :func:`select`, all in scikit-learn's sign (lower is better).  "elbo" is
#: ``-2 ELBO`` of variational fits (the others need maximum-likelihood or MAP EM).
CRITERIA = ("bic", "icl", "aic", "elbo")
#: The criteria each ``method`` has.
_METHOD_CRITERIA = {"em": ("bic", "icl", "aic"), "variational": ("elbo",)}
#: Default bootstrap replicates of :func:`bootstrap_lrt` (mclust's ``nboot`` is 999).
DEFAULT_N_REPLICATES = 1999

_INSTALL_HINT = ('plotting a model selection or an LRT needs matplotlib, an optional '
                 'dependency of gaussmix: pip install "gaussmix[plot]"')
#: What a fit in the grid may raise on hopeless data (then the cell is NaN + reason).
_FIT_ERRORS = (ValueError, np.linalg.LinAlgError, FloatingPointError)
#: Parameters that ``select`` sets itself, per cell.
_PER_CELL = ("weights_init", "means_init", "precisions_init", "warm_start")


# ====================================================================== validation
def _accepted(parameter: str) -> set | None:
    """The string options GaussianMixture accepts for ``parameter`` (None: unknown)."""
    constraints = getattr(GaussianMixture, "_parameter_constraints", {}).get(parameter)
    if not constraints:
        return None
    options = set()
    for constraint in constraints:
        if isinstance(constraint, StrOptions):
            options |= set(constraint.options)
    return options or None


def available_models() -> tuple[str, ...]:
    """The models ``covariance_type="all"`` means: mclust's 14 when accepted, else 4."""
    accepted = _accepted("covariance_type")
    if accepted is not None and set(MCLUST_MODELS) <= accepted:
        return MCLUST_MODELS
    return SKLEARN_MODELS


def _resolve_models(covariance_type, method="em") -> list[str]:
    if isinstance(covariance_type, str):
        if covariance_type == "all":
            # Variational Bayes has scikit-learn's four models only.
            models = list(available_models() if method == "em" else SKLEARN_MODELS)
        else:
            models = [covariance_type]
    else:
        try:
            models = list(covariance_type)
        except TypeError:
            raise TypeError("covariance_type must be 'all', a model name or a list of model "
                            f"names, got {covariance_type!r}") from None
    if not models:
        raise ValueError("covariance_type is empty: give at least one model name")
    accepted = _accepted("covariance_type")
    for name in models:
        if not isinstance(name, str):
            raise TypeError(f"covariance_type names must be strings, got {name!r}")
        if accepted is not None and name not in accepted:
            known = [m for m in (*SKLEARN_MODELS, *MCLUST_MODELS) if m in accepted]
            raise ValueError(f"unknown covariance_type {name!r}: this GaussianMixture "
                             f"accepts {known} (or 'all')")
    if len(set(models)) != len(models):
        raise ValueError(f"covariance_type lists a model twice: {models}")
    return models


def _resolve_components(n_components) -> list[int]:
    if isinstance(n_components, numbers.Integral) and not isinstance(n_components, bool):
        n_components = [n_components]
    try:
        ks = list(n_components)
    except TypeError:
        raise TypeError("n_components must be an integer or an iterable of integers, got "
                        f"{n_components!r}") from None
    if not ks:
        raise ValueError("n_components is empty: give at least one number of components")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"n_components must be integers >= 1, got {k!r}")
    return sorted({int(k) for k in ks})


def _check_criterion(criterion) -> str:
    if not isinstance(criterion, str) or criterion.lower() not in CRITERIA:
        raise ValueError(f"criterion must be one of {list(CRITERIA)}, got {criterion!r}")
    return criterion.lower()


def _seed(random_state) -> int | None:
    """One integer seed for every fit (so results are reproducible and order-free).

    None draws it from NumPy's global generator (scikit-learn's meaning of None), so
    that the fits of one call still share one seed.
    """
    if random_state is None:
        return int(np.random.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(np.iinfo(np.int32).max))
    raise TypeError(f"random_state must be an int, RandomState, Generator or None, got "
                    f"{random_state!r}")


def _check_estimator_params(params: dict, model: str, criterion: str = "bic") -> None:
    """Fail fast on parameters the estimator rejects (else every cell would fail)."""
    for name in _PER_CELL:
        if name in params:
            raise ValueError(f"{name} cannot be given to select: the starts depend on the "
                             "number of components (use partitions= for starting partitions)")
    method = params.get("method", "em")
    if criterion == "elbo" and method != "variational":
        raise ValueError("criterion='elbo' ranks variational fits: method must be "
                         f"'variational', got {method!r}")
    if criterion != "elbo" and method != "em":
        raise ValueError("model selection by BIC/ICL needs maximum-likelihood (or MAP) EM: "
                         f"method must be 'em', got {method!r} (variational fits are "
                         "ranked by criterion='elbo')")
    GaussianMixture(n_components=1, covariance_type=model, **params)._validate_params()


def _validate_X(X):
    """X as an array for the bookkeeping, and what the fits get (pandas keeps names)."""
    X_array = check_array(X, dtype=[np.float64, np.float32], ensure_min_samples=2)
    X_fit = X if hasattr(X, "columns") else X_array
    return X_array, X_fit


# ====================================================================== one fit
def _full_covariances(estimator) -> np.ndarray:
    """The fitted covariances as (k, d, d) matrices, whatever ``covariance_type``."""
    cov = np.asarray(estimator.covariances_, dtype=np.float64)
    k, d = np.shape(estimator.means_)
    if cov.ndim == 3:
        return cov
    if cov.ndim == 1:                           # spherical: one variance per component
        return cov[:, np.newaxis, np.newaxis] * np.eye(d)
    if cov.shape == (d, d) and estimator.covariance_type in ("tied", "EEE"):
        return np.broadcast_to(cov, (k, d, d))
    return cov[:, :, np.newaxis] * np.eye(d)    # diag: (k, d) variances


def _is_singular(estimator, reg_covar: float, singular_tol: float | None) -> bool:
    """Whether some component's empirical covariance is (numerically) singular."""
    covariances = _full_covariances(estimator)
    if singular_tol is None:
        eps = np.finfo(np.asarray(estimator.covariances_).dtype).eps
        singular_tol = max(1e-10, 100.0 * eps)
    d = covariances.shape[-1]
    scatter = covariances - reg_covar * np.eye(d)
    eigenvalues = np.linalg.eigvalsh(scatter)
    smallest, largest = eigenvalues[:, 0], eigenvalues[:, -1]
    return bool(np.any(smallest <= singular_tol * (np.maximum(largest, 0.0) + reg_covar)))


def _n_parameters(estimator=None, G=None, model=None, d=None) -> float:
    """Free parameters of a fitted estimator, or of model ``model`` at G (NaN unknown)."""
    if estimator is not None and hasattr(estimator, "_n_parameters"):
        return float(estimator._n_parameters())
    try:
        from ._covariance import get_covariance

        return float(get_covariance(model).n_parameters(G, d) + G * d + G - 1)
    except Exception:   # noqa: BLE001 - an unknown model: df is only informative here
        return np.nan


def _icl(estimator, X, bic: float) -> float:
    """ICL in scikit-learn's sign: the estimator's, or bic - 2 sum_i log max_k z_ik."""
    if hasattr(estimator, "icl"):
        return float(estimator.icl(X))
    z_max = np.max(estimator.predict_proba(X), axis=1).astype(np.float64)
    with np.errstate(divide="ignore"):
        return float(bic - 2.0 * np.sum(np.log(z_max)))


@dataclass
class _Cell:
    """The outcome of one fit of the grid."""

    G: int
    model: str
    values: dict            # loglik, df, bic, icl, aic (NaN when failed, but df)
    converged: bool = False
    reason: str | None = None
    estimator: Any = None


def _fit_cell(X, n_samples, n_features, G, model, params, start, singular_tol,
              keep=True) -> _Cell:
    """Fit one (G, model) cell; a hopeless fit becomes NaN values and a reason.

    ``keep=False`` (parallel workers) returns no estimator: only numbers cross the
    process boundary, and the caller refits the best cell (deterministic: fixed seed).
    """
    nan = {"loglik": np.nan, **dict.fromkeys(CRITERIA, np.nan),
           "df": _n_parameters(None, G, model, n_features)}
    if G > n_samples:
        return _Cell(G, model, nan, reason=f"fewer samples than components "
                                           f"(n_samples={n_samples} < {G})")
    if isinstance(start, str):  # the partition could not give this G a start
        return _Cell(G, model, nan, reason=start)
    cell_params = dict(params)
    if start is not None:
        cell_params.update(start, n_init=1)
    estimator = GaussianMixture(n_components=G, covariance_type=model, **cell_params)
    try:
        with warnings.catch_warnings():
            # Non-convergence is reported in SelectionResult.converged instead.
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X)
            values = {**nan, "loglik": estimator.score(X) * n_samples,
                      "df": _n_parameters(estimator)}
            if estimator.method == "variational":
                # The complete ELBO, a total over the samples with every constant, so it
                # compares across G and models; -2 ELBO reads like BIC (lower is better).
                values["elbo"] = -2.0 * float(estimator.lower_bound_)
            else:
                values.update(bic=float(estimator.bic(X)), aic=float(estimator.aic(X)))
                values["icl"] = _icl(estimator, X, values["bic"])
    except InvalidParameterError:
        raise
    except _FIT_ERRORS as exc:
        message = str(exc)
        reason = ("singular covariance (the fit raised: ill-defined empirical covariance)"
                  if "ill-defined empirical covariance" in message
                  else f"fit failed: {type(exc).__name__}: {message}")
        return _Cell(G, model, nan, reason=reason)
    reg_covar = float(cell_params.get("reg_covar", estimator.reg_covar))
    if _is_singular(estimator, reg_covar, singular_tol):
        return _Cell(G, model, {**nan, "df": values["df"]}, converged=estimator.converged_,
                     reason="singular covariance (a component collapsed: its empirical "
                            "covariance is singular, only reg_covar keeps it positive)")
    if not all(np.isfinite(values[name])
               for name in ("loglik", *_METHOD_CRITERIA[estimator.method])):
        return _Cell(G, model, {**nan, "df": values["df"]}, converged=estimator.converged_,
                     reason="non-finite log-likelihood")
    return _Cell(G, model, values, converged=bool(estimator.converged_),
                 estimator=estimator if keep else None)


# ====================================================================== starts
def _hc_available() -> bool:
    return importlib.util.find_spec("gaussmix._hierarchical") is not None


def _partition_source(init_params, partitions):
    """The callable (or mapping) that gives the starting partitions, or None."""
    if partitions is not None:
        if not (callable(partitions) or isinstance(partitions, Mapping)):
            raise TypeError("partitions must be a callable partitions(X, ks) or a mapping "
                            f"{{G: labels}}, got {type(partitions).__name__}")
        return partitions
    if init_params == "hc":
        if not _hc_available():
            raise ValueError("init_params='hc' needs gaussmix._hierarchical, which this "
                             "version of gaussmix does not have")
        from . import _hierarchical

        if hasattr(_hierarchical, "cached_hierarchical_tree"):
            # The estimator's own cache: a later GaussianMixture(init_params="hc") on
            # the same X (a refit of the best model, say) finds this tree.
            def hc_partitions(X, ks):
                tree = _hierarchical.cached_hierarchical_tree(X)
                return _hierarchical.hierarchical_labels(tree, ks)

            return hc_partitions
        return _hierarchical.hierarchical_labels
    return None


def _partitions(source, X, ks, n_distinct) -> dict:
    """{G: labels, or the reason there are none}: one call for every G (one tree)."""
    if isinstance(source, Mapping):
        return {G: source.get(G, f"partitions has no entry for G={G}") for G in ks}
    valid = [G for G in ks if G <= n_distinct]
    out = {G: f"fewer distinct rows than components ({n_distinct} < {G})"
           for G in ks if G > n_distinct}
    if valid:
        labels = source(X, valid)
        if isinstance(labels, Mapping):
            out.update({G: labels[G] for G in valid})
        else:
            labels = np.asarray(labels)
            if labels.ndim == 1:
                labels = labels[np.newaxis]
            if labels.shape[0] != len(valid):
                raise ValueError(f"the partition function returned {labels.shape[0]} "
                                 f"partitions for {len(valid)} numbers of components")
            out.update(zip(valid, labels))
    return out


def _start_from_labels(X, labels, G, model, reg_covar) -> dict | str:
    """weights_init, means_init, precisions_init: the M-step of a partition, for model.

    The M-step is the estimator's own (its covariance strategy), so a constrained
    model starts from parameters that satisfy its constraint.  A strategy that cannot
    be driven this way gets weights and means only (covariances then from the
    estimator's init_params).
    """
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],):
        raise ValueError(f"a partition must have one label per row ({X.shape[0]}), got "
                         f"shape {labels.shape}")
    groups, codes = np.unique(labels, return_inverse=True)
    if groups.size != G:
        return f"the starting partition has {groups.size} groups, not {G}"
    X64 = np.asarray(X, dtype=np.float64)
    resp = np.zeros((X64.shape[0], G))
    resp[np.arange(X64.shape[0]), codes] = 1.0
    nk = resp.sum(axis=0)
    start = {"weights_init": nk / nk.sum(), "means_init": (resp.T @ X64) / nk[:, np.newaxis]}
    try:
        from ._covariance import get_covariance
        from ._em import EMUpdates
        from ._initialization import stats_from_responsibilities

        cov = get_covariance(model)
        updates = EMUpdates(cov, reg_covar, float(np.finfo(np.float64).eps))
        params = updates.params_from_stats(*stats_from_responsibilities(X64, None, resp, cov))
        attributes = updates.to_attributes(params, np.float64)
        precisions = attributes["precisions_"]
        shape = tuple(cov.public_shape(G, X64.shape[1]))
        if precisions.shape != shape:
            precisions = np.broadcast_to(precisions, shape).copy()
        start.update(weights_init=attributes["weights_"], means_init=attributes["means_"],
                     precisions_init=precisions)
    except (AttributeError, TypeError, NotImplementedError, ValueError):
        pass   # weights and means only
    return start


# ====================================================================== running
def _run(function, tasks, n_jobs):
    """Yield function(*task) for every task (an iterable), in order: serially or with
    joblib (which consumes ``tasks`` lazily, a few ahead of the workers)."""
    if n_jobs is None or n_jobs == 1:
        for task in tasks:
            yield function(*task)
        return
    from joblib import Parallel, delayed

    yield from Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(function)(*task) for task in tasks)


# ====================================================================== the result
def _label(model, G) -> str:
    return f"{model},{G}"


def _require_matplotlib():
    """matplotlib's Figure, imported only when a plot is asked for."""
    if importlib.util.find_spec("matplotlib") is None:
        raise ImportError(_INSTALL_HINT, name="matplotlib")
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:   # present but broken
        raise ImportError(_INSTALL_HINT, name="matplotlib") from exc
    return Figure


@dataclass(repr=False)
class SelectionResult:
    """A grid of Gaussian mixture fits over (number of components, covariance model).

    Made by :func:`select`.  Every table is a :class:`pandas.DataFrame` indexed by the
    number of components G (``n_components``) with one column per covariance model
    (``covariance_type``), in scikit-learn's sign: *lower is better*.  mclust's BIC
    and ICL are minus these (:attr:`table_mclust`).

    Parameters
    ----------
    criterion : str
        The criterion that ranks the models: 'bic', 'icl' or 'aic' (EM fits) or
        'elbo' (variational fits: -2 ELBO).
    table : pandas.DataFrame
        The criterion of every fit (G x model), NaN where the fit is singular or
        impossible (see ``reasons``).
    criteria : dict of str to pandas.DataFrame
        The table of every criterion ('bic', 'icl', 'aic', 'elbo'), ``table`` among
        them; those the fits' method does not have ('elbo' of EM fits, the others of
        variational fits) are NaN.
    loglik : pandas.DataFrame
        The maximised log-likelihood (total over the samples) of every fit, NaN where
        the fit failed.
    df : pandas.DataFrame
        The number of free parameters of every model.
    reasons : pandas.DataFrame
        Why a cell is NaN ('singular covariance ...', 'fewer samples than components
        ...', 'fit failed: ...'), None where the fit is fine.
    converged : pandas.DataFrame
        Whether the best initialisation of every fit converged (False where failed).
    best_estimator_ : GaussianMixture
        The fitted estimator at the minimum of ``table``.
    best_params_ : dict
        Its ``n_components`` and ``covariance_type``.
    n_samples : int
        Number of samples the models were fitted to.
    n_top : int, default=3
        Models listed by :meth:`summary` and :meth:`top` by default.

    See Also
    --------
    select : Makes it.

    Examples
    --------
    >>> from gaussmix import load_faithful
    >>> from gaussmix import select
    >>> X, _ = load_faithful()
    >>> result = select(X, range(1, 4), ["full", "tied"], n_init=10)
    >>> result.table.shape
    (3, 2)
    >>> result.best_params_
    {'n_components': 3, 'covariance_type': 'tied'}
    """

    criterion: str
    table: pd.DataFrame
    criteria: dict
    loglik: pd.DataFrame
    df: pd.DataFrame
    reasons: pd.DataFrame
    converged: pd.DataFrame
    best_estimator_: GaussianMixture
    best_params_: dict
    n_samples: int
    n_top: int = 3

    @property
    def table_mclust(self) -> pd.DataFrame:
        """The criterion table in mclust's sign (higher is better): minus ``table``."""
        return -self.table

    @property
    def best_criterion_(self) -> float:
        """The criterion of the best model (scikit-learn's sign)."""
        G, model = self.best_params_["n_components"], self.best_params_["covariance_type"]
        return float(self.table.loc[G, model])

    def _ranking(self):
        """The finite cells as a Series indexed by (G, model), best first (stable)."""
        import pandas as pd

        values = self.table.to_numpy(dtype=np.float64)
        rows, cols = np.nonzero(np.isfinite(values))
        index = pd.MultiIndex.from_arrays([self.table.index[rows], self.table.columns[cols]])
        return pd.Series(values[rows, cols], index=index).sort_values(kind="stable")

    def top(self, n: int | None = None) -> pd.DataFrame:
        """The best ``n`` models, best first, as mclust's summary lists them.

        Parameters
        ----------
        n : int, default=None
            Number of models (``n_top`` when None); fewer when fewer fits succeeded.

        Returns
        -------
        pandas.DataFrame
            Indexed by mclust's labels "model,G", with columns ``covariance_type``,
            ``n_components``, the criterion (scikit-learn's sign) and ``delta``, its
            difference to the best (>= 0; mclust's "BIC diff" is minus it).

        See Also
        --------
        SelectionResult.summary : The same as text.

        Examples
        --------
        >>> from gaussmix import load_faithful
        >>> from gaussmix import select
        >>> X, _ = load_faithful()
        >>> result = select(X, range(1, 4), ["full", "tied"], n_init=10)
        >>> list(result.top(2).index)
        ['tied,3', 'full,2']
        """
        import pandas as pd

        n = self.n_top if n is None else n
        ranking = self._ranking().iloc[:max(int(n), 0)]
        rows = [{"covariance_type": model, "n_components": int(G), self.criterion: value,
                 "delta": value - ranking.iloc[0]} for (G, model), value in ranking.items()]
        index = [_label(model, G) for G, model in ranking.index]
        columns = ["covariance_type", "n_components", self.criterion, "delta"]
        return pd.DataFrame(rows, index=pd.Index(index, name="model"), columns=columns)

    def summary(self, n: int | None = None) -> str:
        """Text like mclust's summary: the top models, their criterion, the failed fits.

        Parameters
        ----------
        n : int, default=None
            Number of models listed (``n_top`` when None).

        Returns
        -------
        str
            "Top n models based on the BIC criterion: ..." with the values in
            scikit-learn's sign and mclust's, the mclust names of scikit-learn's
            covariance types, and a count of the NaN cells and of the fits that did
            not converge.

        See Also
        --------
        SelectionResult.top : The same as a table.

        Examples
        --------
        >>> from gaussmix import load_faithful
        >>> from gaussmix import select
        >>> X, _ = load_faithful()
        >>> print(select(X, range(1, 4), ["full", "tied"], n_init=10).summary(2))
        Top 2 models based on the BIC criterion:
                          tied,3      full,2
        BIC             2315.645    2322.192
        BIC diff           0.000       6.547
        mclust BIC     -2315.645   -2322.192
        mclust names: EEE,3 VVV,2
        scikit-learn sign, lower is better; mclust's BIC is minus it.
        """
        top = self.top(n)
        name = self.criterion.upper()
        plural = "s" if len(top) != 1 else ""
        lines = [f"Top {len(top)} model{plural} based on the {name} criterion:"]
        labels = list(top.index)
        width = max([12, *(len(label) + 2 for label in labels)])
        elbo = self.criterion == "elbo"
        head_width = 14 if elbo else 12
        if elbo:
            name = "-2 ELBO"
        rows = [("", labels),
                (name, [f"{v:.3f}" for v in top[self.criterion]]),
                (f"{name} diff", [f"{v:.3f}" for v in top["delta"]])]
        if not elbo:
            rows.append((f"mclust {name}", [f"{-v:.3f}" for v in top[self.criterion]]))
        for head, cells in rows:
            lines.append(f"{head:<{head_width}}"
                         + "".join(f"{c:>{width}}" for c in cells).rstrip())
        mclust = [_label(SKLEARN_TO_MCLUST.get(m, m), G)
                  for m, G in zip(top["covariance_type"], top["n_components"])]
        if mclust != labels:
            lines.append("mclust names: " + " ".join(mclust))
        lines.append("-2 x the evidence lower bound of the variational fits, lower is better."
                     if elbo else
                     f"scikit-learn sign, lower is better; mclust's {name} is minus it.")
        n_failed = int(self.table.isna().to_numpy().sum())
        if n_failed:
            kinds = [r.split(" (")[0].split(":")[0] for r in self.reasons.to_numpy().ravel()
                     if isinstance(r, str)]
            detail = ", ".join(f"{kinds.count(k)} {k}" for k in dict.fromkeys(kinds))
            lines.append(f"{n_failed} of {self.table.size} fits have no value: {detail}.")
        n_unconverged = int((~self.converged.to_numpy() & self.table.notna().to_numpy()).sum())
        if n_unconverged:
            lines.append(f"{n_unconverged} fits stopped at max_iter before converging.")
        return "\n".join(lines)

    def plot(self, ax=None, *, mclust_sign: bool = False) -> Figure:
        """The criterion against G, one line per model, the best model marked.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Draw on these axes; None makes a new figure (not registered with pyplot,
            so nothing is shown or kept alive by pyplot).
        mclust_sign : bool, default=False
            Plot mclust's sign (higher is better) instead of scikit-learn's.

        Returns
        -------
        matplotlib.figure.Figure
            The figure (``ax.figure`` when ``ax`` is given).

        Raises
        ------
        ImportError
            Without matplotlib (``pip install "gaussmix[plot]"``).

        See Also
        --------
        SelectionResult.summary : The top models as text.

        Examples
        --------
        >>> from gaussmix import load_faithful
        >>> from gaussmix import select
        >>> X, _ = load_faithful()
        >>> fig = select(X, range(1, 4), ["full", "tied"]).plot()
        >>> len(fig.axes[0].get_lines())
        2
        """
        Figure = _require_matplotlib()
        if ax is None:
            fig = Figure(figsize=(6.4, 4.4), layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.figure
        sign = -1.0 if mclust_sign else 1.0
        table = sign * self.table
        G = table.index.to_numpy()
        markers = "os^vD<>phX*P8d"
        for i, model in enumerate(table.columns):
            ax.plot(G, table[model].to_numpy(), marker=markers[i % len(markers)],
                    markersize=4, linewidth=1.2, label=str(model))
        best_G = self.best_params_["n_components"]
        best_model = self.best_params_["covariance_type"]
        ax.scatter([best_G], [table.loc[best_G, best_model]], s=180, marker="o",
                   facecolors="none", edgecolors="black", linewidths=1.8, zorder=3,
                   label=f"best: {_label(best_model, best_G)}")
        name = self.criterion.upper()
        ax.set_xlabel("number of components G")
        ax.set_ylabel(f"{'mclust ' if mclust_sign else ''}{name} "
                      f"({'higher' if mclust_sign else 'lower'} is better)")
        ax.set_xticks(G)
        ax.legend(fontsize="small", ncols=2 if table.shape[1] > 7 else 1)
        return fig

    def __repr__(self):
        G, model = self.best_params_["n_components"], self.best_params_["covariance_type"]
        n_failed = int(self.table.isna().to_numpy().sum())
        return (f"SelectionResult(criterion={self.criterion!r}, best={_label(model, G)!r}, "
                f"{self.criterion}={self.best_criterion_:.3f}, grid={self.table.shape[0]} G x "
                f"{self.table.shape[1]} models, n_failed={n_failed})")

    def _repr_html_(self):
        import html

        return (f"<pre>{html.escape(self.summary())}</pre>"
                + self.table.to_html(float_format=lambda v: f"{v:.3f}", na_rep="NaN"))


# ====================================================================== select
def select(X: ArrayLike, n_components: int | Iterable[int] = range(1, 10),
           covariance_type: str | Iterable[str] = "all", *, criterion: str = "bic",
           init_params: str | None = None, n_init: int = 1,
           random_state: int | np.random.RandomState | np.random.Generator | None = 0,
           n_jobs: int | None = None, progress: bool | None = None, top: int = 3,
           partitions: Callable | Mapping | None = None, singular_tol: float | None = None,
           **estimator_params) -> SelectionResult:
    """Fit a grid of Gaussian mixtures and rank them by BIC, ICL or AIC (as mclust).

    Every number of components G in ``n_components`` is fitted with every model in
    ``covariance_type`` (``GaussianMixture(G, covariance_type=model, n_init=n_init,
    init_params=init_params, random_state=random_state, **estimator_params)``, the
    same seed for every cell, so a cell is exactly the estimator fitted on its own).
    Criteria are in scikit-learn's sign, lower is better: ``bic = -2 log L + df log n``
    (mclust's BIC is minus it), ``icl = bic - 2 sum_i log max_k z_ik`` (mclust's ICL,
    minus), ``aic = -2 log L + 2 df``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data (a DataFrame keeps its column names in the fitted estimators).
    n_components : int or iterable of int, default=range(1, 10)
        The numbers of components G (mclust's default 1 to 9).
    covariance_type : str or iterable of str, default="all"
        Model names: "all" is mclust's 14 models when the estimator accepts them
        (:data:`MCLUST_MODELS`), else (and for ``method="variational"``)
        scikit-learn's 4 (:data:`SKLEARN_MODELS`).
    criterion : {"bic", "icl", "aic", "elbo"}, default="bic"
        The criterion of ``table`` and of the ranking.  "elbo" ranks variational
        fits (``method="variational"``, which needs it) by ``-2 ELBO``, minus twice
        their complete evidence lower bound (``lower_bound_``: a total over the
        samples with every constant of the prior, so it compares across G and
        covariance models; lower is better, as BIC, which approximates minus twice
        the log evidence that the ELBO bounds from below).
    init_params : str, default=None
        The estimator's ``init_params`` (None: its default, k-means).  "hc" starts
        every cell from one hierarchical tree, as mclust does (see ``partitions``).
    n_init : int, default=1
        Initialisations per cell (1 per cell when it starts from a partition).
    random_state : int, RandomState, Generator or None, default=0
        Seed of every cell's initialisation (a RandomState or Generator, or NumPy's
        global generator for None, draws one integer seed, used by every cell).
    n_jobs : int, default=None
        Cells fitted in parallel by :class:`joblib.Parallel` (-1: all cores).  None
        fits them one after another, each on all cores through the compiled kernels;
        see the module notes for the choice of backend.
    progress : bool or None, default=None
        A tqdm bar over the cells: None when tqdm is installed and standard error is a
        terminal, True always (ImportError without tqdm), False never.
    top : int, default=3
        Models listed by :meth:`SelectionResult.summary`.
    partitions : callable or mapping, default=None
        Starting partitions: ``partitions(X, ks)`` returning one label vector per G in
        ks (an array (len(ks), n_samples) or a mapping), called once for the whole
        grid, or a mapping ``{G: labels}``.  Every cell starts EM from the M-step of
        its G's partition under its own model.  None: with ``init_params="hc"`` the
        model-based hierarchical partitions of one tree, else no partition.
    singular_tol : float, default=None
        A fit is singular when some component's empirical covariance (fitted minus
        ``reg_covar * I``) has ``lambda_min <= singular_tol * (lambda_max +
        reg_covar)``; None is ``max(1e-10, 100 eps)`` of the fitted dtype.
    **estimator_params : dict
        Other :class:`~gaussmix.GaussianMixture` parameters (``tol``, ``max_iter``,
        ``reg_covar``, priors, ...), the same for every cell.

    Returns
    -------
    SelectionResult
        ``table`` (G x model), ``reasons``, ``loglik``, ``df``, ``best_estimator_``,
        ``best_params_``, :meth:`~SelectionResult.summary`,
        :meth:`~SelectionResult.top` and :meth:`~SelectionResult.plot`.

    Raises
    ------
    ValueError
        For an unknown model or criterion, empty or invalid ``n_components``, an
        estimator parameter the estimator rejects, or when no fit of the grid
        succeeded (the message gives the reasons).  A G larger than the number of
        samples is not an error: its cells are NaN with a reason.

    See Also
    --------
    bootstrap_lrt : Test G against G + 1 components by a parametric bootstrap.
    gaussmix.GaussianMixture.bic : The criterion of one fit.

    Notes
    -----
    Cost: one EM run per cell and initialisation; memory: one fitted estimator at a
    time (the best is kept).  mclust starts every cell from a hierarchical clustering;
    k-means starts (the default) can end in local optima, so ``n_init`` of 5 to 10
    gives more reliable tables.

    Examples
    --------
    >>> from gaussmix import load_faithful
    >>> from gaussmix import select
    >>> X, _ = load_faithful()
    >>> result = select(X, range(1, 5), ["spherical", "diag", "tied", "full"], n_init=10)
    >>> result.best_params_
    {'n_components': 3, 'covariance_type': 'tied'}
    >>> result.table.round(1)
    covariance_type  spherical    diag    tied    full
    n_components
    1                   4024.7  3055.8  2607.6  2607.6
    2                   3458.3  2346.1  2325.2  2322.2
    3                   3336.6  2332.5  2315.6  2334.9
    4                   3223.2  2344.6  2324.2  2359.8
    >>> result.table_mclust.loc[2, "full"].round(3)    # mclust's BIC of VVV,2
    np.float64(-2322.192)
    """
    criterion = _check_criterion(criterion)
    models = _resolve_models(covariance_type, estimator_params.get("method", "em"))
    ks = _resolve_components(n_components)
    if isinstance(n_init, bool) or not isinstance(n_init, numbers.Integral) or n_init < 1:
        raise ValueError(f"n_init must be an integer >= 1, got {n_init!r}")
    if isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1:
        raise ValueError(f"top must be an integer >= 1, got {top!r}")
    X_array, X_fit = _validate_X(X)
    n_samples, n_features = X_array.shape

    params = dict(estimator_params, n_init=int(n_init), random_state=_seed(random_state))
    source = _partition_source(init_params, partitions)
    if init_params is not None:
        accepted = _accepted("init_params")
        # Starting from a partition, init_params is not used by the fit: "hc" is passed
        # on only if the estimator knows it.
        if not (source is not None and accepted is not None and init_params not in accepted):
            params["init_params"] = init_params
    _check_estimator_params(params, models[0], criterion)

    starts = {G: dict.fromkeys(models) for G in ks}
    if source is not None:
        n_distinct = np.unique(X_array, axis=0).shape[0]
        reg_covar = float(params.get("reg_covar", GaussianMixture().reg_covar))
        for G, labels in _partitions(source, X_array, ks, n_distinct).items():
            starts[G] = {model: labels if isinstance(labels, str) else
                         _start_from_labels(X_array, labels, G, model, reg_covar)
                         for model in models}

    serial = n_jobs is None or n_jobs == 1
    tasks = {(G, model): (X_fit, n_samples, n_features, G, model, params, starts[G][model],
                          singular_tol, serial)
             for G in ks for model in models}
    cells = []
    with progress_bar(progress, len(tasks), "select") as bar:
        for cell in _run(_fit_cell, list(tasks.values()), n_jobs):
            cells.append(cell)
            bar.update(1)
    result = _result(cells, ks, models, criterion, n_samples, top)
    if result.best_estimator_ is None:   # fitted in a worker: refit it here
        G, model = result.best_params_["n_components"], result.best_params_["covariance_type"]
        result.best_estimator_ = _fit_cell(*tasks[G, model][:-1], keep=True).estimator
    return result


def _result(cells, ks, models, criterion, n_samples, top) -> SelectionResult:
    import pandas as pd

    index = pd.Index(ks, name="n_components")
    columns = pd.Index(models, name="covariance_type")

    def frame(dtype=np.float64):
        return pd.DataFrame(index=index, columns=columns, dtype=dtype)

    tables = {name: frame() for name in ("loglik", "df", *CRITERIA)}
    reasons = pd.DataFrame(None, index=index, columns=columns, dtype=object)
    converged = pd.DataFrame(False, index=index, columns=columns)
    best = None
    for cell in cells:
        for name, table in tables.items():
            table.loc[cell.G, cell.model] = cell.values[name]
        reasons.loc[cell.G, cell.model] = cell.reason
        converged.loc[cell.G, cell.model] = cell.converged
        value = cell.values[criterion]
        if cell.reason is None and (best is None or value < best[0]):
            best = (value, cell)
    if best is None:
        detail = sorted({c.reason for c in cells if c.reason})
        raise ValueError("no fit of the grid succeeded: " + "; ".join(detail))
    cell = best[1]
    return SelectionResult(
        criterion=criterion, table=tables[criterion],
        criteria={name: tables[name] for name in CRITERIA},
        loglik=tables["loglik"], df=tables["df"], reasons=reasons, converged=converged,
        best_estimator_=cell.estimator,
        best_params_={"n_components": cell.G, "covariance_type": cell.model},
        n_samples=n_samples, n_top=int(top),
    )


# ====================================================================== bootstrap LRT
def _rng(random_state) -> np.random.Generator:
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(int(random_state.randint(np.iinfo(np.int32).max)))
    return np.random.default_rng(random_state)


def _start_of(estimator) -> dict:
    """weights_init, means_init, precisions_init of a fitted estimator (warm start)."""
    weights = np.asarray(estimator.weights_, dtype=np.float64)
    return {"weights_init": weights / weights.sum(),
            "means_init": np.asarray(estimator.means_, dtype=np.float64),
            "precisions_init": np.asarray(estimator.precisions_, dtype=np.float64)}


def _split_start(estimator) -> dict | None:
    """A G + 1 start nesting a G fit: its heaviest component split along its major axis.

    EM from there cannot end below the G fit's likelihood by more than the split's
    first step, so the G + 1 fit of the statistic is never much worse than the G fit.
    """
    start = _start_of(estimator)
    k, d = start["means_init"].shape
    j = int(np.argmax(start["weights_init"]))
    values, vectors = np.linalg.eigh(_full_covariances(estimator)[j])
    shift = 0.5 * np.sqrt(max(values[-1], 0.0)) * vectors[:, -1]
    means = np.vstack([start["means_init"], start["means_init"][j] + shift])
    means[j] -= shift
    weights = np.append(start["weights_init"], start["weights_init"][j] / 2)
    weights[j] /= 2
    precisions = start["precisions_init"]
    try:
        from ._covariance import get_covariance

        cov = get_covariance(estimator.covariance_type)
        before, after = cov.public_shape(k, d), cov.public_shape(k + 1, d)
    except (ValueError, AttributeError):
        return None
    axes = [a for a, (b, c) in enumerate(zip(before, after)) if b != c]
    if axes:   # one precision per component: the new one is a copy of component j's
        axis = axes[0]
        precisions = np.concatenate([precisions, np.take(precisions, [j], axis=axis)],
                                    axis=axis)
    return {"weights_init": weights, "means_init": means, "precisions_init": precisions}


def _quiet_fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


def _fit_alternative(X, null, n_init, seed, covariance_type, params, warm=None):
    """The G + 1 fit: the best of n_init k-means starts, the split of the G fit and
    (replicates) EM from the observed G + 1 fit ``warm``, mclust's only start.

    On the observed data the third start would return the observed fit itself, so
    the observed statistic and the replicates come from the same procedure.
    """
    G = null.n_components + 1
    candidates = [{"n_init": n_init, "random_state": seed}]
    split = _split_start(null)
    if split is not None:
        candidates.append(dict(split, n_init=1))
    if warm is not None:
        candidates.append(dict(warm, n_init=1))
    best, error = None, None
    for candidate in candidates:
        try:
            fit = _quiet_fit(GaussianMixture(G, covariance_type=covariance_type,
                                             **{**params, **candidate}), X)
        except _FIT_ERRORS as exc:
            error = exc
            continue
        score = fit.score(X)
        if best is None or score > best[0]:
            best = (score, fit)
    if best is None:
        raise error
    return best[1]


def _lrt_replicate(X, start, warm, G, seed, n_init, covariance_type, params):
    """The G vs G + 1 statistic of one simulated data set (None when a fit failed).

    Only arrays reach a worker: the replicate ``X``, the generating model's ``start``
    (its weights, means and precisions: the null fit's warm start) and the observed
    G + 1 fit's ``warm`` start.
    """
    n_samples = X.shape[0]
    try:
        null = _quiet_fit(GaussianMixture(G, covariance_type=covariance_type,
                                          **{**params, **start, "n_init": 1}), X)
        alternative = _fit_alternative(X, null, n_init, int(seed), covariance_type, params,
                                       warm)
    except _FIT_ERRORS:
        return None
    return _statistic(alternative, null, X, n_samples)


def _simulations(generator, alternative, n_samples, seeds, n_init, covariance_type,
                 params):
    """Replicate tasks, each drawn when joblib asks for it (a fresh seed per draw)."""
    start, warm = _start_of(generator), _start_of(alternative)
    own_seed = generator.random_state
    try:
        for seed in seeds:
            # sample() draws with the estimator's random_state: a fresh seed per draw.
            # (generator is this module's own fit, never the caller's estimator.)
            generator.random_state = int(seed)
            X, _ = generator.sample(n_samples)
            yield (X, start, warm, generator.n_components, int(seed), n_init,
                   covariance_type, params)
    finally:
        generator.random_state = own_seed


def _statistic(alternative, null, X, n_samples):
    """2 (log L(G + 1) - log L(G)), at least 0: the G + 1 model contains the G model."""
    return max(2.0 * n_samples * (alternative.score(X) - null.score(X)), 0.0)


@dataclass(repr=False)
class LRTResult:
    """A sequential parametric-bootstrap likelihood-ratio test of G vs G + 1 components.

    Made by :func:`bootstrap_lrt`.  Test i compares ``n_components[i]`` components
    (the null) with one more.

    Parameters
    ----------
    covariance_type : str
        The covariance model of every fit.
    n_components : list of int
        The null numbers of components tested, 1, 2, ... in order.
    statistic : ndarray of shape (n_tests,)
        The observed statistic ``2 (log L(G + 1) - log L(G))``.
    p_value : ndarray of shape (n_tests,)
        ``(1 + #{replicates >= statistic}) / (1 + n_replicates)``.
    replicates : list of ndarray
        The bootstrap statistics of each test, simulated from the fitted G model.
    loglik : dict of int to float
        The observed maximised log-likelihood of each G fitted.
    n_replicates : int
        Bootstrap replicates per test.
    level : float
        The level of the tests.
    n_failed : ndarray of shape (n_tests,)
        Replicates discarded and redrawn because a fit raised.
    n_components_ : int
        The selected number of components: the first null not rejected (p-value above
        ``level``), or one more than the last null when every test rejected.

    See Also
    --------
    bootstrap_lrt : Makes it.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import bootstrap_lrt
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
    >>> result = bootstrap_lrt(X, "full", max_components=3, n_replicates=19, n_init=1)
    >>> result.n_components, result.n_components_
    ([1, 2], 2)
    """

    covariance_type: str
    n_components: list
    statistic: np.ndarray
    p_value: np.ndarray
    replicates: list
    loglik: dict
    n_replicates: int
    level: float
    n_failed: np.ndarray
    n_components_: int

    @property
    def table(self) -> pd.DataFrame:
        """One row per test ("1 vs 2", ...): statistic, p-value, failed replicates."""
        import pandas as pd

        index = pd.Index([f"{G} vs {G + 1}" for G in self.n_components], name="test")
        return pd.DataFrame({"statistic": self.statistic, "p_value": self.p_value,
                             "n_failed": self.n_failed}, index=index)

    def summary(self) -> str:
        """Text like mclust's summary of the sequential test.

        Returns
        -------
        str
            The model, the replicates, one line per test (statistic and bootstrap
            p-value) and the selected number of components.

        See Also
        --------
        LRTResult.table : The same as a DataFrame.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import bootstrap_lrt
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
        >>> result = bootstrap_lrt(X, "full", max_components=2, n_replicates=19, n_init=1)
        >>> print(result.summary())
        Bootstrap sequential LRT for the number of mixture components
        Model = full (mclust VVV), replicates = 19, level = 0.05
                        LRTS  bootstrap p-value
        1 vs 2       301.761         0.05
        Selected: 2 components (every test rejected at level 0.05: the largest G tested)
        """
        name = self.covariance_type
        alias = SKLEARN_TO_MCLUST.get(name)
        model = f"{name} (mclust {alias})" if alias else name
        lines = ["Bootstrap sequential LRT for the number of mixture components",
                 f"Model = {model}, replicates = {self.n_replicates}, level = {self.level:g}",
                 f"{'':8}{'LRTS':>12}  bootstrap p-value"]
        for G, stat, p in zip(self.n_components, self.statistic, self.p_value):
            lines.append(f"{f'{G} vs {G + 1}':<8}{stat:>12.3f}  {p:>11.4g}")
        rejected = self.p_value <= self.level
        if rejected.all():
            lines.append(f"Selected: {self.n_components_} components (every test rejected "
                         f"at level {self.level:g}: the largest G tested)")
        else:
            lines.append(f"Selected: {self.n_components_} components (first test not "
                         f"rejected at level {self.level:g})")
        if self.n_failed.sum():
            lines.append(f"{int(self.n_failed.sum())} replicates were redrawn after a fit "
                         "failed.")
        return "\n".join(lines)

    def plot(self, G: int = 1, ax=None) -> Figure:
        """The bootstrap distribution of the statistic of test G vs G + 1 (as mclust).

        Parameters
        ----------
        G : int, default=1
            The null number of components of the test (one of ``n_components``).
        ax : matplotlib.axes.Axes, default=None
            Draw on these axes; None makes a new figure (not registered with pyplot).

        Returns
        -------
        matplotlib.figure.Figure
            A density histogram of the replicates and a vertical line at the observed
            statistic.

        Raises
        ------
        ImportError
            Without matplotlib (``pip install "gaussmix[plot]"``).
        ValueError
            If test G vs G + 1 was not run.

        See Also
        --------
        LRTResult.summary : The tests as text.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import bootstrap_lrt
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
        >>> result = bootstrap_lrt(X, "full", max_components=2, n_replicates=19, n_init=1)
        >>> fig = result.plot(1)
        >>> fig.axes[0].get_title()
        'Bootstrap LRT for model full with 1 vs 2 components'
        """
        if G not in self.n_components:
            raise ValueError(f"no test {G} vs {G + 1}: the tests run were "
                             f"{[f'{g} vs {g + 1}' for g in self.n_components]}")
        Figure = _require_matplotlib()
        if ax is None:
            fig = Figure(figsize=(6.4, 4.4), layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.figure
        i = self.n_components.index(G)
        ax.hist(self.replicates[i], bins="auto", density=True, color="0.75",
                edgecolor="0.9", label=f"{self.replicates[i].size} bootstrap replicates")
        ax.axvline(self.statistic[i], color="forestgreen", linestyle=":", linewidth=2,
                   label=f"observed {self.statistic[i]:.3f} (p = {self.p_value[i]:.4g})")
        ax.set_xlabel("LRTS")
        ax.set_ylabel("density")
        ax.set_title(f"Bootstrap LRT for model {self.covariance_type} with {G} vs {G + 1} "
                     "components")
        ax.legend(fontsize="small")
        return fig

    def __repr__(self):
        tests = ", ".join(f"{G} vs {G + 1}: p={p:.4g}"
                          for G, p in zip(self.n_components, self.p_value))
        return (f"LRTResult(covariance_type={self.covariance_type!r}, "
                f"n_components_={self.n_components_}, {tests})")


def bootstrap_lrt(X: ArrayLike, covariance_type: str = "full", max_components: int = 9, *,
                  n_replicates: int = DEFAULT_N_REPLICATES, level: float = 0.05,
                  test_all: bool = False, n_init: int = 3,
                  random_state: int | np.random.Generator | np.random.RandomState | None = 0,
                  n_jobs: int | None = None, progress: bool | None = None,
                  **estimator_params) -> LRTResult:
    """Parametric bootstrap likelihood-ratio test of G vs G + 1 (mclustBootstrapLRT).

    For G = 1, 2, ..., the statistic ``2 (log L(G + 1) - log L(G))`` of the data is
    compared with its distribution under the fitted G-component model: each replicate
    draws ``n_samples`` rows from that model, fits G components (EM started at the
    generating model) and G + 1 components (the best of EM from the observed G + 1
    fit, mclust's start, of ``n_init`` k-means starts and of a start that splits the
    heaviest component of the G fit, which nests the G fit so the statistic is not
    understated), and computes the statistic again.  The
    p-value is ``(1 + #{replicates >= observed}) / (1 + n_replicates)``.  As in mclust,
    the sequence stops at the first G not rejected at ``level``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data.
    covariance_type : str, default="full"
        The covariance model of every fit (mclust's VVV; any name the estimator
        accepts).
    max_components : int, default=9
        The largest G + 1 tested: the tests are 1 vs 2, ..., (max - 1) vs max
        (mclust's maxG is max - 1).
    n_replicates : int, default=1999
        Bootstrap replicates per test.  mclust's default is 999; gaussmix's fits are
        fast, and 1999 halves the Monte Carlo variance of a p-value (its standard
        error at p = 0.05 is 0.005 instead of 0.007) while keeping ``(B + 1) level``
        an integer for the usual levels.
    level : float, default=0.05
        A null is rejected when its p-value is at most ``level``.
    test_all : bool, default=False
        Test every G up to ``max_components - 1`` instead of stopping at the first
        null not rejected.
    n_init : int, default=3
        Number of k-means starts of every G + 1 fit (observed and replicates alike, so that the
        observed statistic and its bootstrap distribution are computed the same way);
        the observed G = 1 fit is unique.
    random_state : int, Generator, RandomState or None, default=0
        Seeds the replicates (each replicate has its own seed, so results do not
        depend on ``n_jobs``) and the starts.
    n_jobs : int, default=None
        Replicates fitted in parallel with joblib (see :func:`select`).
    progress : bool or None, default=None
        A tqdm bar per test (see :func:`select`).
    **estimator_params : dict
        Other :class:`~gaussmix.GaussianMixture` parameters for every fit.  ``tol``
        defaults to 1e-5 here (the estimator's 1e-3 per sample leaves the statistic
        uncertain by a few tenths) and ``max_iter`` to 500.

    Returns
    -------
    LRTResult
        The statistics, p-values and bootstrap replicates of each test,
        :meth:`LRTResult.summary` and the selected ``n_components_``.

    Raises
    ------
    ValueError
        For invalid arguments, or ``max_components`` larger than the number of samples.
    RuntimeError
        If more than ``n_replicates`` replicates of one test failed.

    See Also
    --------
    select : Rank models by BIC or ICL.

    Notes
    -----
    A parametric bootstrap calibrates the statistic as it is computed: the observed
    statistic and the replicates go through the same G + 1 fitting procedure, so
    local optima of the G + 1 fits change the test's power, not its level.  The
    statistic is clipped at 0 (the G + 1 model contains the G model).

    Cost per test: ``n_replicates`` x (one warm-started G fit + ``n_init`` + 2 G + 1
    fits), each on ``n_samples`` rows.  On Old Faithful (272 rows, 'full', 2 vs 3), a
    replicate takes 0.05 to 0.1 s on one core, so the default 1999 replicates take 2
    to 3 minutes per test serially; ``n_jobs`` divides that by the cores used.

    References
    ----------
    McLachlan, G. J. (1987).  On bootstrapping the likelihood ratio test statistic for
    the number of components in a normal mixture.  Applied Statistics 36, 318-324.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import bootstrap_lrt
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
    >>> result = bootstrap_lrt(X, "full", max_components=3, n_replicates=19, n_init=1)
    >>> result.statistic.round(1)
    array([301.8,  15.5])
    >>> float(result.p_value[0])         # 19 replicates: the smallest p-value is 1/20
    0.05
    >>> bool(result.p_value[1] > 0.05), result.n_components_  # 2 vs 3 not rejected
    (True, 2)
    """
    models = _resolve_models(covariance_type)
    if len(models) != 1:
        raise ValueError("bootstrap_lrt tests one covariance model: give one name")
    model = models[0]
    for name, value, low in (("max_components", max_components, 2),
                             ("n_replicates", n_replicates, 1), ("n_init", n_init, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not (isinstance(level, numbers.Real) and 0.0 < level < 1.0):
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    X_array, X_fit = _validate_X(X)
    n_samples = X_array.shape[0]
    if max_components > n_samples:
        raise ValueError(f"max_components={max_components} is larger than the number of "
                         f"samples ({n_samples})")
    params = {"tol": 1e-5, "max_iter": 500, **estimator_params}
    _check_estimator_params({**params, "n_init": n_init}, model)
    rng = _rng(random_state)

    fits = {1: _quiet_fit(GaussianMixture(1, covariance_type=model, **params), X_fit)}
    tested, statistics, p_values, replicates, failed = [], [], [], [], []
    for G in range(1, int(max_components)):
        fits[G + 1] = _fit_alternative(X_fit, fits[G], int(n_init),
                                       int(rng.integers(np.iinfo(np.int32).max)), model,
                                       params)
        observed = _statistic(fits[G + 1], fits[G], X_fit, n_samples)
        generator = fits[G]
        values, n_failed = [], 0
        with progress_bar(progress, int(n_replicates), f"LRT {G} vs {G + 1}") as bar:
            while len(values) < n_replicates:
                seeds = rng.integers(np.iinfo(np.int32).max, size=n_replicates - len(values))
                tasks = _simulations(generator, fits[G + 1], n_samples, seeds, int(n_init),
                                     model, params)
                for value in _run(_lrt_replicate, tasks, n_jobs):
                    if value is None:
                        n_failed += 1
                    else:
                        values.append(value)
                        bar.update(1)
                if n_failed > n_replicates:
                    raise RuntimeError(f"bootstrap_lrt: {n_failed} replicates of {G} vs "
                                       f"{G + 1} could not be fitted")
        values = np.asarray(values, dtype=np.float64)
        p_value = (1.0 + np.sum(values >= observed)) / (1.0 + values.size)
        tested.append(G)
        statistics.append(observed)
        p_values.append(p_value)
        replicates.append(values)
        failed.append(n_failed)
        if p_value > level and not test_all:
            break
    p_values = np.asarray(p_values)
    not_rejected = np.flatnonzero(p_values > level)
    selected = tested[not_rejected[0]] if not_rejected.size else tested[-1] + 1
    return LRTResult(
        covariance_type=model, n_components=tested, statistic=np.asarray(statistics),
        p_value=p_values, replicates=replicates,
        loglik={G: float(fit.score(X_fit) * n_samples) for G, fit in fits.items()},
        n_replicates=int(n_replicates), level=float(level),
        n_failed=np.asarray(failed, dtype=np.int64), n_components_=int(selected),
    )
