"""Model comparison: PSIS-LOO corrected for the approximation, or exact K-fold CV.

The draws in a gaussmix DataTree come from a variational posterior q, not from the
posterior p.  :func:`loo` therefore uses :func:`arviz_stats.loo_approximate_posterior`,
which reweights the draws by p / q (``sample_stats.lp``, or ``log_p`` in older
DataTrees, and ``log_q``; see :mod:`gaussmix.diagnostics._arviz`) before
Pareto-smoothed importance sampling, or :func:`arviz_stats.loo_subsample` with the same
correction for sub-sampled PSIS-LOO on large data.

:func:`compare_models` estimates every model's expected log predictive density (elpd)
in one of two ways and ranks the models with :func:`arviz_stats.compare`:

* PSIS-LOO (:func:`loo`) when every model is a variational fit and its Pareto k-hat
  diagnostics say the importance sampling can be trusted;
* exact K-fold cross-validation (:func:`arviz_stats.loo_kfold`) otherwise: each model
  is refitted on the training rows of every fold, warm-started from the fit (cheap for
  mixtures), and scored on the held-out rows with its posterior predictive density
  (variational) or its fitted density (EM).  The folds are the same for every model.

The elpd of all the models in one table always comes from the same estimator, named
in the table's ``elpd_method`` column.
"""

from __future__ import annotations

import copy
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .._validation import check_sample_weight, check_scalar
from ._arviz import to_datatree
from ._progress import progress_bar

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd
    import xarray as xr
    from arviz_stats import ELPDData

    from .._gaussian_mixture import GaussianMixture

CV_OPTIONS = ("auto", "loo", "kfold")
LOO_METHOD = "psis-loo"
# arviz_stats warns about high Pareto k itself; compare_models reports it in the table.
_KHAT_WARNING = "Estimated shape parameter of Pareto distribution"


def loo(dt: xr.DataTree, pointwise: bool = True, *,
        observations: int | npt.ArrayLike | None = None, seed: int = 0) -> ELPDData:
    """Compute PSIS-LOO of a DataTree, corrected for the variational approximation.

    The draws of a variational fit come from the approximate posterior q, so they are
    reweighted by p / q (``sample_stats.lp``, or ``log_p``, and ``log_q``) before
    Pareto-smoothed importance sampling (:func:`arviz_stats.loo_approximate_posterior`).
    A DataTree without those variables gets plain :func:`arviz_stats.loo`.

    Parameters
    ----------
    dt : xarray.DataTree
        From :meth:`GaussianMixture.to_arviz` with ``X``, of a variational fit.
    pointwise : bool, default=True
        Keep the pointwise elpd and Pareto k (needed by :func:`arviz_stats.compare`).
    observations : int or array-like of int, default=None
        Sub-sampled PSIS-LOO (:func:`arviz_stats.loo_subsample`, with the same p / q
        correction): PSIS runs on this many observations of the log-likelihood group
        drawn at random (or on these indices), and the elpd of all of them is estimated
        by the difference estimator of Magnusson et al. (2019), whose
        ``subsampling_se`` is the error due to the subsample.  None runs PSIS on every
        observation.
    seed : int, default=0
        Seed of the sub-sample (the same seed gives the same observations for every
        model of the same data, as :func:`arviz_stats.compare` needs).

    Returns
    -------
    arviz_stats.ELPDData
        As :func:`arviz_stats.loo` (:func:`arviz_stats.loo_subsample` with
        ``observations``); ``approx_posterior`` is True when the log p / log q
        correction was applied, ``good_k`` is the Pareto k-hat threshold for the
        number of draws S, min(1 - 1 / log10(S), 0.7).

    Raises
    ------
    ValueError
        When the DataTree has no ``log_likelihood`` group (``to_arviz`` was called
        without X) or no ``posterior`` group (an EM fit).

    See Also
    --------
    compare_models : Rank several fits by PSIS-LOO or K-fold cross-validation.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> from gaussmix.diagnostics import loo
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, method="variational", n_init=2, random_state=0).fit(X)
    >>> dt = model.to_arviz(X, n_draws=200, random_state=0)
    >>> result = loo(dt)
    >>> bool(result.approx_posterior)
    True
    >>> result.pareto_k.shape
    (272,)

    Sub-sampled PSIS-LOO on 100 of the 272 observations estimates the same total:

    >>> sub = loo(dt, observations=100)
    >>> int(sub.subsample_size), int(sub.n_data_points)
    (100, 272)
    >>> bool(abs(sub.elpd - result.elpd) < 3 * sub.subsampling_se)
    True
    """
    import arviz_stats as azs

    if "log_likelihood" not in dt.children:
        raise ValueError("the DataTree has no log_likelihood group: call to_arviz(X) with the "
                         "data to compute LOO")
    if "posterior" not in dt.children:
        raise ValueError("LOO needs posterior draws: fit with method='variational' (EM gives "
                         "point estimates)")
    stats = dt.children.get("sample_stats")
    log_p = log_q = None
    if stats is not None and "log_q" in stats.data_vars:
        name = next((v for v in ("lp", "log_p") if v in stats.data_vars), None)
        if name is not None:
            log_p, log_q = stats[name], stats["log_q"]
    if observations is not None:
        if not isinstance(observations, int):
            observations = np.asarray(observations, dtype=np.intp)
        # The draws are independent (r_eff = 1); it only matters without log p / log q.
        return azs.loo_subsample(dt, observations, pointwise=pointwise, reff=1.0,
                                 log_p=log_p, log_q=log_q, seed=seed)
    if log_p is not None:
        return azs.loo_approximate_posterior(dt, log_p, log_q, pointwise=pointwise)
    return azs.loo(dt, pointwise=pointwise)


def compare_models(
    models: dict[str, GaussianMixture],
    X: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
    cv: str = "auto",
    n_folds: int = 10,
    max_high_k: float = 0.01,
    n_draws: int = 200,
    max_obs: int = 2000,
    random_state: int = 0,
    method: str = "stacking",
    round_to: int | str = "auto",
    progress: bool | None = None,
) -> pd.DataFrame:
    """Rank fitted mixtures by their expected log predictive density (elpd).

    The elpd of every model is estimated by PSIS-LOO, corrected for the variational
    approximation (:func:`loo`), when that can be trusted, and otherwise by exact
    K-fold cross-validation; the models are then ranked and weighted by
    :func:`arviz_stats.compare`.  All the models of one table get the same estimator,
    so that their elpd are comparable.

    With ``cv='auto'`` K-fold cross-validation replaces PSIS-LOO for every model when

    * one of the models is an EM fit (no posterior to sample), or
    * for one of the models more than ``max(1, max_high_k * m)`` of the m observations
      PSIS ran on have a Pareto k-hat above ``good_k`` = min(1 - 1 / log10(S), 0.7)
      for S draws: the importance sampling, hence the LOO estimate, is not reliable
      (typically a component the data do not support, whose variational posterior is
      far from the exact one).

    K-fold: the rows are split into ``n_folds`` folds (a seeded shuffle, the same for
    every model).  For each fold a copy of the model is refitted on the other folds,
    warm-started from the fitted model (``warm_start=True``, so a few iterations
    suffice; the refit converges to an optimum of the training rows, only the choice
    of that optimum among the local ones is guided by the full fit), and the held-out
    rows are scored by the refit's posterior predictive density
    (:meth:`GaussianMixture.score_samples_predictive`, exact) for a variational model
    or its fitted density (:meth:`GaussianMixture.score_samples`) for an EM model.
    ``elpd`` sums those held-out log densities over the rows, ``se`` is
    sqrt(n) times their standard deviation, ``dse`` sqrt(n) times the standard
    deviation of the pointwise difference with the best model, and ``p`` the in-sample
    log density of the full fit minus ``elpd`` (:func:`arviz_stats.loo_kfold`).

    Parameters
    ----------
    models : dict of {str: GaussianMixture}
        Fitted models on the same X, e.g. ``{"k=2": m2, "k=3": m3}``; they may differ in
        ``method``, ``n_components``, ``covariance_type`` or priors.
    X : array-like of shape (n_samples, n_features)
        The data every model was fitted to.
    sample_weight : array-like of shape (n_samples,), default=None
        The weights given to ``fit``, if any.  They enter the posterior of PSIS-LOO and
        the refits of K-fold; each row counts once in the elpd.
    cv : {'auto', 'loo', 'kfold'}, default='auto'
        'auto' as described above; 'loo' always uses PSIS-LOO (variational fits only;
        a UserWarning says when k-hat is too high for it); 'kfold' always uses K-fold.
    n_folds : int, default=10
        Folds of the K-fold cross-validation (2 <= n_folds <= n_samples).
    max_high_k : float, default=0.01
        Fraction of the observations (at least one is always tolerated) that may have a
        Pareto k-hat above ``good_k`` before ``cv='auto'`` switches to K-fold.
    n_draws : int, default=200
        Posterior draws of each model for PSIS-LOO (their number S sets ``good_k``).
    max_obs : int, default=2000
        When X has more rows, PSIS-LOO is sub-sampled (:func:`arviz_stats.loo_subsample`
        with the p / q correction, the same ``max_obs`` rows for every model): the elpd
        still estimates the sum over all rows, and the table gets a
        ``subsampling_dse`` column for the error due to the subsample (the stacking
        weights take, for a row outside the subsample, its in-sample approximation
        shifted by the subsample's mean correction, so that the rows sum to the
        elpd estimate).  The pointwise
        log-likelihood of every row under every draw is then held in memory
        (``n_draws * n_samples`` floats, in a DataTree of all rows), so lower
        ``n_draws`` (or use ``cv='kfold'``, which needs O(n_samples)) for very large X.
        K-fold always uses every row.
    random_state : int, default=0
        Seed of the draws, of the PSIS sub-sample and of the folds, shared by every model.
    method : {'stacking', 'BB-pseudo-BMA', 'pseudo-BMA'}, default='stacking'
        How :func:`arviz_stats.compare` weighs the models.
    round_to : int or {'auto', 'none'}, default='auto'
        Rounding of the table, as in :func:`arviz_stats.compare` ('none' keeps every
        digit).
    progress : bool or None, default=None
        A tqdm progress bar: None shows one when tqdm is installed and standard error
        is a terminal, True always (ImportError without tqdm: ``pip install
        "gaussmix[progress]"``), False never.

    Returns
    -------
    pandas.DataFrame
        The table of :func:`arviz_stats.compare`, best model first: ``rank``, ``elpd``
        (higher is better) and its ``se``, ``elpd_diff`` and ``dse`` against the best,
        ``p_worse``, ``diag_diff``, ``diag_elpd`` (high Pareto k in PSIS-LOO), ``p``
        (effective number of parameters), ``weight``; and two more columns:
        ``elpd_method``, the estimator ('psis-loo', 'psis-loo-subsample(m)' or
        'kfold(K)'), and ``high_k``, how many observations had a Pareto k-hat above
        ``good_k`` in PSIS-LOO (<NA> when PSIS-LOO was not run for the model).
        ``attrs`` holds ``elpd_method``, ``reason`` (why K-fold was used, or '') and
        ``n_observations``.

    Raises
    ------
    ValueError
        When ``models`` is not a dict of at least two fitted models, the models were
        fitted on different numbers of features or X has another, ``cv`` is not one
        of the options, or ``cv='loo'`` is given an EM fit.
    TypeError
        When a model is not a :class:`~gaussmix.GaussianMixture`.
    ImportError
        When ``progress=True`` and tqdm is not installed.

    See Also
    --------
    loo : PSIS-LOO of one model's DataTree.
    arviz_stats.compare : The ranking and weights.

    Examples
    --------
    On Old Faithful a third component is not supported by the data: the variational
    fit leaves it empty, PSIS-LOO fails for it (Pareto k-hat too high for almost every
    eruption) and would rank it first; compare_models switches to 10-fold
    cross-validation, which ranks two components first.

    >>> from gaussmix import GaussianMixture, compare_models, load_faithful
    >>> X, _ = load_faithful()
    >>> fits = {f"k={k}": GaussianMixture(k, method="variational", n_init=2,
    ...                                   random_state=0).fit(X) for k in (2, 3)}
    >>> table = compare_models(fits, X)
    >>> list(table.index)    # best first
    ['k=2', 'k=3']
    >>> table["elpd_method"].tolist()
    ['kfold(10)', 'kfold(10)']
    >>> bool(table.loc["k=3", "high_k"] > 200)    # of 272 observations
    True

    EM fits are compared by K-fold cross-validation too:

    >>> em = {f"em k={k}": GaussianMixture(k, random_state=0).fit(X) for k in (1, 2)}
    >>> table = compare_models(em, X)
    >>> list(table.index), table.attrs["elpd_method"]
    (['em k=2', 'em k=1'], 'kfold(10)')
    """
    import arviz_stats as azs
    import pandas as pd

    X = _check_models(models, X)
    n = X.shape[0]
    w = check_sample_weight(sample_weight, n)
    if cv not in CV_OPTIONS:
        raise ValueError(f"cv must be one of {CV_OPTIONS}, got {cv!r}")
    check_scalar(n_folds, "n_folds", "int", low=2, high=n)
    check_scalar(max_high_k, "max_high_k", "real", low=0.0, high=1.0)
    check_scalar(n_draws, "n_draws", "int", low=2)
    check_scalar(max_obs, "max_obs", "int", low=2)
    check_scalar(random_state, "random_state", "int", low=0)

    em_fits = [name for name, model in models.items() if model.method != "variational"]
    if cv == "loo" and em_fits:
        raise ValueError(f"cv='loo' needs variational fits (PSIS-LOO needs a posterior); "
                         f"{em_fits} are EM fits: use cv='auto' or 'kfold'")
    loo_results, high_k, reason = {}, {}, ""
    if cv == "kfold":
        reason = "cv='kfold'"
    elif em_fits:
        reason = (f"{', '.join(map(repr, em_fits))} "
                  f"{'is an EM fit' if len(em_fits) == 1 else 'are EM fits'} (no posterior "
                  "for PSIS-LOO)")
    else:
        subsample = max_obs if n > max_obs else None
        with progress_bar(progress, len(models), "PSIS-LOO") as pbar:
            for name, model in models.items():
                dt = to_datatree(model, X, sample_weight=w, n_draws=n_draws,
                                 max_obs=n if subsample else max_obs, random_state=random_state)
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message=_KHAT_WARNING)
                    loo_results[name] = loo(dt, observations=subsample, seed=random_state)
                pbar.update()
        untrusted = {}
        for name, result in loo_results.items():
            n_high, n_checked = _count_high_k(result)
            high_k[name] = n_high
            if n_high > max(1.0, max_high_k * n_checked):
                untrusted[name] = (n_high, n_checked, result.good_k)
        if untrusted:
            reason = "PSIS-LOO is unreliable for " + ", ".join(
                f"{name!r} ({n_high} of {n_checked} observations with Pareto k-hat > {good:.2f})"
                for name, (n_high, n_checked, good) in untrusted.items())
            if cv == "loo":
                warnings.warn(f"{reason}: their elpd may be far off (cv='auto' or 'kfold' "
                              "uses exact K-fold cross-validation instead)", UserWarning,
                              stacklevel=2)
                reason = ""

    if reason:
        folds = _fold_labels(n, n_folds, random_state)
        with progress_bar(progress, len(models) * n_folds, "K-fold refits") as pbar:
            results = {name: _kfold(model, X, w, folds, pbar) for name, model in models.items()}
        elpd_method = f"kfold({n_folds})"
        reason = f"K-fold cross-validation for every model: {reason}"
    else:
        results = loo_results
        elpd_method = LOO_METHOD
        if n > max_obs:
            elpd_method = f"psis-loo-subsample({max_obs})"
            for result in results.values():
                _fill_subsampled(result)

    table = azs.compare(results, method=method, round_to=round_to)
    table["elpd_method"] = elpd_method
    table["high_k"] = pd.array([high_k.get(name) for name in table.index], dtype="Int64")
    table.attrs = {"elpd_method": elpd_method, "reason": reason, "n_observations": int(n)}
    return table


# --------------------------------------------------------------------- helpers
def _check_models(models, X):
    """Validate ``models`` and X; return X (a DataFrame as it is, else a 2-D float array)."""
    from sklearn.utils.validation import check_array, check_is_fitted

    from .._gaussian_mixture import GaussianMixture

    if not isinstance(models, dict) or len(models) < 2:
        raise ValueError("models must be a dict of at least two fitted models, e.g. "
                         "{'k=2': m2, 'k=3': m3}")
    for name, model in models.items():
        if not isinstance(model, GaussianMixture):
            raise TypeError(f"model {name!r} is a {type(model).__name__}, not a fitted "
                            "gaussmix.GaussianMixture")
        check_is_fitted(model)
    n_features = {name: int(model.n_features_in_) for name, model in models.items()}
    if len(set(n_features.values())) > 1:
        raise ValueError(f"the models were fitted on different numbers of features: "
                         f"{n_features}; compare models of the same data")
    checked = check_array(X, dtype=[np.float64, np.float32], ensure_min_samples=2)
    expected = next(iter(n_features.values()))
    if checked.shape[1] != expected:
        raise ValueError(f"X has {checked.shape[1]} features, but the models were fitted on "
                         f"{expected}")
    # A DataFrame stays one, so that models fitted with feature names see them.
    return X if hasattr(X, "iloc") else checked


def _rows(X, rows):
    """Rows of an array or a DataFrame."""
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def _count_high_k(result):
    """(observations with Pareto k-hat > good_k, observations PSIS ran on)."""
    k = np.asarray(result.pareto_k, dtype=np.float64).ravel()
    k = k[~np.isnan(k)]  # loo_subsample leaves NaN outside its sub-sample
    return int(np.sum(k > result.good_k)), int(k.size)


def _fill_subsampled(result):
    """Pointwise elpd outside the sub-sample of :func:`arviz_stats.loo_subsample`.

    loo_subsample leaves NaN there, which :func:`arviz_stats.compare` cannot stack.
    Each such row gets its approximation (``elpd_loo_approx``, the log predictive
    density under the posterior) plus the mean correction of the sub-sample
    (elpd_i - approximation): the values then sum to the difference estimator of the
    elpd, and the differences between models (computed on the sub-sample) are unchanged.
    """
    elpd_i = result.elpd_i
    approx = np.asarray(result.elpd_loo_approx, dtype=np.float64).reshape(elpd_i.shape)
    values = np.asarray(elpd_i, dtype=np.float64)
    outside = np.isnan(values)
    correction = np.nanmean(values - approx)
    result.elpd_i = elpd_i.copy(data=np.where(outside, approx + correction, values))


def _fold_labels(n, n_folds, random_state):
    """Fold of each row (1 to n_folds), from a seeded shuffled KFold."""
    from sklearn.model_selection import KFold

    labels = np.empty(n, dtype=np.int64)
    splitter = KFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    for fold, (_, test) in enumerate(splitter.split(np.empty((n, 1)))):
        labels[test] = fold + 1
    return labels


def _log_predictive(model, X):
    """log p(x_i | data the model saw): posterior predictive (variational) or fitted density."""
    if model.method == "variational":
        return np.asarray(model.score_samples_predictive(X), dtype=np.float64)
    return np.asarray(model.score_samples(X), dtype=np.float64)


def _kfold(model, X, sample_weight, folds, pbar):
    """Exact K-fold cross-validation of one model (:func:`arviz_stats.loo_kfold`).

    Each fold's refit gives the exact predictive density of the held-out rows, so it
    enters arviz_stats as a single "draw": the log of the mean over draws is the value.
    """
    import arviz_stats as azs
    import xarray as xr
    from sklearn.exceptions import ConvergenceWarning

    n = X.shape[0]

    def as_log_likelihood(values, rows):
        return xr.DataArray(values[np.newaxis, np.newaxis], dims=("chain", "draw", "obs_id"),
                            coords={"chain": [0], "draw": [0], "obs_id": rows})

    class Refit(azs.SamplingWrapper):
        """Warm-started refits of ``model`` on the training rows of a fold."""

        def sel_observations(self, idx):
            test = np.asarray(idx, dtype=np.intp)
            train = np.setdiff1d(np.arange(n), test)
            return train, test

        def sample(self, modified_observed_data):
            train = modified_observed_data
            refit = copy.deepcopy(self.model)
            refit.set_params(warm_start=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                refit.fit(_rows(X, train),
                          sample_weight=None if sample_weight is None else sample_weight[train])
            return refit

        def get_inference_data(self, fitted_model):
            return fitted_model

        def log_likelihood__i(self, excluded_obs, idata__i):
            values = as_log_likelihood(_log_predictive(idata__i, _rows(X, excluded_obs)),
                                       excluded_obs)
            pbar.update()
            return values

    # The full fit's in-sample log density: arviz_stats' p_kfold = lpd - elpd_kfold.
    full = xr.DataTree.from_dict({"log_likelihood": xr.Dataset(
        {"x": as_log_likelihood(_log_predictive(model, X), np.arange(n))})})
    return azs.loo_kfold(full, Refit(model), pointwise=True, folds=folds)
