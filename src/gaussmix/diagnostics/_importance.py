"""Importance-sampling corrections for draws from the variational posterior q.

The posterior draws of a gaussmix DataTree come from the variational posterior q, not
from p(theta | X).  Their Pareto-smoothed importance weights p / q (``sample_stats``
``log_weight``, with the k-hat of Yao et al. 2018 in its attrs) correct posterior
expectations (:func:`psis_mean`).  Leave-one-out weights for observation i are
p(theta | X_-i) / q(theta) ~ exp(lp - log_q - log p(x_i | theta)), Pareto-smoothed
per observation (the correction :func:`arviz_stats.loo_approximate_posterior`
applies to the elpd).  :func:`loo_pit` feeds these weights to
:func:`arviz_stats.loo_pit` one feature at a time, because ArviZ's LOO-PIT expects one
log-likelihood value per observed value while a mixture's log-likelihood is per row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xarray as xr


def psis_mean(dt: xr.DataTree, var_names: list[str] | None = None) -> xr.Dataset:
    """Posterior means corrected for the variational approximation (PSIS).

    ``sum_s w_s theta_s`` with the Pareto-smoothed normalised weights
    ``w_s ~ p(theta_s | X) / q(theta_s)`` of ``sample_stats.log_weight``.  Reliable
    when ``dt.sample_stats.attrs["khat"]`` is below ``khat_threshold``; compare with
    the plain means of the draws to see how much the approximation moves them.

    Parameters
    ----------
    dt : xarray.DataTree
        From :meth:`GaussianMixture.to_arviz` with X, of a variational fit.
    var_names : list of str, default=None
        Posterior variables; None means all (weights, means, precisions).

    Returns
    -------
    xarray.Dataset
        The corrected means, without the sample dims.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> from gaussmix.diagnostics import psis_mean
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, method="variational", random_state=0).fit(X)
    >>> dt = model.to_arviz(X, random_state=0)
    >>> corrected = psis_mean(dt)
    >>> bool(abs(corrected["weights"] - model.weights_).max() < 0.01)
    True
    """
    if "sample_stats" not in dt.children or "log_weight" not in dt.sample_stats.data_vars:
        raise ValueError("the DataTree has no sample_stats.log_weight: call to_arviz(X) with "
                         "the data, on a model fitted with method='variational'")
    import numpy as np

    weights = np.exp(dt.sample_stats["log_weight"])
    posterior = dt.posterior.to_dataset()
    if var_names is not None:
        posterior = posterior[var_names]
    return (posterior * weights).sum(("chain", "draw")) / weights.sum(("chain", "draw"))


def loo_log_weights(dt: xr.DataTree) -> tuple[xr.DataArray, xr.DataArray]:
    """Pareto-smoothed LOO log weights of every draw for every observation, and k-hat.

    Parameters
    ----------
    dt : xarray.DataTree
        From :meth:`GaussianMixture.to_arviz` with X, of a variational fit.

    Returns
    -------
    log_weights : xarray.DataArray of dims (chain, draw, obs_id)
        Normalised log importance weights of the draws for leaving out each row.
    pareto_k : xarray.DataArray of dims (obs_id,)
        Their Pareto k-hat per row.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> from gaussmix.diagnostics import loo_log_weights
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, method="variational", random_state=0).fit(X)
    >>> log_weights, pareto_k = loo_log_weights(model.to_arviz(X, n_draws=200))
    >>> dict(log_weights.sizes)
    {'chain': 4, 'draw': 50, 'obs_id': 272}
    """
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)

    _check_tree(dt)
    stats = dt.sample_stats
    log_ratio = stats["lp"] - stats["log_q"] - dt.log_likelihood["x"]
    log_weights, pareto_k = log_ratio.azstats.psislw(dim=["chain", "draw"])
    return log_weights.transpose("chain", "draw", "obs_id"), pareto_k


def loo_pit(dt: xr.DataTree) -> xr.DataArray:
    """LOO probability integral transform of every observed value, feature by feature.

    For a well-calibrated model the values are uniform on [0, 1].  Each feature's
    marginal predictive distribution is checked with :func:`arviz_stats.loo_pit`,
    using the corrected weights of :func:`loo_log_weights`.

    Parameters
    ----------
    dt : xarray.DataTree
        From :meth:`GaussianMixture.to_arviz` with X, of a variational fit.

    Returns
    -------
    xarray.DataArray of dims (obs_id, feature)
        The LOO-PIT values.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> from gaussmix.diagnostics import loo_pit
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, method="variational", random_state=0).fit(X)
    >>> pit = loo_pit(model.to_arviz(X, n_draws=200, random_state=0))
    >>> pit.shape
    (272, 2)
    >>> bool(0.4 < float(pit.mean()) < 0.6)
    True
    """
    import arviz_stats as azs
    import xarray as xr

    log_weights, pareto_k = loo_log_weights(dt)
    columns = []
    for feature in dt.observed_data["x"]["feature"].values:
        tree = xr.DataTree.from_dict({
            "posterior": dt.posterior.to_dataset(),
            "log_likelihood": dt.log_likelihood.to_dataset(),
            "observed_data": xr.Dataset({"x": dt.observed_data["x"].sel(feature=feature)}),
            "posterior_predictive": xr.Dataset(
                {"x": dt.posterior_predictive["x"].sel(feature=feature)}),
        })
        pit = azs.loo_pit(tree, var_names="x", log_weights=xr.Dataset({"x": log_weights}),
                          pareto_k=xr.Dataset({"x": pareto_k}))
        columns.append(pit["x"] if isinstance(pit, xr.Dataset) else pit)
    return xr.concat(columns, dim=dt.observed_data["x"]["feature"]).transpose("obs_id", "feature")


def _check_tree(dt):
    needed = ("log_likelihood", "sample_stats", "posterior_predictive", "observed_data")
    missing = [name for name in needed if name not in dt.children]
    if missing:
        raise ValueError(
            f"the DataTree has no {', '.join(missing)} group(s): call to_arviz(X) with the "
            "data, on a model fitted with method='variational'"
        )
