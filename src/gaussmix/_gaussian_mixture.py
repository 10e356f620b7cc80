"""The estimator: :class:`GaussianMixture`."""

import warnings
from dataclasses import dataclass
from time import perf_counter

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _kernel
from ._covariance import COVARIANCE_TYPES, get_covariance
from ._em import EMUpdates, MixtureParams
from ._initialization import (
    INIT_PARAMS,
    initial_responsibilities,
    stats_from_responsibilities,
)
from ._validation import (
    check_array_init,
    check_option,
    check_sample_weight,
    check_scalar,
    check_weights_init,
)

METHODS = ("em",)


@dataclass
class Restart:
    """The outcome of one initialisation (``n_init``) of a fit.

    Attributes
    ----------
    lower_bound : float
        Final objective (average log-likelihood for EM).
    lower_bounds : ndarray of shape (n_iter,)
        Objective after every iteration.
    converged : bool
    n_iter : int
    params : dict
        Final fitted attributes of this restart (``weights_``, ``means_``,
        ``covariances_``, ``precisions_cholesky_``, ``precisions_``).
    """

    lower_bound: float
    lower_bounds: np.ndarray
    converged: bool
    n_iter: int
    params: dict


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture model fitted by expectation-maximisation.

    A drop-in replacement for :class:`sklearn.mixture.GaussianMixture`: the same
    parameters, fitted attributes and methods, computed by a compiled, multithreaded
    single pass over the data per iteration.  ``fit`` also accepts ``sample_weight``.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        'full': each component has its own covariance matrix; 'tied': all share one;
        'diag': each has a diagonal covariance; 'spherical': each has one variance.
    method : {'em'}, default='em'
        Fitting algorithm.  'em' is maximum-likelihood expectation-maximisation.
    tol : float, default=1e-3
        Convergence threshold: iterations stop when the change of the lower bound
        (average log-likelihood) is below ``tol``.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of covariances.
    max_iter : int, default=100
        Number of EM iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the one with the highest lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How the initial responsibilities are drawn.
    weights_init : array-like of shape (n_components,), default=None
        Initial weights (override those of ``init_params``).
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means.
    precisions_init : array-like, default=None
        Initial precisions (inverse covariances), shaped by ``covariance_type``:
        (n_components,) spherical, (n_features, n_features) tied,
        (n_components, n_features) diag, (n_components, n_features, n_features) full.
    random_state : int, RandomState instance or None, default=None
        Seed for the initialisation and for :meth:`sample`.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution (``n_init`` is then ignored).
    verbose : int, default=0
        1 prints each initialisation and iteration, 2 adds timings and the change of
        the lower bound.
    verbose_interval : int, default=10
        Iterations between two messages.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        Shaped by ``covariance_type`` as ``precisions_init``.
    precisions_ : ndarray
        Inverses of ``covariances_``.
    precisions_cholesky_ : ndarray
        Upper-triangular Cholesky factors U of the precisions (``U @ U.T``).
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        EM iterations of the best initialisation.
    lower_bound_ : float
        Average (sample-weighted) log-likelihood of the best initialisation, evaluated
        before its last M-step, as in scikit-learn.
    lower_bounds_ : list of float
        ``lower_bound_`` after every iteration of the best initialisation.
    restarts_ : list of Restart
        Every initialisation's objective trace, convergence and final parameters
        (memory independent of n_samples), for diagnostics.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined only when X has string feature names.

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

    # ------------------------------------------------------------------ checks
    def _check_parameters(self, n_features):
        check_scalar(self.n_components, "n_components", "int", low=1)
        check_option(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_option(self.method, "method", METHODS)
        check_scalar(self.tol, "tol", "real", low=0.0)
        check_scalar(self.reg_covar, "reg_covar", "real", low=0.0)
        check_scalar(self.max_iter, "max_iter", "int", low=0)
        check_scalar(self.n_init, "n_init", "int", low=1)
        check_option(self.init_params, "init_params", INIT_PARAMS)
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise TypeError(f"warm_start must be a bool, got {self.warm_start!r}")
        check_scalar(self.verbose, "verbose", "int", low=0)
        check_scalar(self.verbose_interval, "verbose_interval", "int", low=1)
        k, cov = self.n_components, get_covariance(self.covariance_type)
        inits = {}
        if self.weights_init is not None:
            inits["weights"] = check_weights_init(self.weights_init, k)
        if self.means_init is not None:
            inits["means"] = check_array_init(self.means_init, "means_init", (k, n_features))
        if self.precisions_init is not None:
            prec = check_array_init(
                self.precisions_init, "precisions_init", cov.public_shape(k, n_features)
            )
            prec = cov.from_public(prec, n_features)
            cov.check_precisions(prec)
            inits["precisions"] = prec
        return cov, inits

    def _validate_fit_data(self, X, sample_weight):
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        X = np.ascontiguousarray(X)
        n_samples = X.shape[0]
        check_scalar(self.n_components, "n_components", "int", low=1)
        if n_samples < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {n_samples}"
            )
        w = check_sample_weight(sample_weight, n_samples)
        if w is not None and np.count_nonzero(w) < self.n_components:
            raise ValueError(
                f"sample_weight has {np.count_nonzero(w)} positive entries, fewer than "
                f"n_components = {self.n_components}"
            )
        return X, w

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model parameters with the EM algorithm.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a sample of integer weight w counts as w copies of it
            in the initialisation, the EM updates and the log-likelihood.

        Returns
        -------
        self : GaussianMixture
            The fitted estimator.
        """
        X, w = self._validate_fit_data(X, sample_weight)
        self._fit(X, w)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the model and return the most probable component of each sample.

        Equivalent to ``fit(X, sample_weight=sample_weight).predict(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        X, w = self._validate_fit_data(X, sample_weight)
        self._fit(X, w)
        return self._weighted_log_prob(X).argmax(axis=1)

    def _fit(self, X, sample_weight):
        cov, inits = self._check_parameters(X.shape[1])
        updates = EMUpdates(cov, float(self.reg_covar), float(np.finfo(X.dtype).eps))
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)
        total_weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        stats_shape = cov.stats_shape(self.n_components, X.shape[1])
        n_threads = _kernel.effective_n_threads()

        best = None
        restarts = []
        with _kernel.single_threaded_blas():
            for init in range(n_init):
                self._print_verbose_msg_init_beg(init)
                if do_init:
                    params = self._initial_params(X, sample_weight, random_state, updates, inits)
                    lower_bound = -np.inf
                else:
                    params = self._get_params_canonical(cov)
                    lower_bound = self.lower_bound_
                lower_bounds = []
                converged = False
                n_iter = 0
                for n_iter in range(1, self.max_iter + 1):
                    previous = lower_bound
                    inputs = updates.kernel_inputs(params, X.dtype)
                    log_lik, nk, s1, s2 = _kernel.accumulate_stats(
                        X, sample_weight, inputs, stats_shape, n_threads
                    )
                    params = updates.m_step(params, nk, s1, s2)
                    lower_bound = log_lik / total_weight
                    lower_bounds.append(lower_bound)
                    change = lower_bound - previous
                    self._print_verbose_msg_iter_end(n_iter, change)
                    if abs(change) < self.tol:
                        converged = True
                        break
                if self.max_iter > 0:
                    self._print_verbose_msg_init_end(lower_bound, converged)
                restarts.append(
                    Restart(lower_bound, np.asarray(lower_bounds), converged, n_iter,
                            self._public_params(cov, params, X.dtype))
                )
                if best is None or lower_bound > best[0] or self.max_iter == 0:
                    best = (lower_bound, params, n_iter, lower_bounds, converged)

        lower_bound, params, n_iter, lower_bounds, converged = best
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        self._set_params_canonical(cov, params, X.dtype)
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.lower_bound_ = lower_bound
        self.lower_bounds_ = lower_bounds
        self.restarts_ = restarts
        return self

    def _initial_params(self, X, sample_weight, random_state, updates, inits):
        """Parameters from ``init_params`` responsibilities, overridden by ``*_init``."""
        cov = updates.covariance
        if len(inits) < 3:
            resp = initial_responsibilities(
                X, sample_weight, self.n_components, self.init_params, random_state
            )
            params = updates.params_from_stats(
                *stats_from_responsibilities(X, sample_weight, resp, cov)
            )
        else:  # everything given: no need to draw responsibilities
            params = MixtureParams(None, None, None, None)
        if "weights" in inits:
            params.weights = inits["weights"].copy()
        if "means" in inits:
            params.means = inits["means"].copy()
        if "precisions" in inits:
            params.prec_chol = cov.precision_cholesky_from_precisions(inits["precisions"])
            params.covariances = cov.covariances_from_precisions(inits["precisions"])
        return params

    # ------------------------------------------------------------- parameters
    @staticmethod
    def _public_params(cov, params, dtype):
        """Fitted attributes (scikit-learn shapes, the data's dtype) from canonical form."""
        return {
            "weights_": params.weights.astype(dtype),
            "means_": params.means.astype(dtype),
            "covariances_": cov.to_public(params.covariances).astype(dtype),
            "precisions_cholesky_": cov.to_public(params.prec_chol).astype(dtype),
            "precisions_": cov.to_public(cov.precisions(params.prec_chol)).astype(dtype),
        }

    def _set_params_canonical(self, cov, params, dtype):
        for name, value in self._public_params(cov, params, dtype).items():
            setattr(self, name, value)

    def _get_params_canonical(self, cov):
        n_features = self.means_.shape[1]
        as64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
        return MixtureParams(
            as64(self.weights_),
            as64(self.means_),
            cov.from_public(as64(self.covariances_), n_features),
            cov.from_public(as64(self.precisions_cholesky_), n_features),
        )

    @property
    def _covariance(self):
        return get_covariance(self.covariance_type)

    def _n_parameters(self):
        """Free parameters of the fitted model."""
        k, d = self.means_.shape
        cov_params = self._covariance.n_parameters(k, d)
        return int(cov_params + k * d + k - 1)

    # ------------------------------------------------------------- inference
    def _validate_predict_data(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        dtype = np.result_type(X.dtype, self.means_.dtype)
        return np.ascontiguousarray(X, dtype=dtype)

    def _weighted_log_prob(self, X):
        """log p(x_n, z_n = k), shape (n_samples, n_components)."""
        cov = self._covariance
        params = self._get_params_canonical(cov)
        updates = EMUpdates(cov, 0.0, 0.0)
        inputs = updates.kernel_inputs(params, X.dtype)
        with _kernel.single_threaded_blas():
            return _kernel.weighted_log_prob(X, inputs, _kernel.effective_n_threads())

    def score_samples(self, X):
        """Log-density of the model at each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        X = self._validate_predict_data(X)
        return logsumexp(self._weighted_log_prob(X), axis=1)

    def score(self, X, y=None, sample_weight=None):
        """Average log-likelihood of the samples (weighted by ``sample_weight``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        log_likelihood : float
        """
        log_density = self.score_samples(X)
        w = check_sample_weight(sample_weight, log_density.shape[0])
        return float(np.average(log_density, weights=w))

    def predict(self, X):
        """Most probable component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        X = self._validate_predict_data(X)
        return self._weighted_log_prob(X).argmax(axis=1)

    def predict_proba(self, X):
        """Posterior probability of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        X = self._validate_predict_data(X)
        log_prob = self._weighted_log_prob(X)
        return np.exp(log_prob - logsumexp(log_prob, axis=1, keepdims=True))

    def sample(self, n_samples=1):
        """Draw samples from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            The component each sample was drawn from.
        """
        check_is_fitted(self)
        check_scalar(n_samples, "n_samples", "int", low=1)
        cov = self._covariance
        params = self._get_params_canonical(cov)
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, params.weights / params.weights.sum())
        factors = cov.covariance_cholesky(params.covariances)
        draws = [
            cov.draw(rng, params.means[j], factors[cov.factor_index(j)], count)
            for j, count in enumerate(counts)
        ]
        X = np.vstack(draws).astype(self.means_.dtype, copy=False)
        y = np.repeat(np.arange(len(counts)), counts)
        return X, y

    def bic(self, X):
        """Bayesian information criterion for X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        bic : float
        """
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X):
        """Akaike information criterion for X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        aic : float
        """
        return -2 * self.score(X) * np.shape(X)[0] + 2 * self._n_parameters()

    # --------------------------------------------------------------- verbose
    def _print_verbose_msg_init_beg(self, n_init):
        if self.verbose >= 1:
            print(f"Initialization {n_init}")
            self._init_prev_time = self._iter_prev_time = perf_counter()

    def _print_verbose_msg_iter_end(self, n_iter, diff_ll):
        if self.verbose >= 1 and n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                print(f"  Iteration {n_iter}")
            else:
                now = perf_counter()
                print(
                    f"  Iteration {n_iter}\t time lapse {now - self._iter_prev_time:.5f}s"
                    f"\t ll change {diff_ll:.5f}"
                )
                self._iter_prev_time = now

    def _print_verbose_msg_init_end(self, lower_bound, converged):
        msg = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {msg}.")
        elif self.verbose >= 2:
            elapsed = perf_counter() - self._init_prev_time
            print(f"Initialization {msg}. time lapse {elapsed:.5f}s\t lower bound {lower_bound:.5f}.")
