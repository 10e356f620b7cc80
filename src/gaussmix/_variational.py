"""Variational Bayes updates from the same sufficient statistics as EM.

Model (scikit-learn's ``BayesianGaussianMixture``, Bishop 2006 section 10.2):

* weights: Dirichlet(alpha_0) or a truncated stick-breaking Dirichlet process with
  Beta(1, gamma_0) sticks;
* component k: Lambda_k ~ Wishart(W_0, nu_0), mu_k | Lambda_k ~ N(m_0, (beta_0 Lambda_k)^-1).

The variational posterior q(mu_k, Lambda_k) = N(m_k, (beta_k Lambda_k)^-1) W(W_k, nu_k)
is restricted to the covariance family: W_k diagonal ('diag'), a multiple of the
identity ('spherical'), or one (W, nu) shared by all components ('tied', scikit-learn's
choice, which averages the per-component updates).  Each restriction is exact
coordinate ascent within its family, so the evidence lower bound never decreases.

Attributes follow scikit-learn: ``covariances_ = W_k^-1 / nu_k`` and
``precisions_cholesky_`` is the upper-triangular U_k with U_k U_k^T = nu_k W_k, so the
kernel's ``||(x - m_k) @ U_k||^2`` is nu_k (x - m_k)^T W_k (x - m_k).

The ELBO reported here is complete (no constant dropped):

    ELBO = sum_n w_n log sum_k exp(log rho_nk) - KL(q(pi) || p(pi))
           - sum_k KL(q(mu_k, Lambda_k) || p(mu_k, Lambda_k))

with log rho_nk = E[log pi_k] + 1/2 E[log|Lambda_k|] - d/2 log 2 pi - d / (2 beta_k)
- nu_k/2 (x_n - m_k)^T W_k (x_n - m_k), evaluated at the current q before its update
(exactly as EM's lower bound is the log-likelihood of the current parameters).
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln, multigammaln

from ._em import LOG_2PI, EMUpdates, MixtureParams, _as64
from ._kernel import KernelInputs

LOG_2 = np.log(2.0)


@dataclass
class VariationalParams(MixtureParams):
    """Variational posterior; ``weights``/``covariances``/``prec_chol`` as scikit-learn."""

    weight_concentration: np.ndarray = None   # (k,) Dirichlet, or (2, k) sticks (a, b)
    mean_precision: np.ndarray = None          # (k,) beta_k
    degrees_of_freedom: np.ndarray = None      # (k,) nu_k, or (1,) when tied


class VariationalUpdates(EMUpdates):
    """Coordinate-ascent variational updates for one covariance type and prior.

    Shares EM's construction, M-step entry point and point attributes; everything that
    differs (the posterior update, the expected kernel inputs, the ELBO) is overridden.

    Parameters
    ----------
    covariance : strategy from :data:`gaussmix._covariance.COVARIANCE_TYPES`
    reg_covar : float
        Added to the empirical covariances, as scikit-learn does.
    eps : float
        ``10 * eps * weight_scale`` is added to every N_k (see ``EMUpdates``).
    priors : Priors
    """

    attributes = ("weight_concentration_", "mean_precision_", "means_",
                  "degrees_of_freedom_", "covariances_", "precisions_cholesky_")

    # ------------------------------------------------------------ M-step
    def params_from_stats(self, centers, nk, s1, s2):
        cov, prior = self.covariance, self.priors
        nk, xbar = self._counts_and_means(centers, nk, s1)
        if prior.weight_type == "dirichlet_process":
            tail = np.hstack((np.cumsum(nk[::-1])[-2::-1], 0.0))
            concentration = np.vstack((1.0 + nk, prior.weight_concentration + tail))
        else:
            concentration = prior.weight_concentration + nk
        beta = prior.mean_precision + nk
        means = (prior.mean_precision * prior.mean + nk[:, np.newaxis] * xbar) / beta[:, np.newaxis]
        # W_k^-1 = W_0^-1 + N_k (S_k + reg) + beta_0 N_k / beta_k (xbar_k - m_0)(...)^T,
        # nu_k = nu_0 + N_k; averaged over the components that share (W, nu).
        sharing = cov.pool(np.ones_like(nk))
        scatter = cov.scatter(nk, s1, s2, self.reg_covar)
        between = cov.pool(cov.outer(xbar - prior.mean, nk * prior.mean_precision / beta))
        dof = prior.degrees_of_freedom + cov.pool(nk) / sharing
        scale_inv = prior.covariance + cov.divide(scatter + between, sharing)
        covariances = cov.divide(scale_inv, dof)
        prec_chol = cov.precision_cholesky(covariances)
        return VariationalParams(
            expected_weights(concentration), means, covariances, prec_chol,
            weight_concentration=concentration, mean_precision=beta, degrees_of_freedom=dof,
        )

    # ------------------------------------------------------------ E-step inputs
    def expected_log_weights(self, concentration):
        """E[log pi_k] under the Dirichlet or stick-breaking posterior."""
        if concentration.ndim == 2:
            a, b = concentration
            digamma_sum = digamma(a + b)
            log_stick = digamma(a) - digamma_sum
            log_rest = digamma(b) - digamma_sum
            return log_stick + np.hstack((0.0, np.cumsum(log_rest)[:-1]))
        return digamma(concentration) - digamma(concentration.sum())

    def _dof(self, params):
        k = params.means.shape[0]
        return np.broadcast_to(params.degrees_of_freedom, (k,))

    def expected_log_det(self, params):
        """E[log |Lambda_k|] = sum_i psi((nu_k - i)/2) + d log 2 + log |W_k|."""
        k, d = params.means.shape
        nu = self._dof(params)
        log_det_w = 2.0 * self.covariance.log_det_cholesky(params.prec_chol, k) - d * np.log(nu)
        psi = digamma(0.5 * (nu[:, np.newaxis] - np.arange(d))).sum(axis=1)
        return psi + d * LOG_2 + log_det_w

    def kernel_inputs(self, params, dtype):
        k, d = params.means.shape
        log_norm = (self.expected_log_weights(params.weight_concentration)
                    + 0.5 * self.expected_log_det(params)
                    - 0.5 * d * LOG_2PI - 0.5 * d / params.mean_precision)
        return KernelInputs(self.covariance, params.means, params.prec_chol, log_norm, dtype)

    # ------------------------------------------------------------ ELBO
    def objective(self, log_likelihood, params, total_weight):
        """The complete ELBO (a total over samples, like scikit-learn's lower_bound_)."""
        return float(log_likelihood - self.kl_weights(params) - self.kl_components(params).sum())

    def kl_weights(self, params):
        """KL(q(pi) || p(pi)): Dirichlet, or the sum over Beta sticks."""
        c, prior = params.weight_concentration, self.priors
        if c.ndim == 2:
            a, b = c
            a0, b0 = 1.0, prior.weight_concentration
            return float(np.sum(
                betaln(a0, b0) - betaln(a, b) + (a - a0) * digamma(a) + (b - b0) * digamma(b)
                + (a0 - a + b0 - b) * digamma(a + b)))
        alpha0 = np.full_like(c, prior.weight_concentration)
        return float(
            gammaln(c.sum()) - gammaln(c).sum() - gammaln(alpha0.sum()) + gammaln(alpha0).sum()
            + np.sum((c - alpha0) * (digamma(c) - digamma(c.sum()))))

    def kl_components(self, params):
        """KL(q(mu_k, Lambda_k) || p(mu_k, Lambda_k)) per component, shape (k,)."""
        cov, prior = self.covariance, self.priors
        k, d = params.means.shape
        nu, beta = self._dof(params), params.mean_precision
        nu0, beta0 = prior.degrees_of_freedom, prior.mean_precision
        log_det_w = 2.0 * cov.log_det_cholesky(params.prec_chol, k) - d * np.log(nu)
        log_det_w0 = -cov.log_det(prior.covariance)[0]
        e_log_det = self.expected_log_det(params)
        # nu_k tr(W_0^-1 W_k) = tr(W_0^-1 P_k) with P_k = nu_k W_k = U_k U_k^T
        trace = np.broadcast_to(
            cov.trace_product(prior.covariance, cov.precisions(params.prec_chol)), (k,))
        kl_wishart = (_log_wishart_norm(log_det_w, nu, d) - _log_wishart_norm(log_det_w0, nu0, d)
                      + 0.5 * (nu - nu0) * e_log_det - 0.5 * nu * d + 0.5 * trace)
        # E_q(Lambda)[KL(N(m_k, (beta_k Lambda)^-1) || N(m_0, (beta_0 Lambda)^-1))]
        maha = cov.mahalanobis(params.means - prior.mean, params.prec_chol)
        kl_normal = 0.5 * (d * beta0 / beta + beta0 * maha - d + d * np.log(beta / beta0))
        return kl_wishart + kl_normal

    # ------------------------------------------------------------ predictive
    def student_t(self, params):
        """Posterior predictive components: (dof, scale s_k) of Student-t densities.

        p(x | data) = sum_k E[pi_k] St(x | m_k, L_k, nu_k + 1 - d), with precision
        L_k = (nu_k + 1 - d) beta_k / (1 + beta_k) W_k = s_k U_k U_k^T.
        """
        d = params.means.shape[1]
        nu = self._dof(params)
        dof = nu + 1.0 - d
        scale = dof * params.mean_precision / ((1.0 + params.mean_precision) * nu)
        return dof, scale

    # ------------------------------------------------------------ attributes
    def to_attributes(self, params, dtype):
        cov = self.covariance
        dof = params.degrees_of_freedom
        concentration = params.weight_concentration
        if concentration.ndim == 2:
            concentration = (concentration[0].astype(dtype), concentration[1].astype(dtype))
        else:
            concentration = concentration.astype(dtype)
        return {
            **super().to_attributes(params, dtype),
            "weight_concentration_": concentration,
            "mean_precision_": params.mean_precision.astype(dtype),
            "degrees_of_freedom_": (dtype.type(dof[0]) if cov.shared else dof.astype(dtype)),
        }

    def from_attributes(self, estimator):
        cov = self.covariance
        d = estimator.means_.shape[1]
        concentration = estimator.weight_concentration_
        concentration = (np.vstack([_as64(c) for c in concentration])
                         if isinstance(concentration, tuple) else _as64(concentration))
        return VariationalParams(
            _as64(estimator.weights_),
            _as64(estimator.means_),
            cov.from_public(_as64(estimator.covariances_), d),
            cov.from_public(_as64(estimator.precisions_cholesky_), d),
            weight_concentration=concentration,
            mean_precision=_as64(estimator.mean_precision_),
            degrees_of_freedom=np.atleast_1d(_as64(estimator.degrees_of_freedom_)),
        )


def expected_weights(concentration):
    """Posterior mean weights (normalised over the truncation for the process)."""
    if concentration.ndim == 2:
        a, b = concentration
        stick = a / (a + b)
        weights = stick * np.hstack((1.0, np.cumprod(b / (a + b))[:-1]))
        return weights / weights.sum()
    return concentration / concentration.sum()


def _log_wishart_norm(log_det_w, nu, d):
    """log B(W, nu) = -nu/2 log|W| - nu d/2 log 2 - log Gamma_d(nu/2)."""
    nu = np.asarray(nu, dtype=np.float64)
    return -0.5 * nu * log_det_w - 0.5 * nu * d * LOG_2 - multigammaln(0.5 * nu, d)
