"""Nonparametric bootstrap of an EM fit: standard errors and intervals of the parameters.

An EM fit is a point estimate; its sampling uncertainty is estimated here by the
nonparametric bootstrap (Efron 1979), the way mclust's ``MclustBootstrap`` does it
(Scrucca et al. 2016): every replicate resamples the rows of X with replacement and
refits EM *warm-started at the fitted model*, so that the replicate climbs to the
optimum of the resampled data nearest the fitted one instead of searching afresh.

The resample is never materialised: drawing n rows with replacement is the same as
giving row i the weight ``N_i`` of a Multinomial(n, 1/n, ..., 1/n) draw (how many
times it was drawn), and ``fit(X, sample_weight=N)`` treats an integer weight as that
many copies.  So a replicate costs one warm-started weighted fit over X, with no copy.

Labels are aligned to the fitted model with the mixture distance of
:mod:`gaussmix.diagnostics._align` (Hungarian matching of weighted components), so that
label switching between replicates does not inflate the spread.  The aligned
replicates become an ArviZ dataset (one chain, ``n_replicates`` draws) on which
:func:`arviz_stats.summary` reports standard deviations (the bootstrap standard
errors) and percentile or HDI intervals.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from .._covariance import get_covariance
from .._fit import is_dask_array, is_out_of_core
from .._validation import check_sample_weight, check_scalar
from ._align import match, mixture_of
from ._arviz import SAMPLE_DIMS, n_chains_for, precision_dims, split_chains
from ._progress import progress_bar

if TYPE_CHECKING:
    import xarray as xr

    from .._gaussian_mixture import GaussianMixture


#: Exceptions a refit on a resample may raise (a component left with too few rows
#: gets an ill-defined covariance); such a resample is discarded and redrawn, as
#: mclust's ``MclustBootstrap`` does.
_REFIT_ERRORS = (ValueError, np.linalg.LinAlgError, FloatingPointError)


@dataclass
class BootstrapResult:
    """Bootstrap replicates of an EM fit's parameters, aligned with the fitted model.

    Made by :func:`bootstrap`.  Each parameter is stored as the attribute of the same
    name; component j of every replicate is the replicate's component matched with
    the fitted model's component j.

    Parameters
    ----------
    weights : ndarray of shape (n_replicates, n_components)
        Mixture weights of each replicate.
    means : ndarray of shape (n_replicates, n_components, n_features)
        Component means of each replicate.
    covariances : ndarray of shape (n_replicates, ...)
        Covariances of each replicate, shaped as the model's ``covariances_``:
        (B, k, d, d) full, (B, d, d) tied, (B, k, d) diag, (B, k) spherical.
    n_not_converged : int
        Replicates whose refit stopped at ``max_iter`` before its change of the
        objective fell below ``tol`` (kept, but their spread may be too small).
    distances : ndarray of shape (n_replicates,)
        Mixture distance of each replicate to the fitted model
        (:mod:`gaussmix.diagnostics._align`): near 0 for a replicate at the same
        optimum; values near 0.1 and above suggest it went to another solution.
    n_iter : ndarray of shape (n_replicates,)
        EM iterations each refit ran.
    n_failed : int
        Resamples discarded (and redrawn) because the refit raised, e.g. a
        component left with an ill-defined covariance.
    covariance_type : str
        The model's ``covariance_type``; fixes the dims of ``covariances``.
    feature_names : list
        Labels of the ``feature`` coordinate (the model's ``feature_names_in_``, or
        0 .. d-1).

    See Also
    --------
    bootstrap : Makes it.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> from gaussmix.diagnostics._bootstrap import bootstrap
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, random_state=0).fit(X)
    >>> result = bootstrap(model, X, n_replicates=10, random_state=0)
    >>> result.means.shape, result.covariances.shape
    ((10, 2, 2), (10, 2, 2, 2))
    >>> result.to_dataset().sizes["draw"]
    10
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    n_not_converged: int
    distances: np.ndarray
    n_iter: np.ndarray
    n_failed: int = 0
    covariance_type: str = "full"
    feature_names: list = field(default_factory=list)

    @property
    def n_replicates(self) -> int:
        """Number of replicates B (the ``draw`` size of :meth:`to_dataset`)."""
        return int(self.weights.shape[0])

    def to_dataset(self) -> xr.Dataset:
        """The replicates as an ArviZ dataset: 4 chains of independent replicates.

        Variables ``weights`` (component), ``means`` (component, feature) and
        ``covariances`` (dims by covariance type, as in the ``restarts`` group
        of :meth:`GaussianMixture.to_arviz <gaussmix.GaussianMixture.to_arviz>`:
        (component, feature, feature_bis) full, (feature, feature_bis) tied,
        (component, feature) diag, (component,) spherical).  Put it in a DataTree to
        summarise it with :func:`arviz_stats.summary`: ``sd`` is the bootstrap
        standard error and ``eti``/``hdi`` the percentile intervals.  The replicates
        are independent, split into 4 chains (1 when there are fewer than 8 or B is
        not a multiple of 4), so r_hat is 1 up to noise and says nothing; ESS and
        ``mcse_sd`` are meaningful (``mcse_sd`` is the Monte Carlo error of the
        standard error).

        Returns
        -------
        xarray.Dataset
            Dims ``chain`` (size 4), ``draw`` (size B / 4), ``component``, ``feature``
            and ``feature_bis``.

        See Also
        --------
        bootstrap : Makes the result.

        Examples
        --------
        >>> import xarray as xr
        >>> from arviz_stats import summary
        >>> from gaussmix import GaussianMixture, load_faithful
        >>> from gaussmix.diagnostics._bootstrap import bootstrap
        >>> X, _ = load_faithful()
        >>> model = GaussianMixture(2, random_state=0).fit(X)
        >>> ds = bootstrap(model, X, n_replicates=20, random_state=0).to_dataset()
        >>> table = summary(xr.DataTree.from_dict({"bootstrap": ds}), group="bootstrap",
        ...                 kind="stats")
        >>> bool(table.notna().all().all())
        True
        """
        from arviz_base import dict_to_dataset

        means = np.asarray(self.means, dtype=np.float64)
        k, d = means.shape[1:]
        cov = get_covariance(self.covariance_type)
        names = list(self.feature_names) if len(self.feature_names) else list(range(d))
        coords = {"component": np.arange(k), "feature": names, "feature_bis": names}
        dims = {"weights": ["component"], "means": ["component", "feature"],
                "covariances": precision_dims(cov)}
        # The replicates are independent; like the posterior's independent draws they
        # are split into chains so that ArviZ's per-chain statistics are defined (r_hat
        # is then 1 up to noise: it has nothing to say about independent replicates).
        chains = n_chains_for(self.n_replicates)
        data = {name: split_chains(np.asarray(value, dtype=np.float64), chains)
                for name, value in (("weights", self.weights), ("means", means),
                                    ("covariances", self.covariances))}
        attrs = {
            "description": "nonparametric bootstrap replicates of an EM fit (rows "
                           "resampled with replacement, each replicate refitted by EM "
                           "warm-started at the fitted model), aligned with the fitted "
                           "components; not a posterior",
            "n_replicates": self.n_replicates,
            "n_not_converged": int(self.n_not_converged),
            "n_failed": int(self.n_failed),
            "max_distance": float(np.max(self.distances)) if self.n_replicates else np.nan,
            "covariance_type": self.covariance_type,
        }
        return dict_to_dataset(data, attrs=attrs, inference_library=sys.modules["gaussmix"],
                               coords=coords, dims=dims, sample_dims=SAMPLE_DIMS)


def _rng(random_state):
    """A generator with ``integers`` from an int, Generator, RandomState or None."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(int(random_state.randint(np.iinfo(np.int32).max)))
    return np.random.default_rng(random_state)


def _features(model, n_features):
    names = getattr(model, "feature_names_in_", None)
    return list(names) if names is not None else list(range(n_features))


def bootstrap(model: GaussianMixture, X: ArrayLike, *, sample_weight: ArrayLike | None = None,
              n_replicates: int = 100,
              random_state: int | np.random.Generator | np.random.RandomState | None = None,
              progress: bool | None = None) -> BootstrapResult:
    """Nonparametric bootstrap of an EM fit, every replicate warm-started and aligned.

    Each replicate draws the counts ``N ~ Multinomial(n, (1/n, ..., 1/n))`` (how often
    each of the n rows is drawn when n rows are resampled with replacement) and refits
    a copy of ``model`` by one EM run on ``(X, sample_weight=N * w)``, ``w`` being the
    given ``sample_weight`` (1 if None), started from the fitted ``weights_``,
    ``means_`` and ``precisions_`` (``n_init=1``; every other parameter, ``tol`` and
    ``max_iter`` included, as the model's).  Its components are then matched with the
    fitted model's (:func:`gaussmix.diagnostics._align.match`), a shared ('tied')
    covariance staying as it is.  This is mclust's ``MclustBootstrap`` scheme
    (resample rows, refit EM from the fitted solution), with the resample expressed
    as weights.

    With ``sample_weight``, the rows stay the units that are resampled and each keeps
    its weight, which is the bootstrap for weights attached to the sampled rows
    (design or importance weights) and does not depend on the weights' scale.  If the
    weights are counts of repeated rows (a compressed data set), that treats each
    distinct row as one unit; to resample the underlying observations instead,
    bootstrap ``np.repeat(X, counts, axis=0)``.

    Parameters
    ----------
    model : GaussianMixture
        A model fitted with ``method='em'`` (maximum likelihood or MAP).
    X : array-like of shape (n_samples, n_features)
        The data the model was fitted to (in memory, or any array ``fit`` reads in
        blocks).
    sample_weight : array-like of shape (n_samples,), default=None
        The weights given to ``fit``, if any.
    n_replicates : int, default=100
        Bootstrap replicates B.  The Monte Carlo error of a standard error is about
        ``1 / sqrt(2 B)`` of it (7 % at B = 100); percentile intervals need more
        (B >= 1000 for 95 % intervals).
    random_state : int, Generator, RandomState or None, default=None
        Seeds the resamples.
    progress : bool or None, default=None
        A tqdm progress bar: None shows one when tqdm is installed and standard error
        is a terminal, True always (ImportError without tqdm: ``pip install
        "gaussmix[progress]"``), False never.

    Returns
    -------
    BootstrapResult
        The aligned replicates, the counts of non-converged refits and discarded
        resamples, and each replicate's distance to the fitted model;
        :meth:`BootstrapResult.to_dataset` makes them an ArviZ dataset.

    Raises
    ------
    ValueError
        If the model was not fitted with ``method='em'`` (a variational fit has a
        posterior: use its draws, ``model.to_arviz()``), or X has another number of
        features than the model.
    RuntimeError
        If more than ``n_replicates`` resamples had to be discarded.

    See Also
    --------
    BootstrapResult.to_dataset : The replicates for :func:`arviz_stats.summary`.
    gaussmix.GaussianMixture.to_arviz : The fit's other diagnostics.

    Notes
    -----
    Cost: B warm-started EM runs over all of X, each a pass over the data per
    iteration.  Starting at the fitted optimum, a replicate needs only the few
    iterations that move it to the resample's optimum: 2 to 5 at the default
    ``tol`` for well-separated components.  For heavily overlapping components EM
    creeps linearly, and a loose ``tol`` stops a replicate near its start, which
    shrinks the bootstrap spread; bootstrap such a model after
    ``model.set_params(tol=...)`` with a smaller ``tol`` (check the convergence rate
    with :func:`gaussmix.diagnostics._aitken.aitken` on ``model.lower_bounds_``).
    Memory: the replicates, O(B k d^2); the resample is a weight vector of n floats.

    References
    ----------
    Efron, B. (1979).  Bootstrap methods: another look at the jackknife.  The Annals
    of Statistics 7, 1-26.

    Scrucca, L., Fop, M., Murphy, T. B. and Raftery, A. E. (2016).  mclust 5:
    clustering, classification and density estimation using Gaussian finite mixture
    models.  The R Journal 8, 289-317.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> from gaussmix.diagnostics._bootstrap import bootstrap
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, random_state=0).fit(X)
    >>> result = bootstrap(model, X, n_replicates=50, random_state=0)
    >>> result.weights.shape, result.n_not_converged
    ((50, 2), 0)

    The bootstrap standard errors of the means are close to the textbook
    ``sigma / sqrt(n w_k)`` of well-separated clusters:

    >>> standard_errors = result.means.std(axis=0, ddof=1)
    >>> sigma = np.sqrt(np.diagonal(model.covariances_, axis1=1, axis2=2))
    >>> ratio = standard_errors / (sigma / np.sqrt(len(X) * model.weights_[:, np.newaxis]))
    >>> bool(np.all(np.abs(ratio - 1.0) < 0.25))
    True
    """
    check_is_fitted(model)
    if model.method != "em":
        raise ValueError(
            f"bootstrap needs a model fitted with method='em', got method={model.method!r}: "
            "a variational fit has a posterior, whose draws model.to_arviz() gives"
        )
    check_scalar(n_replicates, "n_replicates", "int", low=1)
    if not (is_dask_array(X) or is_out_of_core(X)):
        # Validate (and convert) once, not in each of the B refits.
        X = model._validate_predict_data(X)
    n, d = X.shape
    if d != model.n_features_in_:
        raise ValueError(
            f"X has {d} features, but the model is expecting {model.n_features_in_} "
            "features as input."
        )
    base_weight = check_sample_weight(sample_weight, n)
    rng = _rng(random_state)

    cov = get_covariance(model.covariance_type)
    fitted = {name: np.asarray(getattr(model, name))
              for name in ("weights_", "means_", "covariances_")}
    reference = mixture_of(fitted, model.covariance_type)
    # Renormalised in float64: float32 weights can miss a sum of 1 by more than the
    # 1e-8 that ``weights_init`` is checked to in float64.
    start_weights = np.asarray(model.weights_, dtype=np.float64)
    template = clone(model).set_params(
        weights_init=start_weights / start_weights.sum(),
        means_init=np.asarray(model.means_, dtype=np.float64),
        precisions_init=np.asarray(model.precisions_, dtype=np.float64),
        n_init=1, warm_start=False, verbose=0,
    )

    weights, means, covariances = [], [], []
    distances, n_iter = [], []
    n_not_converged = n_failed = 0
    with progress_bar(progress, n_replicates, "bootstrap") as bar:
        while len(weights) < n_replicates:
            # Resampling n rows with replacement = multinomial counts, used as weights.
            counts = np.bincount(rng.integers(0, n, size=n), minlength=n).astype(np.float64)
            replicate_weight = counts if base_weight is None else counts * base_weight
            refit = clone(template)
            try:
                with warnings.catch_warnings():
                    # Non-convergence is counted and reported instead (one warning per
                    # replicate would drown the caller).
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    refit.fit(X, sample_weight=replicate_weight)
            except _REFIT_ERRORS as exc:
                n_failed += 1
                if n_failed > n_replicates:
                    raise RuntimeError(
                        f"bootstrap: {n_failed} resamples could not be refitted "
                        f"(last error: {exc}); the model may have components too small "
                        "to survive resampling"
                    ) from exc
                continue
            params = {name: np.asarray(getattr(refit, name))
                      for name in ("weights_", "means_", "covariances_")}
            order, distance = match(reference, mixture_of(params, model.covariance_type))
            weights.append(params["weights_"][order])
            means.append(params["means_"][order])
            # A shared (tied) covariance belongs to every component: nothing to permute.
            covariances.append(params["covariances_"] if cov.shared
                               else params["covariances_"][order])
            distances.append(distance)
            n_iter.append(refit.n_iter_)
            n_not_converged += not refit.converged_
            bar.update(1)

    return BootstrapResult(
        weights=np.stack(weights).astype(np.float64),
        means=np.stack(means).astype(np.float64),
        covariances=np.stack(covariances).astype(np.float64),
        n_not_converged=int(n_not_converged),
        distances=np.asarray(distances, dtype=np.float64),
        n_iter=np.asarray(n_iter, dtype=np.int64),
        n_failed=int(n_failed),
        covariance_type=model.covariance_type,
        feature_names=_features(model, d),
    )
