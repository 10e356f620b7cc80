"""Conversion of a fitted :class:`~gaussmix.GaussianMixture` to an ArviZ DataTree.

Every restart (``n_init``) becomes a *chain*.  The groups of the returned
:class:`xarray.DataTree`:

``optimization_trace`` (always; dims ``chain``, ``iteration``)
    ``objective``: the objective after every iteration (EM: mean log-likelihood per
    sample, or mean log-posterior for MAP EM; variational: the total ELBO), padded
    with NaN after a restart stopped; ``final_objective``, ``converged``, ``n_iter``
    per chain; ``component_order`` (chain, component): the restart's own label of
    each aligned component.  Attributes give the objective's name, the best chain and
    the spread of the final objectives.
``posterior`` (``method='variational'``; dims chain, draw, component, feature, feature_bis)
    ``n_draws`` draws from each restart's variational posterior: ``weights``,
    ``means`` and ``precisions`` (shaped by ``covariance_type``: (component, feature,
    feature_bis) full, (feature, feature_bis) tied, (component, feature) diag,
    (component,) spherical).  Components are aligned across restarts with the
    best restart (Hungarian matching on the means), so label switching does not
    look like non-convergence.
``point_estimates`` (``method='em'``; dims chain, draw (size 1), ...)
    Each restart's aligned final ``weights``, ``means``, ``covariances`` and
    ``precisions``: one draw per chain.  They are not a posterior, so they are kept
    out of the ``posterior`` group; ArviZ functions take them with
    ``group="point_estimates"``.
``observed_data``, ``log_likelihood`` (only when ``X`` is given)
    Up to ``max_obs`` rows of X (a seeded random subsample when X is larger; the
    ``obs_id`` coordinate holds their row numbers in X) and their pointwise
    log-likelihood ``x`` (chain, draw, obs_id) under every draw (EM: every restart's
    point estimate).
``sample_stats`` (``method='variational'`` with ``X``; dims chain, draw)
    ``log_p``: log prior + log-likelihood of *all* of X (weighted by
    ``sample_weight``) at each draw, the unnormalised log posterior; ``log_q``: log
    density of the draw under the proposal, the equal-weight mixture of the
    restarts' variational posteriors.  They are what
    :func:`arviz_stats.loo_approximate_posterior` needs to correct PSIS-LOO for
    the draws coming from q instead of the posterior
    (see :func:`gaussmix.diagnostics.loo`).

Cost: the draws take O(n_init n_draws k d^2) memory; the log-likelihood group
O(n_init n_draws max_obs); ``log_p`` one pass over X per draw (n_init * n_draws
passes, in chunks, never an n-by-anything array).
"""

import sys

import numpy as np
from scipy.special import logsumexp
from sklearn.utils.validation import check_is_fitted

from .. import _kernel
from ._align import align_restarts
from .._covariance import COVARIANCE_TYPES
from ._posterior import LOG_2PI, VariationalPosterior, component_family
from .._validation import check_sample_weight, check_scalar

# xarray and arviz_base are imported where used, so that ``import gaussmix`` stays light.

TRACE_GROUP = "optimization_trace"
POINT_GROUP = "point_estimates"
OBS_VAR = "x"
SAMPLE_DIMS = ["chain", "draw"]
_CHUNK_VALUES = 1 << 22   # rows x draws x components per chunk of the likelihood pass


def best_restart(model):
    """Index of the restart the fit kept (same rule as ``fit``)."""
    best = None
    for c, restart in enumerate(model.restarts_):
        if best is None or restart.lower_bound > model.restarts_[best].lower_bound \
                or model.max_iter == 0:
            best = c
    return best


def is_variational(model):
    """Whether the model was fitted with method='variational'."""
    return model.method == "variational"


def objective_name(model):
    """What ``lower_bounds`` / ``lower_bound`` of the restarts measure."""
    if is_variational(model):
        return "ELBO (total over samples)"
    if model._updates.priors is not None:
        return "mean log-posterior per sample (MAP EM, up to a constant)"
    return "mean log-likelihood per sample"


def restart_alignment(model):
    """Every restart aligned with the kept one: orders (n_restarts, k) and distances.

    Components are matched on weights, means and covariances; the distance is the
    mixture distance of :mod:`gaussmix.diagnostics._align`.
    """
    return align_restarts([r.params for r in model.restarts_], best_restart(model),
                          model.covariance_type)


def restart_orders(model):
    """Alignment of every restart's components with the best restart, (n_restarts, k)."""
    return restart_alignment(model)[0]


def component_variances(cov, params, means):
    """Variance of each feature in each component, (k, d), whatever the covariance type."""
    k, d = means.shape
    canonical = cov.from_public(np.asarray(params["covariances_"], dtype=np.float64), d)
    if canonical.ndim == 3:
        canonical = np.diagonal(canonical, axis1=1, axis2=2)
    return np.broadcast_to(canonical, (k, d))


def _rngs(random_state):
    """Independent generators for the subsample of X and for the draws.

    The subsample depends only on ``random_state`` and len(X), so models converted
    with the same seed share it (needed by :func:`arviz_stats.compare`).
    """
    if isinstance(random_state, np.random.Generator):
        return random_state.spawn(2)
    if isinstance(random_state, np.random.RandomState):
        random_state = int(random_state.randint(np.iinfo(np.int32).max))
    seeds = np.random.SeedSequence(random_state).spawn(2)
    return [np.random.default_rng(s) for s in seeds]


def _coords(model, n_restarts):
    k, d = model.means_.shape
    names = getattr(model, "feature_names_in_", None)
    features = list(names) if names is not None else list(range(d))
    return {
        "chain": np.arange(n_restarts),
        "component": np.arange(k),
        "feature": features,
        "feature_bis": features,
    }


def _precision_dims(cov):
    if cov.diagonal:
        return ["component"] if cov.isotropic else ["component", "feature"]
    return ["feature", "feature_bis"] if cov.shared else ["component", "feature", "feature_bis"]


def _library_attrs(model, extra=None, sample_dims=None):
    from arviz_base.base import make_attrs

    attrs = make_attrs(attrs=extra, inference_library=sys.modules["gaussmix"],
                       sample_dims=sample_dims)
    if "inference_library_version" not in attrs:
        from .._version import __version__
        attrs["inference_library_version"] = __version__
    return attrs


# --------------------------------------------------------------------- groups
def _trace_dataset(model, orders, coords):
    import xarray as xr

    restarts = model.restarts_
    n_iter = np.array([r.n_iter for r in restarts], dtype=np.int64)
    length = max((len(r.lower_bounds) for r in restarts), default=0)
    objective = np.full((len(restarts), length), np.nan)
    for c, restart in enumerate(restarts):
        objective[c, :len(restart.lower_bounds)] = restart.lower_bounds
    final = np.array([r.lower_bound for r in restarts], dtype=np.float64)
    finite = final[np.isfinite(final)]
    attrs = {
        "objective": objective_name(model),
        "best_chain": int(best_restart(model)),
        "objective_spread": float(finite.max() - finite.min()) if finite.size else np.nan,
        "tol": float(model.tol),
        "max_iter": int(model.max_iter),
        "method": model.method,
    }
    return xr.Dataset(
        {
            "objective": (("chain", "iteration"), objective),
            "final_objective": (("chain",), final),
            "converged": (("chain",), np.array([r.converged for r in restarts], dtype=bool)),
            "n_iter": (("chain",), n_iter),
            "component_order": (("chain", "component"), orders.astype(np.int64)),
        },
        coords={"chain": coords["chain"], "iteration": np.arange(1, length + 1),
                "component": coords["component"]},
        attrs=_library_attrs(model, attrs),
    )


def _variational_draws(model, rng, n_draws):
    """Draws of every restart (own labelling) and their log q under the mixture of restarts.

    log q is evaluated in each restart's own labelling, where log p is too; the
    alignment only relabels what is stored in the posterior group.
    """
    cov = model._updates.covariance
    posteriors = [VariationalPosterior.from_restart(cov, r.params) for r in model.restarts_]
    draws = [q.sample(rng, n_draws) for q in posteriors]
    n_chains = len(posteriors)
    log_q = np.stack([
        logsumexp([q.log_density(chain_draws) for q in posteriors], axis=0) - np.log(n_chains)
        for chain_draws in draws
    ])
    return draws, log_q


def _aligned(values, order, shared=False):
    """Reorder the component axis (axis 1) of per-draw values; shared factors stay."""
    return values if shared else values[:, order]


def _posterior_dataset(model, draws, orders, coords):
    cov = model._updates.covariance
    family = component_family(cov)
    weights = np.stack([np.exp(_aligned(dr.log_weights, o)) for dr, o in zip(draws, orders)])
    means = np.stack([_aligned(dr.means, o) for dr, o in zip(draws, orders)])
    precisions = np.stack([
        family.public(_aligned(dr.precisions, o, cov.shared)) for dr, o in zip(draws, orders)
    ])
    dims = {"weights": ["component"], "means": ["component", "feature"],
            "precisions": _precision_dims(cov)}
    data = {"weights": weights, "means": means, "precisions": precisions}
    attrs = {
        "description": "draws from each restart's (chain's) mean-field variational posterior",
        "aligned_to_chain": int(best_restart(model)),
    }
    return _dataset(model, data, dims, coords, attrs)


def _point_dataset(model, orders, coords):
    cov = model._updates.covariance
    data = {name: [] for name in ("weights", "means", "covariances", "precisions")}
    for restart, order in zip(model.restarts_, orders):
        p = restart.params
        data["weights"].append(np.asarray(p["weights_"])[order])
        data["means"].append(np.asarray(p["means_"])[order])
        for name in ("covariances", "precisions"):
            value = np.asarray(p[name + "_"])
            data[name].append(value if cov.shared else value[order])
    data = {name: np.stack(values)[:, np.newaxis].astype(np.float64)
            for name, values in data.items()}
    dims = {"weights": ["component"], "means": ["component", "feature"],
            "covariances": _precision_dims(cov), "precisions": _precision_dims(cov)}
    attrs = {
        "description": "final point estimate of each restart (chain), one draw per chain; "
                       "not a posterior",
        "aligned_to_chain": int(best_restart(model)),
    }
    # One draw per chain is the point of this group: skip ArviZ's "more chains than
    # draws" naming check.
    return _dataset(model, data, dims, coords, attrs, check_conventions=False)


def _dataset(model, data, dims, coords, attrs, sample_dims=SAMPLE_DIMS, skip_event_dims=False,
             check_conventions=True):
    from arviz_base import dict_to_dataset

    ds = dict_to_dataset(data, dims=dims, coords=coords, sample_dims=sample_dims,
                         skip_event_dims=skip_event_dims, check_conventions=check_conventions)
    ds.attrs = _library_attrs(model, attrs, sample_dims)
    return ds


# --------------------------------------------------------------------- likelihood
def _kernel_parts(cov, log_weights, means, precisions):
    """Per-draw parameters flattened into one mixture of (draws x k) components.

    'tied' draws become 'full' layouts (each draw has its own shared factor) and
    'spherical' the 'diag' layout, so that one kernel pass evaluates every draw.
    """
    n, k, d = means.shape
    family = component_family(cov)
    prec_chol = family.prec_chol(precisions)
    if cov.diagonal:
        layout = COVARIANCE_TYPES["diag"]
        log_det = np.log(prec_chol).sum(axis=-1)
        factors = prec_chol.reshape(n * k, d)
    else:
        layout = COVARIANCE_TYPES["full"]
        prec_chol = np.broadcast_to(prec_chol, (n, k, d, d))
        log_det = np.log(np.diagonal(prec_chol, axis1=-2, axis2=-1)).sum(axis=-1)
        factors = prec_chol.reshape(n * k, d, d)
    log_norm = (log_weights + log_det - 0.5 * d * LOG_2PI).reshape(n * k)
    return layout, means.reshape(n * k, d), factors, log_norm


def draw_log_likelihood(cov, X, log_weights, means, precisions, sample_weight=None,
                        pointwise=True):
    """log p(x_i | theta_s) for every row and draw, or its (weighted) sum per draw.

    Parameters
    ----------
    cov : covariance strategy
    X : ndarray of shape (n, d)
    log_weights : ndarray of shape (S, k)
    means : ndarray of shape (S, k, d)
    precisions : ndarray
        Canonical precisions per draw (see :class:`gaussmix.diagnostics._posterior.Draws`).
    sample_weight : ndarray of shape (n,), default=None
        Only for ``pointwise=False``.
    pointwise : bool, default=True

    Returns
    -------
    ndarray of shape (S, n) if ``pointwise`` else (S,)
    """
    n_draws, k, _ = means.shape
    layout, flat_means, factors, log_norm = _kernel_parts(cov, log_weights, means, precisions)
    inputs = _kernel.KernelInputs(layout, flat_means, factors, log_norm, X.dtype)
    rows = max(1, _CHUNK_VALUES // (n_draws * k))
    out = np.empty((n_draws, X.shape[0])) if pointwise else np.zeros(n_draws)
    n_threads = _kernel.effective_n_threads()
    with _kernel.single_threaded_blas():
        for start in range(0, X.shape[0], rows):
            stop = min(start + rows, X.shape[0])
            log_prob = _kernel.weighted_log_prob(X[start:stop], inputs, n_threads)
            ll = logsumexp(log_prob.reshape(stop - start, n_draws, k), axis=2).T
            if pointwise:
                out[:, start:stop] = ll
            elif sample_weight is None:
                out += ll.sum(axis=1)
            else:
                out += ll @ sample_weight[start:stop]
    return out


def _subsample(n, max_obs, rng):
    if n <= max_obs:
        return np.arange(n)
    return np.sort(rng.choice(n, size=max_obs, replace=False))


def _data_groups(model, X, sample_weight, idx, coords, draws, log_q):
    """observed_data, log_likelihood and (variational) sample_stats groups."""
    cov = model._updates.covariance
    X_sub = np.ascontiguousarray(X[idx])
    full = len(idx) == X.shape[0]
    obs_coords = {**coords, "obs_id": idx}
    groups = {"observed_data": _dataset(
        model, {OBS_VAR: X_sub.astype(np.float64)}, {OBS_VAR: ["obs_id", "feature"]},
        obs_coords, {"n_rows_in_X": int(X.shape[0])}, sample_dims=[])}
    if draws is None:   # EM: each restart's point estimate is one draw
        d = X.shape[1]
        draws_ll = []
        for restart in model.restarts_:
            p = restart.params
            with np.errstate(divide="ignore"):
                log_w = np.log(np.asarray(p["weights_"], dtype=np.float64))
            prec = cov.from_public(np.asarray(p["precisions_"], dtype=np.float64), d)
            means = np.asarray(p["means_"], dtype=np.float64)
            draws_ll.append(draw_log_likelihood(
                cov, X_sub, log_w[np.newaxis], means[np.newaxis], prec[np.newaxis]))
        ll = np.stack(draws_ll)
    else:
        ll = np.stack([draw_log_likelihood(cov, X_sub, dr.log_weights, dr.means, dr.precisions)
                       for dr in draws])
    groups["log_likelihood"] = _dataset(
        model, {OBS_VAR: ll}, {OBS_VAR: ["obs_id"]}, obs_coords,
        {"n_rows_in_X": int(X.shape[0]), "subsampled": int(not full)}, skip_event_dims=True,
        check_conventions=draws is not None)
    if draws is not None:
        prior = VariationalPosterior.prior(cov, model._updates.priors, model.n_components)
        log_p = []
        for c, dr in enumerate(draws):
            if full and sample_weight is None:
                total = ll[c].sum(axis=-1)
            else:
                total = draw_log_likelihood(cov, X, dr.log_weights, dr.means, dr.precisions,
                                            sample_weight, pointwise=False)
            log_p.append(prior.log_density(dr) + total)
        groups["sample_stats"] = _dataset(
            model, {"log_p": np.stack(log_p), "log_q": log_q}, {}, coords,
            {"log_p": "log prior + log-likelihood of all of X (unnormalised log posterior)",
             "log_q": "log density under the equal-weight mixture of the chains' "
                      "variational posteriors"})
    return groups


# --------------------------------------------------------------------- entry point
def to_datatree(model, X=None, *, sample_weight=None, n_draws=200, max_obs=2000,
                random_state=None):
    """Build the DataTree described in the module docstring.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model.
    X : array-like of shape (n_samples, n_features), default=None
        The data the model was fitted to.  Without it the ``observed_data``,
        ``log_likelihood`` and ``sample_stats`` groups are omitted.
    sample_weight : array-like of shape (n_samples,), default=None
        The weights ``fit`` was given, if any; they enter ``log_p`` only (the
        pointwise log-likelihood is per row).
    n_draws : int, default=200
        Draws per restart from the variational posterior.
    max_obs : int, default=2000
        Rows of X kept for the pointwise log-likelihood and observed data; a larger X
        is subsampled without replacement.
    random_state : int, Generator, RandomState or None, default=None
        Seeds the draws and the subsample.

    Returns
    -------
    xarray.DataTree
    """
    import xarray as xr

    check_is_fitted(model)
    check_scalar(n_draws, "n_draws", "int", low=1)
    check_scalar(max_obs, "max_obs", "int", low=1)
    rng_obs, rng_draws = _rngs(random_state)
    orders = restart_orders(model)
    coords = _coords(model, len(model.restarts_))
    groups = {}
    draws = log_q = None
    if is_variational(model):
        draws, log_q = _variational_draws(model, rng_draws, n_draws)
        groups["posterior"] = _posterior_dataset(model, draws, orders, coords)
    else:
        groups[POINT_GROUP] = _point_dataset(model, orders, coords)
    if X is not None:
        X = model._validate_predict_data(X)
        w = check_sample_weight(sample_weight, X.shape[0])
        idx = _subsample(X.shape[0], max_obs, rng_obs)
        groups.update(_data_groups(model, X, w, idx, coords, draws, log_q))
    groups[TRACE_GROUP] = _trace_dataset(model, orders, coords)
    dt = xr.DataTree.from_dict(groups)
    dt.attrs = {
        "method": model.method,
        "covariance_type": model.covariance_type,
        "n_components": int(model.n_components),
        "n_restarts": len(model.restarts_),
        "best_chain": int(best_restart(model)),
        "objective": objective_name(model),
    }
    return dt
