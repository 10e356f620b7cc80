"""Conjugate priors: validation and scikit-learn's data-dependent defaults.

The same parameters serve variational Bayes (Dirichlet or Dirichlet-process weights,
Normal-Wishart component parameters, as in ``BayesianGaussianMixture``) and MAP EM
(Dirichlet weights, Normal-inverse-Wishart means and covariances, as in mclust's
``priorControl``).  Matrices are held in the covariance type's canonical form.
"""

from dataclasses import dataclass

import numpy as np

from ._validation import check_param_array

PRIOR_PARAMETERS = (
    "weight_concentration_prior",
    "mean_precision_prior",
    "mean_prior",
    "degrees_of_freedom_prior",
    "covariance_prior",
)


@dataclass
class Priors:
    """Resolved prior parameters.

    Attributes
    ----------
    weight_type : str
        'dirichlet_process' (stick-breaking, Beta(1, gamma) sticks) or
        'dirichlet_distribution' (symmetric Dirichlet).
    weight_concentration : float
        gamma (process) or alpha (distribution).
    mean_precision : float
        beta_0: the prior precision of a mean is beta_0 times the component precision.
    mean : ndarray of shape (n_features,)
        m_0.
    degrees_of_freedom : float
        nu_0 of the Wishart on precisions (equivalently inverse-Wishart on covariances).
    covariance : ndarray
        W_0^{-1}, the inverse-Wishart scale, canonical ``(1, d, d)`` or ``(1, d)``.
    weights_given : bool
        Whether the user set ``weight_concentration_prior`` (MAP EM uses the weight
        prior only then).
    """

    weight_type: str
    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: np.ndarray
    weights_given: bool


def any_prior_set(estimator):
    """True when the user set any prior parameter (turns EM into MAP EM)."""
    return any(getattr(estimator, name) is not None for name in PRIOR_PARAMETERS)


def resolve_priors(estimator, n_features, data_moments, covariance):
    """Validate the prior parameters of ``estimator`` and fill scikit-learn's defaults.

    Defaults: weight concentration 1 / n_components, mean precision 1, mean the data
    mean, degrees of freedom n_features, covariance the data covariance (its diagonal
    for 'diag', the average variance for 'spherical').  With ``sample_weight`` the data
    moments are weighted (integer weights act as repeated rows); ``data_moments()``
    returns them (mean, covariance), and is only called when a default needs them, so
    an out-of-core source reads its data only then.  Types and ranges were
    checked by the estimator's ``_parameter_constraints``; the data-dependent checks
    here raise scikit-learn's messages.
    """
    k = estimator.n_components
    weight_type = estimator.weight_concentration_prior_type
    gamma = estimator.weight_concentration_prior
    gamma = 1.0 / k if gamma is None else gamma
    beta = estimator.mean_precision_prior
    beta = 1.0 if beta is None else beta
    nu = estimator.degrees_of_freedom_prior
    if nu is None:
        nu = float(n_features)
    elif not nu > n_features - 1.0:
        raise ValueError(
            "The parameter 'degrees_of_freedom_prior' should be greater than "
            f"{n_features - 1}, but got {nu:.3f}."
        )
    data_mean, data_cov = None, None
    if estimator.mean_prior is None or estimator.covariance_prior is None:
        data_mean, data_cov = data_moments()
    if estimator.mean_prior is None:
        mean = data_mean
    else:
        mean = _named(check_param_array, "mean_prior", estimator.mean_prior, (n_features,),
                      "means")
    if estimator.covariance_prior is None:
        scale = _default_scale(covariance, data_cov)
    else:
        scale = _named(_check_scale, "covariance_prior", covariance,
                       estimator.covariance_prior, n_features)
    return Priors(weight_type, float(gamma), float(beta), mean, float(nu), scale,
                  estimator.weight_concentration_prior is not None)


def _named(check, parameter, *args):
    """Run ``check``; name ``parameter`` after scikit-learn's message if it fails.

    scikit-learn checks ``mean_prior`` and ``covariance_prior`` with its checks of the
    means and precisions, so its messages speak of 'means' or 'full precision'.  The
    message is kept verbatim (code that matches it keeps working), and the parameter
    at fault is named after it.
    """
    try:
        return check(*args)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{exc} (in {parameter})") from None


#: The default covariance prior is floored at this fraction of the average variance,
#: so that it stays a proper (positive definite) Wishart scale on singular data.
SCALE_FLOOR = 1e-6


def _default_scale(covariance, data_cov):
    """The data covariance (its diagonal, its average variance), floored where singular.

    A constant feature, identical rows or a single positively weighted sample make the
    data covariance singular; the Wishart prior would then be improper and the ELBO
    -inf.  Eigenvalues (variances) below ``SCALE_FLOOR`` times the average variance
    (1 when every feature is constant) are raised to that floor; a regular data
    covariance is left exactly as it is (scikit-learn's default).
    """
    variances = np.diag(data_cov)
    average = float(variances.mean())
    floor = SCALE_FLOOR * average if average > 0 and np.isfinite(average) else 1.0
    if not covariance.diagonal:
        smallest = float(np.linalg.eigvalsh(data_cov)[0])
        if smallest < floor:
            data_cov = data_cov + (floor - smallest) * np.eye(data_cov.shape[0])
        return data_cov[np.newaxis]
    return np.maximum(covariance.project(variances[np.newaxis]), floor)


def _check_scale(covariance, value, n_features):
    """covariance_prior in the public shape of its covariance type, as canonical.

    The checks and messages are scikit-learn's (which reuse its precision checks).
    """
    if covariance.diagonal and covariance.isotropic:
        if np.ndim(value) != 0:
            raise ValueError(
                f"covariance_prior must be a positive float for covariance_type="
                f"'spherical', got an array of shape {np.shape(value)}"
            )
        return np.full((1, n_features), float(value))
    shape = (n_features,) if covariance.diagonal else (n_features, n_features)
    scale = check_param_array(value, shape, f"{covariance.name} covariance_prior")[np.newaxis]
    covariance.check_precisions(scale)
    return scale


def public_scale(covariance, scale):
    """covariance_prior_ as scikit-learn shows it (matrix, vector or scalar)."""
    if not covariance.diagonal:
        return scale[0]
    return float(scale[0, 0]) if covariance.isotropic else scale[0]
