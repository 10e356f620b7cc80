"""Model comparison by PSIS-LOO: variational fits with different settings.

The draws in a gaussmix DataTree come from the variational posteriors q of the
restarts, not from the posterior p.  :func:`loo` therefore uses
:func:`arviz_stats.loo_approximate_posterior`, which reweights the draws by
p / q (``sample_stats.log_p`` and ``log_q``, see :mod:`gaussmix._arviz`) before
Pareto-smoothed importance sampling.  :func:`compare_models` converts every model
with the same seed (hence the same subsample of X when X is larger than ``max_obs``),
computes :func:`loo` for each and ranks them with :func:`arviz_stats.compare`.
"""

from ._arviz import to_datatree


def loo(dt, pointwise=True):
    """PSIS-LOO of a gaussmix DataTree, corrected for the variational approximation.

    Parameters
    ----------
    dt : xarray.DataTree
        From :meth:`GaussianMixture.to_arviz` with ``X``.
    pointwise : bool, default=True
        Keep the pointwise elpd and Pareto k (needed by :func:`arviz_stats.compare`).

    Returns
    -------
    ELPDData
        As :func:`arviz_stats.loo`; ``approx_posterior`` is True when the log p /
        log q correction was applied (the DataTree has ``sample_stats.log_p``).
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


def compare_models(models, X, *, sample_weight=None, n_draws=200, max_obs=2000,
                   random_state=0, method="stacking"):
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

    Examples
    --------
    >>> from gaussmix import GaussianMixture, compare_models, load_faithful
    >>> X, _ = load_faithful()
    >>> fits = {f"k={k}": GaussianMixture(k, method="variational", n_init=4,
    ...                                   random_state=0).fit(X) for k in (1, 2, 3)}
    >>> table = compare_models(fits, X)          # doctest: +SKIP
    >>> table.index[0]                             # doctest: +SKIP
    'k=2'
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
