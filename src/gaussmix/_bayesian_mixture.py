"""scikit-learn's ``BayesianGaussianMixture`` name, for code that only changes its import."""

from ._gaussian_mixture import GaussianMixture


class BayesianGaussianMixture(GaussianMixture):
    """Variational Bayesian Gaussian mixture: ``GaussianMixture(method='variational')``.

    A drop-in replacement for :class:`sklearn.mixture.BayesianGaussianMixture` with its
    exact signature (keyword-only parameters, the same defaults), so code and tests
    written against scikit-learn keep working when only the import changes.  It is
    :class:`GaussianMixture` with ``method='variational'`` fixed; every method and
    fitted attribute is documented there.

    Parameters
    ----------
    n_components : int, default=1
        Upper bound on the number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Shape of the component covariances.
    tol : float, default=1e-3
        Convergence threshold on the change of the evidence lower bound.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of covariances.
    max_iter : int, default=100
        Number of iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the one with the highest lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data', 'hc'}, \
default='kmeans'
        How the initial responsibilities are drawn.
    weight_concentration_prior_type : {'dirichlet_process', \
'dirichlet_distribution'}, default='dirichlet_process'
        Stick-breaking Dirichlet process or symmetric Dirichlet prior on the weights.
    weight_concentration_prior : float, default=None
        The concentration gamma_0 or alpha_0, > 0; None means 1 / n_components.
    mean_precision_prior : float, default=None
        The precision beta_0 > 0 of the mean prior; None means 1.
    mean_prior : array-like of shape (n_features,), default=None
        The prior mean m_0; None means the data mean.
    degrees_of_freedom_prior : float, default=None
        The Wishart degrees of freedom nu_0 > n_features - 1; None means n_features.
    covariance_prior : float or array-like, default=None
        W_0^-1; None means the data covariance (its diagonal, or mean variance).
    random_state : int, RandomState instance or None, default=None
        Seed for the initialisation and for sampling.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution.
    verbose : int, default=0
        Verbosity of the fit.
    verbose_interval : int, default=10
        Iterations between two messages.
    init_max_samples : int or None, default=100_000
        Rows of the uniform subsample the initialisation runs on (see
        :class:`GaussianMixture`).
    working_memory : float, default=32
        MiB per block of out-of-core data and of per-row outputs.
    learning_decay : float, default=0.7
        The kappa in (0.5, 1] of the :meth:`~GaussianMixture.partial_fit` step size.
    learning_offset : float, default=10.0
        The t0 >= 0 of the :meth:`~GaussianMixture.partial_fit` step size.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Expected weights under the variational posterior.
    means_ : ndarray of shape (n_components, n_features)
        Posterior means of the component means.
    covariances_ : ndarray
        Expected covariances, shaped by ``covariance_type``.
    precisions_ : ndarray
        Inverses of ``covariances_``.
    precisions_cholesky_ : ndarray
        Cholesky factors of ``precisions_``.
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        Iterations of the best initialisation.
    lower_bound_ : float
        The complete evidence lower bound of the best initialisation.
    lower_bounds_ : list of float
        ``lower_bound_`` after every iteration of the best initialisation.
    weight_concentration_ : ndarray or tuple of ndarray
        Dirichlet parameters, or the (a, b) Beta parameters of the sticks.
    mean_precision_ : ndarray of shape (n_components,)
        beta_k.
    degrees_of_freedom_ : ndarray of shape (n_components,)
        nu_k.
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    GaussianMixture : The same model, and maximum-likelihood or MAP EM.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import BayesianGaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [12, 4], [10, 7]])
    >>> bgm = BayesianGaussianMixture(n_components=2, random_state=42).fit(X)
    >>> bgm.means_.round(2)
    array([[2.5 , 2.29],
           [8.46, 4.52]])
    """

    # The estimator's parameter, fixed; the *_init parameters of GaussianMixture do not
    # exist in scikit-learn's BayesianGaussianMixture and keep their default.
    method = "variational"
    weights_init = None
    means_init = None
    precisions_init = None

    _parameter_constraints: dict = {
        **{name: constraint
           for name, constraint in GaussianMixture._parameter_constraints.items()
           if name not in ("method", "weights_init", "means_init", "precisions_init")},
        # variational Bayes keeps scikit-learn's four types (and its message)
        "covariance_type": GaussianMixture._parameter_constraints["covariance_type"][:1],
    }

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        init_max_samples=100_000,
        working_memory=32,
        learning_decay=0.7,
        learning_offset=10.0,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.init_max_samples = init_max_samples
        self.working_memory = working_memory
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
