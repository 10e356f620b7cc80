"""Model comparison by PSIS-LOO: variational fits with different settings.

The draws in a gaussmix DataTree come from the variational posteriors q of the
restarts, not from the posterior p.  :func:`loo` therefore uses
:func:`arviz_stats.loo_approximate_posterior`, which reweights the draws by
p / q (``sample_stats.log_p`` and ``log_q``, see :mod:`gaussmix.diagnostics._arviz`) before
Pareto-smoothed importance sampling.  :func:`compare_models` converts every model
with the same seed (hence the same subsample of X when X is larger than ``max_obs``),
computes :func:`loo` for each and ranks them with :func:`arviz_stats.compare`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._arviz import to_datatree

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd
    import xarray as xr
    from arviz_stats import ELPDData

    from .._gaussian_mixture import GaussianMixture


def loo(dt: xr.DataTree, pointwise: bool = True) -> ELPDData:
    """Compute PSIS-LOO of a DataTree, corrected for the variational approximation.

    The draws of a variational fit come from the approximate posterior q, so they are
    reweighted by p / q (``sample_stats.log_p`` and ``log_q``) before Pareto-smoothed
    importance sampling (:func:`arviz_stats.loo_approximate_posterior`).  A DataTree
    without those variables gets plain :func:`arviz_stats.loo`.

    Parameters
    ----------
    dt : xarray.DataTree
        From :meth:`GaussianMixture.to_arviz` with ``X``, of a variational fit.
    pointwise : bool, default=True
        Keep the pointwise elpd and Pareto k (needed by :func:`arviz_stats.compare`).

    Returns
    -------
    arviz_stats.ELPDData
        As :func:`arviz_stats.loo`; ``approx_posterior`` is True when the log p /
        log q correction was applied (the DataTree has ``sample_stats.log_p``).

    Raises
    ------
    ValueError
        When the DataTree has no ``log_likelihood`` group (``to_arviz`` was called
        without X) or no ``posterior`` group (an EM fit).

    See Also
    --------
    compare_models : Rank several variational fits by PSIS-LOO.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> from gaussmix.diagnostics import loo
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, method="variational", n_init=2, random_state=0).fit(X)
    >>> result = loo(model.to_arviz(X, n_draws=20, random_state=0))
    >>> bool(result.approx_posterior)
    True
    >>> result.n_samples    # 2 restarts x 20 draws
    40
    >>> result.pareto_k.shape
    (272,)
    """
    import arviz_stats as azs

    if "log_likelihood" not in dt.children:
        raise ValueError("the DataTree has no log_likelihood group: call to_arviz(X) with the "
                         "data to compute LOO")
    if "posterior" not in dt.children:
        raise ValueError("LOO needs posterior draws: fit with method='variational' (EM gives "
                         "one point estimate per restart)")
    stats = dt.children.get("sample_stats")
    if stats is not None and "log_p" in stats.data_vars and "log_q" in stats.data_vars:
        return azs.loo_approximate_posterior(
            dt, stats["log_p"], stats["log_q"], pointwise=pointwise)
    return azs.loo(dt, pointwise=pointwise)


def compare_models(
    models: dict[str, GaussianMixture],
    X: npt.ArrayLike,
    *,
    sample_weight: npt.ArrayLike | None = None,
    n_draws: int = 200,
    max_obs: int = 2000,
    random_state: int = 0,
    method: str = "stacking",
) -> pd.DataFrame:
    """Rank variational fits by their expected log predictive density (PSIS-LOO).

    Parameters
    ----------
    models : dict of {str: GaussianMixture}
        Fitted models (``method='variational'``) on the same X, e.g.
        ``{"k=2": m2, "k=3": m3}``; they may differ in ``n_components``,
        ``covariance_type`` or priors.
    X : array-like of shape (n_samples, n_features)
        The data every model was fitted to.
    sample_weight : array-like of shape (n_samples,), default=None
        The weights given to ``fit``, if any (they enter log p only).
    n_draws : int, default=200
        Draws per restart of each model.
    max_obs : int, default=2000
        Observations used for LOO; the same seeded subsample for every model when X is
        larger.  The elpd then sums over these observations only.
    random_state : int, default=0
        Seed shared by every model's conversion.
    method : {'stacking', 'BB-pseudo-BMA', 'pseudo-BMA'}, default='stacking'
        How :func:`arviz_stats.compare` weighs the models.

    Returns
    -------
    pandas.DataFrame
        The table of :func:`arviz_stats.compare`, best model first: ``elpd`` (higher is
        better), ``elpd_diff`` and ``dse`` against the best, ``p`` (effective number of
        parameters), ``weight``, and ``diag_elpd`` flagging high Pareto k.

    Raises
    ------
    ValueError
        When ``models`` is not a dict of at least two models, or one of them is not a
        variational fit.

    See Also
    --------
    loo : PSIS-LOO of one model's DataTree.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, compare_models, load_faithful
    >>> X, _ = load_faithful()
    >>> fits = {f"k={k}": GaussianMixture(k, method="variational", n_init=2,
    ...                                   random_state=0).fit(X) for k in (1, 2)}
    >>> table = compare_models(fits, X, n_draws=20)
    >>> list(table.index)    # best first
    ['k=2', 'k=1']
    >>> bool(table.loc["k=1", "elpd_diff"] < -100)    # one component is far worse
    True
    """
    import arviz_stats as azs

    if not isinstance(models, dict) or len(models) < 2:
        raise ValueError("models must be a dict of at least two fitted models, e.g. "
                         "{'k=2': m2, 'k=3': m3}")
    for name, model in models.items():
        if getattr(model, "method", None) != "variational":
            raise ValueError(f"model {name!r} is not a variational fit: compare_models needs "
                             "method='variational' (LOO needs a posterior)")
    results = {}
    for name, model in models.items():
        # The same integer seed gives every model the same subsample of X.
        dt = to_datatree(model, X, sample_weight=sample_weight, n_draws=n_draws,
                         max_obs=max_obs, random_state=random_state)
        results[name] = loo(dt, pointwise=True)
    return azs.compare(results, method=method)
