"""Conversion of a fitted :class:`~gaussmix.GaussianMixture` to an ArviZ DataTree.

The ``posterior`` group describes the model the estimator keeps and nothing else:
the draws come from the kept restart's variational posterior q.  Restarts, the
optimisation trace, bootstrap replicates and predictive draws live in their own
groups.  The groups of the returned :class:`xarray.DataTree`:

``posterior`` and ``prior`` (``method='variational'``; dims chain, draw, ...)
    ``n_draws`` independent draws from q of the kept fit (from the prior), split into
    4 chains: ``weights``, ``means`` and ``precisions`` (shaped by
    ``covariance_type``: (component, feature, feature_bis) full, (feature,
    feature_bis) tied, (component, feature) diag, (component,) spherical).  The draws
    are independent, so r_hat is 1 and the ESS the number of draws up to Monte Carlo
    noise: they say nothing about convergence, which
    :func:`gaussmix.diagnostics.diagnose` checks by comparing the restarts directly.
``bootstrap`` (``method='em'`` with X and ``n_bootstrap > 0``; dims chain (1), draw)
    Nonparametric bootstrap replicates of the EM estimate (warm-started refits on
    weighted resamples, aligned to the fit): ``weights``, ``means``, ``covariances``.
    ``arviz_stats.summary(dt, group="bootstrap")`` gives their standard errors and
    intervals.
``restarts`` (always; dims restart, component, ...)
    Every restart's final point estimate aligned with the kept fit (components matched
    on weights, means and covariances), its ``final_objective``, its ``gap`` to the
    best in nats (total over the samples), its ``distance`` to the kept fit (the
    mixture distance of :mod:`gaussmix.diagnostics._align`), ``same_parameters``
    (distance at most ``SAME_OPTIMUM_DISTANCE``), ``same_optimum`` (the same
    parameters and a gap of at most :func:`gap_tolerance`), ``converged``, ``n_iter``
    and ``component_order`` (the restart's own label of each aligned component).  Not
    draws: ArviZ's sample-based functions do not apply.
``optimization_trace`` (always; sample dims chain = restart, draw = iteration)
    ``objective`` after every iteration (``draw``, 1-based) of every restart
    (``chain``), padded with NaN.  Named with ArviZ's sample dims, so its functions
    take the group as it is (``arviz_stats.summary(dt, group="optimization_trace")``).
``observed_data``, ``log_likelihood``, ``posterior_predictive``, ``sample_stats``
(variational with X)
    Up to ``max_obs`` rows of X (a seeded subsample when X is larger; ``obs_id``
    holds their row numbers), their pointwise log-likelihood ``x`` (chain, draw,
    obs_id) under every posterior draw, one replicate data set ``x`` per draw drawn
    from the model at that draw (for ``loo_pit`` and predictive checks), and in
    ``sample_stats``: ``lp`` (log prior + log-likelihood of all of X, the
    unnormalised log posterior, ArviZ's name), ``log_q`` (log density of the draw
    under q) and ``log_weight`` (the Pareto-smoothed log importance weights
    log p - log q, normalised).  The Pareto k-hat of those weights (Yao et al.
    2018) is in the attrs of ``sample_stats``: below ``khat_threshold`` the
    approximation is usable and PSIS-weighted expectations are reliable.

Cost: O(n_draws k d^2) memory for the draws; O(n_draws max_obs) for the pointwise
log-likelihood; ``lp`` one pass over X for all draws at once; the bootstrap one
warm-started EM fit per replicate.
"""

import sys

import numpy as np
from scipy.special import logsumexp
from sklearn.utils.validation import check_is_fitted

from .. import _kernel
from .._covariance import COVARIANCE_TYPES
from .._validation import check_sample_weight, check_scalar
from ._align import SAME_OPTIMUM_DISTANCE, align_restarts
from ._posterior import LOG_2PI, VariationalPosterior, component_family

# xarray and arviz_base are imported where used, so that ``import gaussmix`` stays light.

TRACE_GROUP = "optimization_trace"
RESTART_GROUP = "restarts"
BOOTSTRAP_GROUP = "bootstrap"
OBS_VAR = "x"
SAMPLE_DIMS = ["chain", "draw"]
N_CHAINS = 4              # independent draws are split into 4 chains (see below)
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


def total_weight(model):
    """The (weighted) number of samples the fit saw (NaN for models saved without it)."""
    return float(getattr(model, "_fit_weight", np.nan))


def objective_gaps(model):
    """Each restart's final objective below the best, in nats (totals over samples)."""
    final = np.array([r.lower_bound for r in model.restarts_], dtype=np.float64)
    gap = np.nanmax(final) - final
    if not is_variational(model):  # the EM objective is per sample
        gap = gap * total_weight(model)
    return gap


def gap_tolerance(model):
    """Largest objective gap (nats) of two restarts at one optimum: 10 tol, in nats.

    A restart stops once an iteration changes the objective by less than ``tol``, so
    restarts at the same optimum end within a few ``tol`` of it (EM's objective is per
    sample, hence ``tol`` times the total weight in nats).
    """
    tol = 10.0 * float(model.tol)
    return tol if is_variational(model) else tol * total_weight(model)


def same_optimum(model, distances):
    """Whether each restart reached the kept fit's optimum: same parameters, same value.

    The same parameters with a lower objective happen for the Dirichlet-process prior,
    whose ELBO depends on the order of the sticks: such a restart found the same
    clusters at a worse optimum.
    """
    return (distances <= SAME_OPTIMUM_DISTANCE) & (objective_gaps(model) <= gap_tolerance(model))


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
    """Independent generators for the subsample of X, the draws and the bootstrap.

    The subsample depends only on ``random_state`` and len(X), so models converted
    with the same seed share it (needed by :func:`arviz_stats.compare`).
    """
    if isinstance(random_state, np.random.Generator):
        return random_state.spawn(3)
    if isinstance(random_state, np.random.RandomState):
        random_state = int(random_state.randint(np.iinfo(np.int32).max))
    seeds = np.random.SeedSequence(random_state).spawn(3)
    return [np.random.default_rng(s) for s in seeds]


def _coords(model):
    k, d = model.means_.shape
    names = getattr(model, "feature_names_in_", None)
    features = list(names) if names is not None else list(range(d))
    return {
        "component": np.arange(k),
        "feature": features,
        "feature_bis": features,
    }


def precision_dims(cov):
    """Dims of a precision (or covariance) variable of the covariance type."""
    if getattr(cov, "public_full", False):   # mclust's names: (k, d, d) whatever the layout
        return ["component", "feature", "feature_bis"]
    if cov.diagonal:
        return ["component"] if cov.isotropic else ["component", "feature"]
    return ["feature", "feature_bis"] if cov.shared else ["component", "feature", "feature_bis"]


def library_attrs(model, extra=None, sample_dims=None):
    """arviz_base's standard attributes, naming gaussmix as the inference library."""
    from arviz_base.base import make_attrs

    attrs = make_attrs(attrs=extra, inference_library=sys.modules["gaussmix"],
                       sample_dims=sample_dims)
    if "inference_library_version" not in attrs:
        from .._version import __version__
        attrs["inference_library_version"] = __version__
    return attrs


def make_dataset(model, data, dims, coords, attrs, sample_dims=SAMPLE_DIMS,
                 skip_event_dims=False):
    """A group in arviz_base's conventions (``dict_to_dataset``)."""
    from arviz_base import dict_to_dataset

    ds = dict_to_dataset(data, dims=dims, coords=coords, sample_dims=sample_dims,
                         skip_event_dims=skip_event_dims)
    ds.attrs = library_attrs(model, attrs, sample_dims)
    return ds


# --------------------------------------------------------------------- groups
def _trace_dataset(model):
    import xarray as xr

    restarts = model.restarts_
    length = max((len(r.lower_bounds) for r in restarts), default=0)
    objective = np.full((len(restarts), length), np.nan)
    for c, restart in enumerate(restarts):
        objective[c, :len(restart.lower_bounds)] = restart.lower_bounds
    attrs = {
        "objective": objective_name(model),
        "best_chain": int(best_restart(model)),
        "tol": float(model.tol),
        "max_iter": int(model.max_iter),
        "method": model.method,
        "description": "chain = restart (n_init), draw = iteration (1-based): the "
                       "objective after every iteration, padded with NaN after a restart "
                       "stopped",
    }
    return xr.Dataset(
        {"objective": (("chain", "draw"), objective)},
        coords={"chain": np.arange(len(restarts)), "draw": np.arange(1, length + 1)},
        attrs=library_attrs(model, attrs, SAMPLE_DIMS),
    )


def _restart_dataset(model, orders, distances, coords):
    """Each restart's aligned point estimate and how it compares with the kept fit."""
    import xarray as xr

    cov = model._updates.covariance
    values = {name: [] for name in ("weights", "means", "covariances")}
    for restart, order in zip(model.restarts_, orders):
        p = restart.params
        values["weights"].append(np.asarray(p["weights_"], np.float64)[order])
        values["means"].append(np.asarray(p["means_"], np.float64)[order])
        covariances = np.asarray(p["covariances_"], np.float64)
        values["covariances"].append(covariances if cov.shared else covariances[order])
    dims = {"weights": ["component"], "means": ["component", "feature"],
            "covariances": precision_dims(cov)}
    restarts = model.restarts_
    data = {name: (("restart", *dims[name]), np.stack(v)) for name, v in values.items()}
    data.update({
        "final_objective": (("restart",), np.array([r.lower_bound for r in restarts])),
        "gap": (("restart",), objective_gaps(model)),
        "distance": (("restart",), distances),
        "same_parameters": (("restart",), distances <= SAME_OPTIMUM_DISTANCE),
        "same_optimum": (("restart",), same_optimum(model, distances)),
        "converged": (("restart",), np.array([r.converged for r in restarts], dtype=bool)),
        "n_iter": (("restart",), np.array([r.n_iter for r in restarts], dtype=np.int64)),
        "component_order": (("restart", "component"), orders.astype(np.int64)),
    })
    used = {"component", "feature", "feature_bis"}
    attrs = {
        "kept_restart": int(best_restart(model)),
        "objective": objective_name(model),
        "gap": "final objective of the kept restart minus this one's, in nats (total)",
        "distance": "mixture distance to the kept fit after alignment (0 = identical, 1 = "
                    "disjoint; see gaussmix.diagnostics._align)",
        "same_optimum_distance": SAME_OPTIMUM_DISTANCE,
    }
    coords = {name: value for name, value in coords.items() if name in used}
    coords["restart"] = np.arange(len(restarts))
    return xr.Dataset(data, coords=coords, attrs=library_attrs(model, attrs))


def kept_posterior(model):
    """q of the kept fit (:class:`~gaussmix.diagnostics._posterior.VariationalPosterior`)."""
    return VariationalPosterior.from_restart(model._updates.covariance,
                                             model.restarts_[best_restart(model)].params)


def split_chains(values, n_chains):
    """(S, ...) independent draws -> (n_chains, S / n_chains, ...)."""
    return values.reshape(n_chains, values.shape[0] // n_chains, *values.shape[1:])


def n_chains_for(n_draws):
    """Chains the ``n_draws`` independent draws are split into (4, or 1 if too few)."""
    return N_CHAINS if n_draws % N_CHAINS == 0 and n_draws >= 2 * N_CHAINS else 1


def _draw_dataset(model, draws, coords, description):
    cov = model._updates.covariance
    family = component_family(cov)
    chains = n_chains_for(draws.means.shape[0])
    data = {"weights": split_chains(np.exp(draws.log_weights), chains),
            "means": split_chains(draws.means, chains),
            "precisions": split_chains(family.public(draws.precisions), chains)}
    dims = {"weights": ["component"], "means": ["component", "feature"],
            "precisions": precision_dims(cov)}
    return make_dataset(model, data, dims, coords, {"description": description})


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


def _logsumexp_last(a):
    """log sum exp over the last axis (plain NumPy: scipy's is slow on small axes)."""
    if a.shape[-1] <= 3:   # fewer transcendental calls than max / exp / sum / log
        return np.logaddexp.reduce(a, axis=-1)
    top = a.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - top).sum(axis=-1)) + top[..., 0]


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
            ll = _logsumexp_last(log_prob.reshape(stop - start, n_draws, k)).T
            if pointwise:
                out[:, start:stop] = ll
            elif sample_weight is None:
                out += ll.sum(axis=1)
            else:
                out += ll @ sample_weight[start:stop]
    return out


def _replicate_data(cov, draws, n_obs, rng):
    """One data set of ``n_obs`` rows from the mixture at each draw, (S, n_obs, d)."""
    n_draws, k, d = draws.means.shape
    family = component_family(cov)
    precisions = family.public(draws.precisions)        # public shapes, per draw
    out = np.empty((n_draws, n_obs, d))
    for s in range(n_draws):
        labels = rng.choice(k, size=n_obs, p=np.exp(draws.log_weights[s] - logsumexp(
            draws.log_weights[s])))
        noise = rng.standard_normal((n_obs, d))
        if cov.diagonal:   # per-feature precisions (spherical: one per component)
            prec = np.broadcast_to(np.reshape(precisions[s], (k, -1)), (k, d))
            out[s] = draws.means[s, labels] + noise / np.sqrt(prec[labels])
        else:
            prec = np.broadcast_to(precisions[s], (k, d, d))
            factor = np.linalg.cholesky(np.linalg.inv(prec))   # covariance Cholesky
            out[s] = draws.means[s, labels] + np.einsum("nij,nj->ni", factor[labels], noise)
    return out


def khat_threshold(n_draws):
    """ArviZ's sample-size-dependent Pareto k-hat threshold, min(1 - 1/log10 S, 0.7)."""
    return float(min(1.0 - 1.0 / np.log10(n_draws), 0.7)) if n_draws > 10 else 0.0


MIN_PSIS_DRAWS = 25   # PSIS fits its Pareto tail to min(S / 5, 3 sqrt S) >= 5 draws


def psis_log_weights(log_ratio):
    """Pareto-smoothed normalised log weights and k-hat of draws' log p - log q (1-D).

    With fewer than ``MIN_PSIS_DRAWS`` draws there is no tail to fit: the weights are
    the raw normalised ratios and k-hat is NaN (unknown).
    """
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)
    import xarray as xr

    log_ratio = np.asarray(log_ratio, dtype=np.float64)
    if log_ratio.size < MIN_PSIS_DRAWS:
        return log_ratio - logsumexp(log_ratio), float("nan")
    ratios = xr.DataArray(log_ratio[np.newaxis], dims=("chain", "draw"))
    log_weights, khat = ratios.azstats.psislw(dim=["chain", "draw"])
    return np.asarray(log_weights).reshape(-1), float(khat)


def _subsample(n, max_obs, rng):
    if n <= max_obs:
        return np.arange(n)
    return np.sort(rng.choice(n, size=max_obs, replace=False))


def _variational_data_groups(model, X, sample_weight, idx, coords, draws, log_q, rng,
                             predictive):
    """observed_data, log_likelihood, (posterior_predictive) and sample_stats groups."""
    cov = model._updates.covariance
    X_sub = np.ascontiguousarray(X[idx])
    full = len(idx) == X.shape[0]
    obs_coords = {**coords, "obs_id": idx}
    rows = {"n_rows_in_X": int(X.shape[0]), "subsampled": int(not full)}
    groups = {"observed_data": _observed_dataset(model, X, idx, coords)}
    ll = draw_log_likelihood(cov, X_sub, draws.log_weights, draws.means, draws.precisions)
    chains = n_chains_for(ll.shape[0])
    groups["log_likelihood"] = make_dataset(
        model, {OBS_VAR: split_chains(ll, chains)}, {OBS_VAR: ["obs_id"]}, obs_coords, rows,
        skip_event_dims=True)
    if predictive:
        replicates = _replicate_data(cov, draws, len(idx), rng)
        groups["posterior_predictive"] = make_dataset(
            model, {OBS_VAR: split_chains(replicates, chains)},
            {OBS_VAR: ["obs_id", "feature"]}, obs_coords,
            {"description": "one replicate of the observed rows per posterior draw"})
    prior = VariationalPosterior.prior(cov, model._updates.priors, model.n_components)
    if full and sample_weight is None:
        total = ll.sum(axis=-1)
    else:
        total = draw_log_likelihood(cov, X, draws.log_weights, draws.means, draws.precisions,
                                    sample_weight, pointwise=False)
    lp = prior.log_density(draws) + total
    log_weight, khat = psis_log_weights(lp - log_q)
    groups["sample_stats"] = make_dataset(
        model, {"lp": split_chains(lp, chains), "log_q": split_chains(log_q, chains),
                "log_weight": split_chains(log_weight, chains)}, {}, coords,
        {"lp": "log prior + log-likelihood of all of X (unnormalised log posterior)",
         "log_q": "log density of the draw under the kept fit's variational posterior q",
         "log_weight": "Pareto-smoothed normalised log importance weights of p / q",
         "khat": khat, "khat_threshold": khat_threshold(draws.means.shape[0])})
    return groups


def _observed_dataset(model, X, idx, coords):
    X_sub = np.asarray(X[idx], dtype=np.float64)
    rows = {"n_rows_in_X": int(X.shape[0]), "subsampled": int(len(idx) < X.shape[0])}
    return make_dataset(model, {OBS_VAR: X_sub}, {OBS_VAR: ["obs_id", "feature"]},
                        {**coords, "obs_id": idx}, rows, sample_dims=[])


# --------------------------------------------------------------------- entry point
def to_datatree(model, X=None, *, sample_weight=None, n_draws=500, max_obs=2000,
                n_bootstrap=100, random_state=None, progress=None, predictive=True):
    """Build the DataTree described in the module docstring.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model.
    X : array-like of shape (n_samples, n_features), default=None
        The data the model was fitted to.  Without it the data groups (and the EM
        bootstrap) are omitted.
    sample_weight : array-like of shape (n_samples,), default=None
        The weights ``fit`` was given, if any; they enter ``lp`` (variational) and the
        bootstrap resampling (EM); the pointwise log-likelihood is per row.
    n_draws : int, default=500
        Draws from the kept fit's variational posterior (and from the prior).
    max_obs : int, default=2000
        Rows of X kept for the pointwise log-likelihood, observed data and replicates;
        a larger X is subsampled without replacement.
    n_bootstrap : int, default=100
        EM with X: bootstrap replicates (0 for none).
    random_state : int, Generator, RandomState or None, default=None
        Seeds the draws, the subsample and the bootstrap.
    progress : bool or None, default=None
        A tqdm progress bar: None shows one when tqdm is installed and standard error
        is a terminal, True always (ImportError without tqdm: ``pip install
        "gaussmix[progress]"``), False never.

    predictive : bool, default=True
        Variational: include the ``prior`` and ``posterior_predictive`` groups
        (:func:`gaussmix.diagnostics.diagnose`, which needs neither, skips them).

    Returns
    -------
    xarray.DataTree
    """
    import xarray as xr

    check_is_fitted(model)
    check_scalar(n_draws, "n_draws", "int", low=1)
    check_scalar(max_obs, "max_obs", "int", low=1)
    check_scalar(n_bootstrap, "n_bootstrap", "int", low=0)
    rng_obs, rng_draws, rng_boot = _rngs(random_state)
    orders, distances = restart_alignment(model)
    coords = _coords(model)
    groups = {}
    if X is not None:
        X = model._validate_predict_data(X)
        w = check_sample_weight(sample_weight, X.shape[0])
        idx = _subsample(X.shape[0], max_obs, rng_obs)
    if is_variational(model):
        q = kept_posterior(model)
        draws = q.sample(rng_draws, n_draws)
        groups["posterior"] = _draw_dataset(
            model, draws, coords, "independent draws from the kept fit's mean-field "
            "variational posterior q")
        if predictive:
            prior = VariationalPosterior.prior(model._updates.covariance,
                                               model._updates.priors, model.n_components)
            groups["prior"] = _draw_dataset(model, prior.sample(rng_draws, n_draws), coords,
                                            "independent draws from the prior")
        if X is not None:
            groups.update(_variational_data_groups(model, X, w, idx, coords, draws,
                                                   q.log_density(draws), rng_draws,
                                                   predictive))
    elif X is not None:
        groups["observed_data"] = _observed_dataset(model, X, idx, coords)
        if n_bootstrap > 0:
            from ._bootstrap import bootstrap

            result = bootstrap(model, X, sample_weight=w, n_replicates=n_bootstrap,
                               random_state=rng_boot, progress=progress)
            groups[BOOTSTRAP_GROUP] = result.to_dataset()
    groups[RESTART_GROUP] = _restart_dataset(model, orders, distances, coords)
    groups[TRACE_GROUP] = _trace_dataset(model)
    dt = xr.DataTree.from_dict(groups)
    dt.attrs = {
        "method": model.method,
        "covariance_type": model.covariance_type,
        "n_components": int(model.n_components),
        "n_restarts": len(model.restarts_),
        "kept_restart": int(best_restart(model)),
        "objective": objective_name(model),
    }
    return dt
