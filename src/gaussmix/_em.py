"""Expectation-maximisation updates from sufficient statistics: ML and MAP.

The E-step is the kernel's pass (:func:`gaussmix._kernel.accumulate_stats`); this module
turns its statistics into new parameters (the M-step), lays parameters out for the next
pass and evaluates the objective.  Everything here is O(k d^3) and runs in float64.

Every updater (this one and :class:`gaussmix._variational.VariationalUpdates`) offers
the same methods, which is all the fit loop (:mod:`gaussmix._fit`) uses:
``params_from_stats``, ``m_step``, ``kernel_inputs``, ``objective``, ``to_attributes``
and ``from_attributes``.
"""

from dataclasses import dataclass

import numpy as np

from ._kernel import KernelInputs

LOG_2PI = np.log(2.0 * np.pi)


@dataclass
class MixtureParams:
    """Point estimates in canonical (float64) form; see :mod:`gaussmix._covariance`."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    prec_chol: np.ndarray


class EMUpdates:
    """Maximum-likelihood, or maximum a-posteriori, M-step for one covariance type.

    Parameters
    ----------
    covariance : strategy from :data:`gaussmix._covariance.COVARIANCE_TYPES`
    reg_covar : float
        Added to the diagonal of every covariance.
    eps : float
        ``10 * eps * weight_scale`` is added to every N_k (``10 * eps`` of the data's
        dtype, as scikit-learn adds, for unit weights), so that an empty component
        gives a finite (if meaningless) mean.
    priors : Priors or None
        None for maximum likelihood.  Otherwise the M-step is the joint posterior mode
        under a Normal-inverse-Wishart prior on each (mean, covariance) (Fraley &
        Raftery 2007) and, when ``priors.weights_given``, a symmetric Dirichlet on the
        weights.
    weight_scale : float, default=1.0
        The mean sample weight.  The guard on N_k scales with it, so that a maximum-
        likelihood fit depends only on the relative weights (weights of 1e-20 give the
        fit of weights of 1); with unit weights it is scikit-learn's guard.
    """

    attributes = ("weights_", "means_", "covariances_", "precisions_cholesky_")

    def __init__(self, covariance, reg_covar, eps, priors=None, weight_scale=1.0):
        self.covariance = covariance
        self.reg_covar = reg_covar
        self.eps = eps
        self.priors = priors
        self.weight_scale = weight_scale

    # ------------------------------------------------------------ M-step
    def _counts_and_means(self, centers, nk, s1):
        """N_k (+ 10 eps) and the responsibility-weighted means xbar_k."""
        nk = nk + 10.0 * self.eps * self.weight_scale
        return nk, centers + s1 / nk[:, np.newaxis]

    def params_from_stats(self, centers, nk, s1, s2):
        """weights, means, covariances from statistics centred at ``centers``."""
        cov, prior = self.covariance, self.priors
        nk, xbar = self._counts_and_means(centers, nk, s1)
        if prior is None:
            weights = nk / nk.sum()
            means = xbar
            covariances = cov.covariances(nk, s1, s2, self.reg_covar)
        else:
            weights = self._map_weights(nk)
            shrink = prior.mean_precision
            means = (shrink * prior.mean + nk[:, np.newaxis] * xbar) / (shrink + nk)[:, np.newaxis]
            # B = Psi_0 + scatter + (kappa N_k / (kappa + N_k)) (xbar_k - m_0)(...)^T,
            # mode Sigma = B / (nu_0 + d + 1 + (1 per component sharing Sigma) + N).
            d = xbar.shape[1]
            scale = (prior.covariance + cov.scatter(nk, s1, s2, 0.0)
                     + cov.pool(cov.outer(xbar - prior.mean, nk * shrink / (shrink + nk))))
            denominator = cov.pool(nk + 1.0) + prior.degrees_of_freedom + d + 1.0
            covariances = cov.divide(scale, denominator) + self.reg_covar * cov.identity(d)
        prec_chol = cov.precision_cholesky(covariances)
        return MixtureParams(weights, means, covariances, prec_chol)

    def _map_weights(self, nk):
        prior = self.priors
        if not prior.weights_given:
            return nk / nk.sum()
        if prior.weight_type != "dirichlet_distribution" or prior.weight_concentration < 1.0:
            raise ValueError(
                "MAP EM uses a symmetric Dirichlet weight prior: set "
                "weight_concentration_prior_type='dirichlet_distribution' and "
                f"weight_concentration_prior >= 1 (got {prior.weight_type!r}, "
                f"{prior.weight_concentration})"
            )
        alpha = prior.weight_concentration
        return (nk + alpha - 1.0) / (nk.sum() + nk.shape[0] * (alpha - 1.0))

    def m_step(self, params, nk, s1, s2):
        return self.params_from_stats(params.means, nk, s1, s2)

    # ------------------------------------------------------------ E-step inputs
    def kernel_inputs(self, params, dtype):
        """Kernel layout with log_norm = log w_k + log det U_k - d/2 log 2 pi."""
        k, d = params.means.shape
        log_det = self.covariance.log_det_cholesky(params.prec_chol, k)
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        log_norm = log_weights + log_det - 0.5 * d * LOG_2PI
        return KernelInputs(self.covariance, params.means, params.prec_chol, log_norm, dtype)

    # ------------------------------------------------------------ objective
    def objective(self, log_likelihood, params, total_weight):
        """Average log-likelihood (ML), or average log-posterior up to a constant (MAP)."""
        if self.priors is not None:
            log_likelihood = log_likelihood + self.log_prior(params)
        return log_likelihood / total_weight

    def log_prior(self, params):
        """log p(weights, means, covariances) up to an additive constant (MAP EM).

        Normal-inverse-Wishart density, restricted to the covariance family:
        -(nu_0 + d + 1 + m)/2 log|Sigma| - 1/2 tr(Psi_0 Sigma^-1)
        - kappa/2 sum_k (mu_k - m_0)^T Sigma_k^-1 (mu_k - m_0), with m the number of
        components sharing Sigma; plus (alpha - 1) sum_k log w_k for a Dirichlet.
        """
        cov, prior = self.covariance, self.priors
        k, d = params.means.shape
        n_factors = cov.n_factors(k)
        log_det_prec = 2.0 * cov.log_det_cholesky(params.prec_chol, n_factors)
        sharing = cov.pool(np.ones(k))
        value = np.sum(0.5 * (prior.degrees_of_freedom + d + 1.0 + sharing) * log_det_prec)
        value -= 0.5 * np.sum(cov.trace_product(prior.covariance, cov.precisions(params.prec_chol)))
        value -= 0.5 * prior.mean_precision * np.sum(
            cov.mahalanobis(params.means - prior.mean, params.prec_chol))
        if prior.weights_given:
            value += (prior.weight_concentration - 1.0) * np.sum(np.log(params.weights))
        return float(value)

    # ------------------------------------------------------------ attributes
    def to_attributes(self, params, dtype):
        """Fitted attributes (scikit-learn shapes, the data's dtype)."""
        cov = self.covariance
        k = params.means.shape[0]
        return {
            "weights_": params.weights.astype(dtype),
            "means_": params.means.astype(dtype),
            "covariances_": cov.to_public(params.covariances, k).astype(dtype),
            "precisions_cholesky_": cov.to_public(params.prec_chol, k).astype(dtype),
            "precisions_": cov.to_public(cov.precisions(params.prec_chol), k).astype(dtype),
        }

    def from_attributes(self, estimator):
        """Canonical float64 parameters from a fitted estimator's attributes."""
        cov = self.covariance
        d = estimator.means_.shape[1]
        return MixtureParams(
            _as64(estimator.weights_),
            _as64(estimator.means_),
            cov.from_public(_as64(estimator.covariances_), d),
            cov.from_public(_as64(estimator.precisions_cholesky_), d),
        )


def _as64(a):
    return np.asarray(a, dtype=np.float64)
