"""The estimator: :class:`GaussianMixture`."""

from __future__ import annotations

import functools
import os
import warnings
from numbers import Integral, Real
from typing import TYPE_CHECKING, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln, logsumexp
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _kernel
from ._fit import (
    InMemorySource,
    RowOutput,
    SilentReporter,
    VerboseReporter,
    fit_restarts,
    is_dask_array,
    is_out_of_core,
    make_external_source,
)
from ._fit._online import OnlineState, partial_fit_step
from ._fit._loop import Restart
from ._fit._sources import InitSample
from ._covariance import get_covariance
from ._em import EMUpdates, MixtureParams
from ._initialization import (
    initial_responsibilities,
    stats_from_responsibilities,
)
from .models import MCLUST_MODELS, decompose, is_mclust_name
from ._priors import (
    PRIOR_PARAMETERS,
    any_prior_set,
    public_scale,
    resolve_priors,
)
from ._persistence import model_getstate, model_setstate, updates_property
from ._persistence import save as save_model
from ._variational import VariationalUpdates
from ._validation import (
    check_param_array,
    check_sample_weight,
    check_scalar,
    check_weights_init,
)

if TYPE_CHECKING:
    import matplotlib.figure
    import xarray

    from .diagnostics._report import DiagnosticReport

METHODS = ("em", "variational")


def _restore_on_failure(method):
    """Run a fitting method as a transaction: if it raises (KeyboardInterrupt too), the
    estimator is left exactly as it was: unfitted, or with its previous model."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        state = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    return wrapper


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture model: maximum likelihood / MAP EM, or variational Bayes.

    A drop-in replacement for :class:`sklearn.mixture.GaussianMixture` (``method='em'``)
    and :class:`sklearn.mixture.BayesianGaussianMixture` (``method='variational'``): the
    same parameters, fitted attributes and methods, computed by a compiled,
    multithreaded single pass over the data per iteration.  ``fit`` also accepts
    ``sample_weight``.

    With ``method='em'`` and any prior parameter set, EM finds the maximum a-posteriori
    estimate under the conjugate prior (Dirichlet weights when
    ``weight_concentration_prior`` is set, Normal-inverse-Wishart means and covariances;
    Fraley & Raftery 2007), which keeps covariances non-singular on degenerate data.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'} or an mclust model name, \
default='full'
        'full': each component has its own covariance matrix; 'tied': all share one;
        'diag': each has a diagonal covariance; 'spherical': each has one variance.
        With ``method='em'`` (maximum likelihood) also mclust's 14 parsimonious models
        Sigma_k = lambda_k D_k A_k D_k^T: 'EII', 'VII', 'EEI', 'VEI', 'EVI', 'VVI',
        'EEE', 'VEE', 'EVE', 'VVE', 'EEV', 'VEV', 'EVV', 'VVV' (volume, shape,
        orientation Equal, Variable or Identity; see :mod:`gaussmix.models`).  VII,
        VVI, EEE and VVV are spherical, diag, tied and full, with (k, d, d) attributes.
    method : {'em', 'variational'}, default='em'
        'em': expectation-maximisation (maximum likelihood, or MAP when a prior
        parameter is set).  'variational': mean-field variational Bayes.
    tol : float, default=1e-3
        Convergence threshold: iterations stop when the change of the lower bound
        (average log-likelihood) is below ``tol``.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of covariances.
    max_iter : int, default=100
        Number of EM iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the one with the highest lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data', 'hc'}, \
default='kmeans'
        How the initial responsibilities are drawn.  'hc' is mclust's default:
        model-based agglomerative hierarchical clustering (Fraley 1998; VVV criterion on
        SVD-transformed data, see :mod:`gaussmix._hierarchical`), deterministic and
        independent of the row order (on at most 2000 distinct rows, a systematic
        weighted subset, the others classified).
    weights_init : array-like of shape (n_components,), default=None
        Initial weights (override those of ``init_params``).
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means.
    precisions_init : array-like, default=None
        Initial precisions (inverse covariances), shaped by ``covariance_type``:
        (n_components,) spherical, (n_features, n_features) tied,
        (n_components, n_features) diag, (n_components, n_features, n_features) full
        and every mclust name.
    random_state : int, RandomState instance or None, default=None
        Seed for the initialisation and for :meth:`sample`.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution (``n_init`` is then ignored).
    verbose : int, default=0
        1 prints each initialisation and iteration, 2 adds timings and the change of
        the lower bound.
    verbose_interval : int, default=10
        Iterations between two messages.
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'}, \
            default='dirichlet_process'
        Prior on the weights for ``method='variational'``: a stick-breaking Dirichlet
        process truncated at ``n_components``, or a symmetric Dirichlet.
    weight_concentration_prior : float, default=None
        The concentration gamma_0 (process) or alpha_0 (distribution), > 0.  None
        means 1 / n_components.  For MAP EM, setting it (>= 1,
        'dirichlet_distribution') adds a Dirichlet prior.
    mean_precision_prior : float, default=None
        The prior precision beta_0 > 0 of the means, relative to the component
        precision.  None means 1.
    mean_prior : array-like of shape (n_features,), default=None
        The prior mean m_0.  None means the (weighted) data mean.
    degrees_of_freedom_prior : float, default=None
        The Wishart degrees of freedom nu_0 > n_features - 1.  None means n_features.
    covariance_prior : float or array-like, default=None
        W_0^-1, the prior covariance scale: (n_features, n_features) for 'full' and
        'tied', (n_features,) for 'diag', a float for 'spherical'.  None means the
        (weighted) data covariance, its diagonal, or its average variance.
    init_max_samples : int or None, default=100_000
        The initialisation (any ``init_params``) runs on a uniform random subsample
        of at most this many rows, drawn blockwise from out-of-core and Dask data;
        the EM or variational iterations then use every row.  Fits with
        ``n_samples <= init_max_samples`` are unaffected (nothing is drawn).  The
        default keeps k-means initialisation under a second and its memory at
        ``init_max_samples * n_features`` floats, while the subsample still pins each
        initial mean to about 1 % of its spread for up to 10 components, which the
        first iterations over all rows correct.  None uses every row.
    working_memory : float, default=32
        MiB of rows per block when X is read in blocks (``np.memmap``, HDF5, Zarr,
        any array-like with ``shape``, ``dtype`` and row slicing), and per block of
        the per-row outputs (``predict``, ``predict_proba``, ``score_samples``).
    learning_decay : float, default=0.7
        The kappa in (0.5, 1] of the :meth:`partial_fit` step size
        ``rho_t = (t + learning_offset) ** -kappa`` (the name and meaning of
        :class:`sklearn.decomposition.LatentDirichletAllocation`'s online step).
    learning_offset : float, default=10.0
        The t0 >= 0 of the :meth:`partial_fit` step size; larger values damp the early
        batches.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        The mixture weights (variational: their posterior expectation).
    means_ : ndarray of shape (n_components, n_features)
        The component means (variational: the posterior means m_k).
    covariances_ : ndarray
        The component covariances, shaped by ``covariance_type`` as
        ``precisions_init`` is.
    precisions_ : ndarray
        Inverses of ``covariances_``.
    precisions_cholesky_ : ndarray
        Upper-triangular Cholesky factors U of the precisions (``U @ U.T``).
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        Iterations of the best initialisation.
    lower_bound_ : float
        The objective of the best initialisation, evaluated before its last update
        as in scikit-learn: the average (sample-weighted) log-likelihood for EM (plus
        the log-prior for MAP EM); for ``method='variational'`` the complete evidence
        lower bound (a total over samples, with every constant, so values compare
        across ``n_components`` and priors; scikit-learn drops constants).
    lower_bounds_ : list of float
        ``lower_bound_`` after every iteration of the best initialisation.
    restarts_ : list of Restart
        Every initialisation's objective trace, convergence and final parameters
        (memory independent of n_samples), for diagnostics.
    weight_concentration_ : ndarray or tuple of two ndarrays
        ``method='variational'``: the Dirichlet parameters, or the (a, b) Beta
        parameters of the sticks.
    mean_precision_ : ndarray of shape (n_components,)
        ``method='variational'``: the precisions beta_k of the means.
    degrees_of_freedom_ : ndarray of shape (n_components,) or float
        ``method='variational'``: the Wishart degrees of freedom nu_k (one for tied).
    weight_concentration_prior_ : float
        The weight concentration used (variational and MAP EM).
    mean_precision_prior_ : float
        The mean precision prior used (variational and MAP EM).
    mean_prior_ : ndarray of shape (n_features,)
        The prior mean used (variational and MAP EM).
    degrees_of_freedom_prior_ : float
        The prior degrees of freedom used (variational and MAP EM).
    covariance_prior_ : float or ndarray
        The prior covariance scale used (variational and MAP EM).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when X has string column names.
    volumes_, shapes_, orientations_ : ndarray
        For an mclust ``covariance_type``: the decomposition Sigma_k = lambda_k D_k
        diag(A_k) D_k^T of ``covariances_`` into volumes lambda_k (n_components,),
        shapes A_k (n_components, n_features; det 1) and orientations D_k
        (n_components, n_features, n_features).
    n_samples_seen_ : int
        Rows seen by :meth:`partial_fit` since the estimator was last initialised
        (only set by ``partial_fit``; ``fit`` starts over and removes it).

    See Also
    --------
    BayesianGaussianMixture : The variational model under scikit-learn's name.
    sklearn.mixture.GaussianMixture : The estimator this one replaces.

    Notes
    -----
    For ``method='variational'``, ``score_samples`` is scikit-learn's plug-in
    surrogate; :meth:`score_samples_predictive` is the exact posterior predictive
    density, a mixture of Student-t distributions.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> gm.means_.round(1)[np.argsort(gm.means_[:, 0])]
    array([[ 1.,  2.],
           [10.,  2.]])
    """

    # scikit-learn's constraints for GaussianMixture and BayesianGaussianMixture (the
    # same names, types, ranges and InvalidParameterError messages), plus ``method``.
    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        # (The sets are written in scikit-learn's order, so that its messages, which
        # list a set's options in iteration order, come out the same.)
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"}),
                            StrOptions(set(MCLUST_MODELS))],
        "method": [StrOptions(set(METHODS))],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions({"kmeans", "random", "random_from_data", "k-means++"}),
                        StrOptions({"hc"})],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "weight_concentration_prior_type": [
            StrOptions({"dirichlet_process", "dirichlet_distribution"})
        ],
        "weight_concentration_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "mean_precision_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "mean_prior": [None, "array-like"],
        "degrees_of_freedom_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "covariance_prior": [None, "array-like", Interval(Real, 0.0, None, closed="neither")],
        "init_max_samples": [Interval(Integral, 1, None, closed="left"), None],
        "working_memory": [Interval(Real, 0.0, None, closed="neither")],
        "learning_decay": [Interval(Real, 0.5, 1.0, closed="right")],
        "learning_offset": [Interval(Real, 0.0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        method="em",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        init_max_samples=100_000,
        working_memory=32,
        learning_decay=0.7,
        learning_offset=10.0,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.method = method
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.init_max_samples = init_max_samples
        self.working_memory = working_memory
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset

    # ------------------------------------------------------------------ checks
    def _expected_failed_checks(self):
        """scikit-learn estimator checks this estimator fails by design, with reasons.

        For ``check_estimator(est, expected_failed_checks=est._expected_failed_checks())``
        and ``parametrize_with_checks``.  (scikit-learn >= 1.6 no longer reads expected
        failures from an estimator's tags; the caller passes them, as scikit-learn does
        for its own ``KMeans`` and mixtures.)  With ``init_params='hc'`` (deterministic,
        row-order independent, integer weights as repeated rows) there is none.
        """
        if self.init_params == "hc":
            return {}
        return {
            "check_sample_weight_equivalence_on_dense_data": (
                "the default k-means initialisation depends on the order of the rows, "
                "so a weighted fit and the fit on repeated rows start differently; "
                "from the same start they agree (scikit-learn declares the same check "
                "an expected failure for KMeans)"
            ),
        }

    def _check_parameters(self, n_features):
        """The data-dependent checks of the ``*_init`` arrays (scikit-learn's messages).

        Types and ranges of every parameter were checked by ``_validate_params``.
        """
        k, cov = self.n_components, get_covariance(self.covariance_type)
        if is_mclust_name(self.covariance_type) and (
                self.method == "variational" or any_prior_set(self)):
            raise ValueError(
                f"covariance_type={self.covariance_type!r} (an mclust model) is fitted by "
                "maximum-likelihood EM only: with method='variational' or a prior "
                "parameter (MAP EM) use 'full', 'tied', 'diag' or 'spherical' (mclust's "
                "VVV, EEE, VVI, VII)"
            )
        inits = {}
        if self.weights_init is not None:
            inits["weights"] = check_weights_init(self.weights_init, k)
        if self.means_init is not None:
            inits["means"] = check_param_array(self.means_init, (k, n_features), "means")
        if self.precisions_init is not None:
            shape = cov.public_shape(k, n_features)
            prec = check_param_array(self.precisions_init, shape, f"{cov.name} precision",
                                     allow_nd=len(shape) > 2)
            if hasattr(cov, "check_public_precisions"):
                cov.check_public_precisions(prec)
            prec = cov.from_public(prec, n_features)
            cov.check_precisions(prec)
            inits["precisions"] = prec
        return cov, inits

    def _data_source(self, X, sample_weight=None, *, reset, ensure_min_samples=1):
        """Validate X (and the weights) and return the source that reads it.

        ndarrays and other in-memory data go through scikit-learn's ``validate_data``;
        out-of-core arrays are read in blocks and Dask arrays on their scheduler, with
        the same shape checks (and NaN checks as blocks are read).  After a fit, X is
        read in the dtype the model computes in (float64 unless both are float32).
        """
        n_threads = _kernel.effective_n_threads()
        external = is_dask_array(X) or is_out_of_core(X)
        if not external:
            X = self._validate_in_memory(X, reset, ensure_min_samples)
            w = check_sample_weight(sample_weight, X.shape[0])
            return InMemorySource(X, w, n_threads, self.working_memory)
        dtype = None if reset else self.means_.dtype
        source = make_external_source(
            X, sample_weight, n_threads=n_threads, working_memory=self.working_memory,
            estimator_name=type(self).__name__, ensure_min_samples=ensure_min_samples,
            model_dtype=dtype,
        )
        if reset:
            self.n_features_in_ = source.n_features
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif source.n_features != self.n_features_in_:
            raise ValueError(
                f"X has {source.n_features} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )
        return source

    def _validate_in_memory(self, X, reset, ensure_min_samples=1):
        """scikit-learn's ``validate_data``, then one C-contiguous array in the dtype the
        model computes in (after a fit, float64 unless both are float32)."""
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=reset,
                          ensure_min_samples=ensure_min_samples)
        dtype = X.dtype if reset else np.result_type(X.dtype, self.means_.dtype)
        return np.ascontiguousarray(X, dtype=dtype)

    def _fit_source(self, X, sample_weight):
        """The validated source of a fit, with enough rows for ``n_components``."""
        source = self._data_source(X, sample_weight, reset=True, ensure_min_samples=2)
        self._check_fit_source(source)
        return source

    def _check_fit_source(self, source):
        """Enough rows (and rows of positive weight) for ``n_components``."""
        if source.n_samples < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {source.n_samples}"
            )
        if source.sample_weight is not None and source.n_positive < self.n_components:
            raise ValueError(
                f"sample_weight has {source.n_positive} positive entries, fewer than "
                f"n_components = {self.n_components}"
            )
        if self.init_max_samples is not None and self.init_max_samples < self.n_components:
            raise ValueError(
                f"init_max_samples = {self.init_max_samples} must be >= n_components = "
                f"{self.n_components}"
            )

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    @_restore_on_failure
    def fit(self, X: ArrayLike, y: None = None, sample_weight: ArrayLike | None = None) -> Self:
        """Estimate the model parameters from X.

        Runs ``n_init`` initialisations of EM (maximum likelihood or MAP) or of variational
        Bayes, each for at most ``max_iter`` iterations or until the objective changes by
        less than ``tol``, and keeps the one with the highest objective.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a sample of integer weight w counts as w copies of it
            in the initialisation, the updates and the log-likelihood.

        Returns
        -------
        GaussianMixture
            The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
        >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
        >>> gm.converged_
        True
        >>> np.sort(gm.means_[:, 0]).round()
        array([-3.,  3.])
        """
        source = self._fit_source(X, sample_weight)
        self._fit(source)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_restore_on_failure
    def fit_predict(self, X: ArrayLike, y: None = None,
                    sample_weight: ArrayLike | None = None) -> np.ndarray:
        """Fit the model and return the most probable component of each sample.

        Equivalent to ``fit(X, sample_weight=sample_weight).predict(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, as in :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples,)
            Component labels.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
        >>> labels = GaussianMixture(n_components=2, random_state=0).fit_predict(X)
        >>> np.bincount(labels)
        array([100, 100])
        """
        source = self._fit_source(X, sample_weight)
        self._fit(source)
        return self._per_row(source, "predict")

    def _make_updates(self, source, cov):
        """The updater for ``method`` (and MAP EM when a prior parameter is set)."""
        eps = float(np.finfo(source.dtype).eps)
        reg_covar = float(self.reg_covar)
        scale = source.total_weight / source.n_samples   # 1.0 exactly without weights
        if self.method == "variational":
            priors = resolve_priors(self, source.n_features, source.moments, cov)
            return VariationalUpdates(cov, reg_covar, eps, priors, scale)
        if not any_prior_set(self):
            return EMUpdates(cov, reg_covar, eps, None, scale)
        return EMUpdates(cov, reg_covar, eps,
                         resolve_priors(self, source.n_features, source.moments, cov), scale)

    def _fit(self, source):
        """Choose the updater, run the fit loop over ``source``, set the attributes."""
        n_features = source.n_features
        cov, inits = self._check_parameters(n_features)
        updates = self._make_updates(source, cov)
        do_init = not (self.warm_start and self._warm_start_usable(n_features))
        random_state = check_random_state(self.random_state)
        stats_shape = cov.stats_shape(self.n_components, n_features)
        init_sample = InitSample(source, self.init_max_samples, random_state)

        def start(init):
            if not do_init:
                return updates.from_attributes(self), self.lower_bound_
            params = self._initial_params(source, init_sample, random_state, updates, inits,
                                          stats_shape)
            _check_finite_start(params, source.dtype)
            return params, -np.inf

        reporter = (VerboseReporter(self.verbose, self.verbose_interval) if self.verbose
                    else SilentReporter())
        result = fit_restarts(
            source, updates, start, n_init=self.n_init if do_init else 1,
            max_iter=self.max_iter, tol=self.tol, stats_shape=stats_shape, reporter=reporter,
        )
        if not result.converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        self._set_fitted(updates, result.params, source.dtype)
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.lower_bound_ = result.lower_bound
        self.lower_bounds_ = result.lower_bounds
        self.restarts_ = result.restarts
        self._fit_weight = source.total_weight   # scales per-sample objectives to nats
        self._fit_signature = self._signature(n_features)
        for name in ("_online", "n_samples_seen_"):  # fit starts over
            if hasattr(self, name):
                delattr(self, name)
        return self

    def _signature(self, n_features):
        """What a warm start must share with the fit it continues."""
        return {"method": self.method, "covariance_type": self.covariance_type,
                "n_components": int(self.n_components), "n_features": int(n_features)}

    def _warm_start_usable(self, n_features):
        """Whether ``warm_start`` can continue the previous fit; warn when it cannot.

        A warm start continues from the fitted attributes, so the previous fit must
        have the same method, covariance type, number of components and of features.
        After ``set_params`` changed one of them (or a fit on other data), ``fit``
        starts from a fresh initialisation instead, with a warning naming the change.
        """
        if not hasattr(self, "converged_"):
            return False
        before = getattr(self, "_fit_signature", None)
        now = self._signature(n_features)
        if before is None:  # a model from an older version: compare the shapes
            before = {**now, "n_components": self.means_.shape[0],
                      "n_features": self.means_.shape[1]}
        changed = [f"{name} {before[name]!r} -> {now[name]!r}" for name in now
                   if before[name] != now[name]]
        if changed:
            warnings.warn(
                f"warm_start=True cannot continue the previous fit ({'; '.join(changed)}): "
                "fitting from a fresh initialisation instead", UserWarning, stacklevel=4)
            return False
        return True

    def _set_fitted(self, updates, params, dtype):
        for name, value in updates.to_attributes(params, dtype).items():
            setattr(self, name, value)
        for name in ("volumes_", "shapes_", "orientations_"):
            self.__dict__.pop(name, None)
        if is_mclust_name(self.covariance_type):   # Sigma_k = lambda_k D_k A_k D_k^T
            parts = decompose(self.covariances_, self.covariance_type)
            self.volumes_, self.shapes_, self.orientations_ = (
                part.astype(dtype) for part in parts)
        self._set_prior_attributes(updates)
        self._updates = updates

    def _initial_params(self, source, init_sample, random_state, updates, inits, stats_shape):
        """Parameters from ``init_params`` responsibilities, overridden by ``*_init``.

        The responsibilities are drawn on ``init_sample()`` (every row, or a subsample
        of ``init_max_samples``).  Without ``*_init`` the updater's own M-step turns
        them into parameters (as scikit-learn does for both of its estimators).  With
        them, EM starts from the given values; variational Bayes starts from the
        posterior one pass over all the data at those values implies.
        """
        cov = updates.covariance
        k = self.n_components
        if len(inits) < 3:
            X, sample_weight = init_sample()
            resp = initial_responsibilities(X, sample_weight, k, self.init_params, random_state)
            stats = stats_from_responsibilities(X, sample_weight, resp, cov)
            if not inits:
                return updates.params_from_stats(*stats)
            start = EMUpdates(cov, updates.reg_covar, updates.eps,
                              weight_scale=updates.weight_scale).params_from_stats(*stats)
        else:  # everything given: no need to draw responsibilities
            start = MixtureParams(None, None, None, None)
        if "weights" in inits:
            start.weights = inits["weights"].copy()
        if "means" in inits:
            start.means = inits["means"].copy()
        if "precisions" in inits:
            start.prec_chol = cov.precision_cholesky_from_precisions(inits["precisions"])
            start.covariances = cov.covariances_from_precisions(inits["precisions"])
        if not isinstance(updates, VariationalUpdates):
            return start
        em = EMUpdates(cov, updates.reg_covar, updates.eps, weight_scale=updates.weight_scale)
        _, nk, s1, s2 = source.statistics(em.kernel_inputs(start, source.dtype), stats_shape)
        return updates.params_from_stats(start.means, nk, s1, s2)

    # ------------------------------------------------------------- streaming
    @_fit_context(prefer_skip_nested_validation=True)
    @_restore_on_failure
    def partial_fit(self, X: ArrayLike, y: None = None,
                    sample_weight: ArrayLike | None = None) -> Self:
        """Update the model with one mini-batch: stepwise EM or stochastic VB.

        The first call (on an unfitted estimator) initialises from its batch with
        ``init_params`` and the ``*_init`` arguments; on an estimator fitted by
        :meth:`fit`, the first call continues from the fitted model.  Every call then
        makes one pass over the batch at the current parameters and moves the
        running expected sufficient statistics towards the batch's by
        ``rho_t = (t + learning_offset) ** -learning_decay``, t = 1, 2, ... after the
        first batch: stepwise EM (Cappe & Moulines 2009) for ``method='em'``,
        stochastic variational inference (Hoffman et al. 2013) on the global
        variational parameters for ``method='variational'``, with the data-set size
        taken as the weight seen so far.  See :mod:`gaussmix._fit._online`.

        The batch may be anything :meth:`fit` accepts (an out-of-core or Dask array
        too).  Prior defaults that depend on the data (``mean_prior``,
        ``covariance_prior``) come from the first batch.  ``fit`` afterwards starts
        over.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One mini-batch.  The first needs at least ``n_components`` rows.
        y : None
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the batch's rows.

        Returns
        -------
        GaussianMixture
            The updated estimator; ``n_samples_seen_`` counts the rows seen,
            ``n_iter_`` the steps taken, and ``lower_bound_`` is the objective of
            the last batch before its step (``converged_`` stays False: a stream has
            no convergence test).

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (5000, 2)), rng.normal(3, 1, (5000, 2))]
        >>> rng.shuffle(X)
        >>> gm = GaussianMixture(n_components=2, random_state=0)
        >>> for batch in np.array_split(X, 50):
        ...     gm = gm.partial_fit(batch)
        >>> gm.n_samples_seen_
        10000
        >>> np.sort(gm.means_[:, 0]).round()
        array([-3.,  3.])
        """
        online = getattr(self, "_online", None)
        fitted = online is not None or hasattr(self, "converged_")
        source = self._data_source(X, sample_weight, reset=not fitted)
        if online is None:
            updates, online = self._start_stream(source, fitted)
            history = []
        else:
            updates, history = self._updates, self.lower_bounds_
        stats_shape = updates.covariance.stats_shape(self.n_components, source.n_features)
        online, objective = partial_fit_step(online, source, updates, stats_shape,
                                             self.learning_offset, self.learning_decay)
        self._set_fitted(updates, online.params, source.dtype)
        self._online = online
        self._fit_weight = online.weight_seen
        self.n_samples_seen_ = getattr(self, "n_samples_seen_", 0) + source.n_samples
        self.n_iter_ = online.n_steps
        self.converged_ = False
        self.lower_bound_ = objective
        self.lower_bounds_ = [*history, objective]
        self.restarts_ = [Restart(objective, np.asarray(self.lower_bounds_), False,
                                  online.n_steps,
                                  updates.to_attributes(online.params, source.dtype))]
        return self

    def _start_stream(self, source, fitted):
        """The updater and first state of a stream: from the fitted model, or from an
        initialisation on the first batch."""
        if fitted:
            updates = self._updates
            return updates, OnlineState(updates.from_attributes(self), None, 0, 0.0)
        self._check_fit_source(source)
        cov, inits = self._check_parameters(source.n_features)
        updates = self._make_updates(source, cov)
        random_state = check_random_state(self.random_state)
        init_sample = InitSample(source, self.init_max_samples, random_state)
        stats_shape = cov.stats_shape(self.n_components, source.n_features)
        with source.session():
            params = self._initial_params(source, init_sample, random_state, updates, inits,
                                          stats_shape)
        return updates, OnlineState(params, None, 0, 0.0)

    def _set_prior_attributes(self, updates):
        """scikit-learn's ``*_prior_`` attributes, for the methods that use priors."""
        priors = updates.priors
        for name in PRIOR_PARAMETERS:
            if hasattr(self, name + "_"):
                delattr(self, name + "_")
        if priors is None:
            return
        self.weight_concentration_prior_ = priors.weight_concentration
        self.mean_precision_prior_ = priors.mean_precision
        self.mean_prior_ = priors.mean.copy()
        self.degrees_of_freedom_prior_ = priors.degrees_of_freedom
        self.covariance_prior_ = public_scale(updates.covariance, priors.covariance)

    # ------------------------------------------------------------- parameters
    @property
    def _covariance(self):
        return get_covariance(self.covariance_type)

    def _n_parameters(self):
        """Free parameters of the fitted model."""
        k, d = self.means_.shape
        cov_params = self._updates.covariance.n_parameters(k, d)
        return int(cov_params + k * d + k - 1)

    # ------------------------------------------------------------- inference
    def _validate_predict_data(self, X):
        check_is_fitted(self)
        return self._validate_in_memory(X, reset=False)

    def _row_output(self, source, kind):
        """The per-row output ``kind`` at the fitted parameters, for ``source``'s dtype."""
        updates = self._updates
        inputs = updates.kernel_inputs(updates.from_attributes(self), source.dtype)
        return RowOutput(inputs, kind, source.n_threads)

    def _per_row(self, source, kind, out=None):
        """``kind`` for every row of ``source``, block by block (lazily for Dask)."""
        rows = self._row_output(source, kind)
        tail_shape, dtype = rows.output_spec(source.dtype)
        return source.map_rows(rows, tail_shape, dtype, out)

    def _predict_source(self, X):
        check_is_fitted(self)
        return self._data_source(X, reset=False)

    def score_samples(self, X: ArrayLike, *, out=None) -> np.ndarray:
        """Log-density of the model at each sample.

        For ``method='variational'`` this is scikit-learn's plug-in surrogate; see
        :meth:`score_samples_predictive` for the exact posterior predictive density.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples: in memory, out of core (read in blocks of ``working_memory``
            MiB) or a Dask array.
        out : array of shape (n_samples,), default=None
            Where to write the result (an ndarray, ``np.memmap``, HDF5 or Zarr
            array), block by block.

        Returns
        -------
        ndarray of shape (n_samples,)
            Log-densities, in the dtype of ``X`` (float32 or float64; accumulated in
            float64); ``out`` when given; a lazy Dask array when X is one.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
        >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
        >>> gm.score_samples(X[:3]).shape
        (3,)
        """
        return self._per_row(self._predict_source(X), "score_samples", out)

    def score(self, X: ArrayLike, y: None = None, sample_weight: ArrayLike | None = None) -> float:
        """Average log-likelihood of the samples (weighted by ``sample_weight``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples (in memory, out of core or Dask).
        y : None
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the average.

        Returns
        -------
        float
            The (weighted) mean of :meth:`score_samples`.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
        >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
        >>> bool(np.isclose(gm.score(X), gm.score_samples(X).mean()))
        True
        """
        check_is_fitted(self)
        source = self._data_source(X, sample_weight, reset=False)
        if not isinstance(source, InMemorySource):  # a sum over blocks, never all rows
            return source.weighted_mean(self._row_output(source, "score_samples"))
        # The mean of score_samples as it returns them (X's dtype), as in scikit-learn.
        log_density = self._per_row(source, "score_samples")
        w = source.sample_weight
        if w is None:
            mean = log_density.mean()
        else:
            keep = w > 0  # a zero-weight sample counts for nothing, even at density 0
            mean = np.average(log_density[keep], weights=w[keep])
        return float(mean)  # a Python float, as scikit-learn returns

    def predict(self, X: ArrayLike, *, out=None) -> np.ndarray:
        """Most probable component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples: in memory, out of core (read in blocks) or a Dask array.
        out : array of shape (n_samples,), default=None
            Where to write the labels, block by block.

        Returns
        -------
        ndarray of shape (n_samples,)
            Component labels; ``out`` when given; a lazy Dask array when X is one.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
        >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
        >>> gm.predict(X[:3]).shape
        (3,)
        """
        return self._per_row(self._predict_source(X), "predict", out)

    def predict_proba(self, X: ArrayLike, *, out=None) -> np.ndarray:
        """Posterior probability of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples: in memory, out of core (read in blocks) or a Dask array.
        out : array of shape (n_samples, n_components), default=None
            Where to write the probabilities, block by block.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            Responsibilities (rows sum to one), in the dtype of ``X``; ``out`` when
            given; a lazy Dask array when X is one.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
        >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
        >>> gm.predict_proba(X[:2]).sum(axis=1)
        array([1., 1.])
        """
        return self._per_row(self._predict_source(X), "predict_proba", out)

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw samples from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples, in the dtype of the fitted means.
        y : ndarray of shape (n_samples,)
            The component each sample was drawn from.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
        >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
        >>> X_new, y_new = gm.sample(5)
        >>> X_new.shape, y_new.shape
        ((5, 2), (5,))
        """
        check_is_fitted(self)
        _check_n_samples(n_samples)
        params = self._updates.from_attributes(self)
        return self._draw(n_samples, params.weights, params.covariances)

    def _draw(self, n_samples, weights, covariances, dof=None, scale=None):
        """Draw from a mixture of Gaussians, or of Student-t when ``dof`` is given.

        The Student-t of component k has scale matrix ``covariances_k / scale_k``.
        """
        cov = self._updates.covariance
        means = np.asarray(self.means_, dtype=np.float64)
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        factors = cov.covariance_cholesky(covariances)
        draws = []
        for j, count in enumerate(counts):
            x = cov.draw(rng, means[j], factors[cov.factor_index(j)], count)
            if dof is not None:  # Student-t: deviation times sqrt(dof / (scale chi2_dof))
                radius = np.sqrt(dof[j] / (scale[j] * rng.chisquare(dof[j], size=(count, 1))))
                x = means[j] + (x - means[j]) * radius
            draws.append(x)
        X = np.vstack(draws).astype(self.means_.dtype, copy=False)
        y = np.repeat(np.arange(len(counts)), counts)
        return X, y

    # ------------------------------------------------------------- predictive
    def _check_variational(self, what):
        check_is_fitted(self)
        if not isinstance(self._updates, VariationalUpdates):
            raise ValueError(f"{what} needs a model fitted with method='variational'")

    def score_samples_predictive(self, X: ArrayLike) -> np.ndarray:
        """Log of the exact posterior predictive density at each sample.

        Under the fitted variational posterior the predictive density is the mixture
        ``sum_k E[pi_k] St(x | m_k, L_k, nu_k + 1 - d)`` of multivariate Student-t
        distributions with precision ``L_k = (nu_k + 1 - d) beta_k / (1 + beta_k) W_k``
        (Bishop 2006, eq. 10.81).  It integrates to one, unlike the plug-in surrogate of
        :meth:`score_samples`.  For the stick-breaking prior E[pi] is renormalised over
        the ``n_components`` kept.  Only for ``method='variational'``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples,)
            Log predictive densities, in the dtype of ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (100, 1)), rng.normal(3, 1, (100, 1))]
        >>> vb = GaussianMixture(2, method="variational", random_state=0).fit(X)
        >>> grid = np.linspace(-20, 20, 4001)[:, np.newaxis]
        >>> density = np.exp(vb.score_samples_predictive(grid))
        >>> round(float(density.sum() * (grid[1, 0] - grid[0, 0])), 3)  # integrates to 1
        1.0
        """
        self._check_variational("score_samples_predictive")
        X = self._validate_predict_data(X)
        updates = self._updates
        cov = updates.covariance
        params = updates.from_attributes(self)
        k, d = params.means.shape
        # The kernel with log_norm = 0 returns -1/2 (x - m_k)^T (nu_k W_k) (x - m_k).
        inputs = _kernel.KernelInputs(cov, params.means, params.prec_chol, np.zeros(k), X.dtype)
        # (the kernel holds the BLAS limit itself)
        quad = -2.0 * _kernel.weighted_log_prob(X, inputs, _kernel.effective_n_threads())
        dof, scale = updates.student_t(params)
        log_det_l = d * np.log(scale) + 2.0 * cov.log_det_cholesky(params.prec_chol, k)
        log_t = (gammaln(0.5 * (dof + d)) - gammaln(0.5 * dof) - 0.5 * d * np.log(dof)
                 - 0.5 * d * np.log(np.pi) + 0.5 * log_det_l
                 - 0.5 * (dof + d) * np.log1p(scale * quad / dof))
        return logsumexp(log_t + np.log(params.weights), axis=1).astype(X.dtype, copy=False)

    def sample_predictive(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw from the posterior predictive distribution.

        The predictive distribution is the Student-t mixture of
        :meth:`score_samples_predictive`.  Only for ``method='variational'``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The samples.
        y : ndarray of shape (n_samples,)
            The component each sample was drawn from.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
        >>> vb = GaussianMixture(n_components=2, method="variational", random_state=0).fit(X)
        >>> X_new, y_new = vb.sample_predictive(4)
        >>> X_new.shape
        (4, 2)
        """
        self._check_variational("sample_predictive")
        _check_n_samples(n_samples)
        updates = self._updates
        params = updates.from_attributes(self)
        dof, scale = updates.student_t(params)
        return self._draw(n_samples, params.weights, params.covariances, dof, scale)

    def bic(self, X: ArrayLike) -> float:
        """Bayesian information criterion for X (lower is better).

        ``-2 log L + p log n``, with p the number of free parameters (for the mclust
        models, mclust's count).  mclust's BIC is ``2 log L - p log n`` (higher is
        better), that is ``-bic(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        float
            The criterion.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
        >>> bics = [GaussianMixture(k, random_state=0).fit(X).bic(X) for k in (1, 2, 3)]
        >>> int(np.argmin(bics)) + 1
        2
        """
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + self._n_parameters() * np.log(n)

    def icl(self, X: ArrayLike) -> float:
        """Integrated completed likelihood criterion for X (lower is better).

        ``bic(X) - 2 sum_i log max_k p(z_i = k | x_i)``: BIC plus a penalty for
        uncertain classifications (Biernacki, Celeux & Govaert 2000), so it prefers
        well-separated clusters.  mclust reports ``-icl``: its BIC is ``2 log L - p log
        n`` and its ICL ``BIC + 2 sum_i sum_k C_ik log z_ik`` (higher is better), with C
        the MAP classification.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples (in memory, out of core or Dask).

        Returns
        -------
        float
            The criterion.

        Examples
        --------
        >>> from gaussmix import GaussianMixture, load_faithful
        >>> X, _ = load_faithful()
        >>> gm = GaussianMixture(3, covariance_type="EEE", init_params="hc", tol=1e-10,
        ...                      max_iter=1000).fit(X)
        >>> float(round(-gm.bic(X), 1)), float(round(-gm.icl(X), 1))    # mclust signs
        (-2314.3, -2358.4)
        """
        check_is_fitted(self)
        source = self._data_source(X, reset=False)
        if isinstance(source, InMemorySource):
            total = float(np.sum(self._per_row(source, "log_max_proba")))
        else:
            total = source.weighted_mean(self._row_output(source, "log_max_proba"))
            total *= source.total_weight
        return self.bic(X) - 2.0 * total

    def aic(self, X: ArrayLike) -> float:
        """Akaike information criterion for X (lower is better).

        ``-2 log L + 2 p``, with p the number of free parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        float
            The criterion.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.r_[rng.normal(-3, 1, (100, 2)), rng.normal(3, 1, (100, 2))]
        >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
        >>> bool(gm.aic(X) < gm.bic(X))
        True
        """
        return -2 * self.score(X) * np.shape(X)[0] + 2 * self._n_parameters()

    # ----------------------------------------------------------- persistence
    # The updater of the fitted model: stored by fit, partial_fit and load, otherwise
    # rebuilt from the public fitted attributes and the parameters on each access, so a
    # model assembled attribute by attribute (as scikit-learn users do) predicts.
    _updates = updates_property()

    def __getstate__(self):
        # Plain values only (no updater, records as dicts) and the gaussmix version:
        # skops then trusts everything but this class.  See gaussmix._persistence.
        return model_getstate(self)

    def __setstate__(self, state):
        # Warns under another gaussmix version; rebuilds the updater.
        model_setstate(self, state)

    def save(self, path: str | os.PathLike) -> None:
        """Save the fitted model to a file that loading cannot make execute code.

        The file is a NumPy ``.npz`` archive of plain arrays with a JSON header: the
        gaussmix and NumPy versions, the class, the parameters and every fitted
        attribute (with ``restarts_`` and the :meth:`partial_fit` state), and a SHA-256
        of the whole.  :func:`gaussmix.load` reads it back with ``allow_pickle=False``;
        the loaded model predicts, scores and samples exactly as this one, refits, and
        continues a :meth:`partial_fit` stream where this one stopped.  The format is
        documented in :mod:`gaussmix._persistence`.

        Parameters
        ----------
        path : str, path-like or binary file object
            Where to write.  The name is used as given (``.npz`` is conventional, not
            added); an existing file is replaced only once the new one is complete.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the model is not fitted.
        TypeError
            When a parameter holds a value that cannot be saved without pickle.

        Warns
        -----
        UserWarning
            When ``random_state`` is a ``RandomState`` or ``Generator``: it cannot be
            saved without pickle, and the file records ``random_state=None``.

        See Also
        --------
        gaussmix.load : Read the model back.

        Examples
        --------
        >>> import numpy as np
        >>> import gaussmix
        >>> X = np.random.default_rng(0).normal(size=(100, 2))
        >>> gm = gaussmix.GaussianMixture(n_components=2, random_state=0).fit(X)
        >>> gm.save("model.npz")
        >>> loaded = gaussmix.load("model.npz")
        >>> bool(np.array_equal(loaded.predict_proba(X), gm.predict_proba(X)))
        True
        """
        save_model(self, path)

    # ----------------------------------------------------------- diagnostics
    def to_arviz(self, X: ArrayLike | None = None, *, sample_weight: ArrayLike | None = None,
                 n_draws: int = 500, max_obs: int = 2000, n_bootstrap: int = 100,
                 random_state: int | np.random.Generator | np.random.RandomState | None = None,
                 progress: bool | None = None) -> "xarray.DataTree":
        """The fitted model as an ArviZ :class:`xarray.DataTree`.

        ``posterior`` (variational) holds draws from the kept fit's variational
        posterior only, so ``arviz_stats.summary(dt)`` describes the model whose
        ``weights_``, ``means_`` and ``covariances_`` the estimator holds; ``prior``
        the prior's.  With X also ``observed_data``, ``log_likelihood``,
        ``posterior_predictive`` and ``sample_stats`` (``lp``, ``log_q`` and the
        Pareto-smoothed ``log_weight`` of p / q, with its k-hat) for variational
        fits, and for EM fits a ``bootstrap`` group of aligned replicates.  Always:
        ``restarts`` (every restart aligned with the kept fit, its gap and distance to
        it) and ``optimization_trace``.  See :mod:`gaussmix.diagnostics._arviz`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            The training data; without it the data groups are omitted.
        sample_weight : array-like of shape (n_samples,), default=None
            The weights given to ``fit``, if any.
        n_draws : int, default=500
            Draws from the variational posterior (and the prior).
        max_obs : int, default=2000
            Rows of X kept for the pointwise log-likelihood (seeded subsample).
        n_bootstrap : int, default=100
            EM fits with X: bootstrap replicates, each a warm-started refit (0 for
            none).
        random_state : int, Generator, RandomState or None, default=None
            Seed of the draws, the subsample and the bootstrap.
        progress : bool or None, default=None
            A progress bar for the bootstrap: None when tqdm is installed and
            standard error is a terminal, True always, False never.

        Returns
        -------
        xarray.DataTree
            The groups above, for ArviZ's functions (``arviz_stats.summary``, ...).

        Examples
        --------
        >>> from gaussmix import GaussianMixture, load_faithful
        >>> X, _ = load_faithful()
        >>> gm = GaussianMixture(2, method="variational", n_init=2, random_state=0).fit(X)
        >>> dt = gm.to_arviz(X, random_state=0)
        >>> sorted(dt.children)[:4]
        ['log_likelihood', 'observed_data', 'optimization_trace', 'posterior']
        >>> means = dt.posterior["means"].mean(("chain", "draw")).values
        >>> bool(abs(means - gm.means_).max() < 0.2)    # the kept fit, within MC error
        True
        """
        from .diagnostics._arviz import to_datatree

        return to_datatree(self, X, sample_weight=sample_weight, n_draws=n_draws,
                           max_obs=max_obs, n_bootstrap=n_bootstrap,
                           random_state=random_state, progress=progress)

    def diagnose(self, X: ArrayLike | None = None, **kwargs) -> "DiagnosticReport":
        """Plain-language convergence report (see :func:`gaussmix.diagnostics.diagnose`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            The training data; enables the approximation and PSIS-LOO checks of
            variational fits.
        **kwargs
            ``sample_weight``, ``n_draws``, ``max_obs``, ``random_state``,
            ``decrease_rtol``.

        Returns
        -------
        gaussmix.diagnostics.DiagnosticReport
            The report; ``print`` it to read it (a notebook shows it as HTML).

        Examples
        --------
        >>> from gaussmix import GaussianMixture, load_faithful
        >>> X, _ = load_faithful()
        >>> gm = GaussianMixture(2, n_init=3, random_state=0).fit(X)
        >>> gm.diagnose().restart_summary()
        '3 of 3 restarts reached the best optimum'
        """
        from .diagnostics._report import diagnose

        return diagnose(self, X, **kwargs)

    def plot_diagnostics(self, path: str | os.PathLike | None = None,
                         **kwargs) -> "matplotlib.figure.Figure":
        """A figure of the restarts: objective traces, gaps, aligned weights.

        See :func:`gaussmix.diagnostics.plot_diagnostics` (needs matplotlib).

        Parameters
        ----------
        path : str or path-like, default=None
            Also save the figure there (format from the suffix).
        **kwargs
            ``n_draws``, ``random_state``, ``figsize``.

        Returns
        -------
        matplotlib.figure.Figure
            The figure.

        Examples
        --------
        >>> from gaussmix import GaussianMixture, load_faithful
        >>> X, _ = load_faithful()
        >>> gm = GaussianMixture(2, n_init=2, random_state=0).fit(X)
        >>> len(gm.plot_diagnostics().axes)
        3
        """
        from .diagnostics._plotting import plot_diagnostics

        return plot_diagnostics(self, path, **kwargs)


def _check_finite_start(params, dtype):
    """The initial model must be finite (also with ``max_iter=0``): else the data's scale
    overflowed the initialisation."""
    values = (params.weights, params.means, params.covariances, params.prec_chol)
    with np.errstate(over="ignore"):  # cast to the data's dtype, as the attributes are
        finite = all(np.all(np.isfinite(np.asarray(v, dtype=dtype))) for v in values)
    if not finite:
        raise ValueError(
            "The initial model is not finite: squared distances overflow the "
            f"floating-point range of {np.dtype(dtype)} (the data's scale is too large or "
            "the covariances too small). Rescale X (e.g. StandardScaler) or increase "
            "reg_covar."
        )


def _check_n_samples(n_samples):
    """``n_samples`` of :meth:`GaussianMixture.sample`: scikit-learn's check and message."""
    check_scalar(n_samples, "n_samples", "int")
    if n_samples < 1:
        raise ValueError(
            f"Invalid value for 'n_samples': {n_samples} . The sampling requires at "
            "least one sample."
        )
