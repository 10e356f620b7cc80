"""The variational posterior and the prior as distributions over parameters.

:mod:`gaussmix._variational` fits q(pi) q(mu, Lambda) and keeps only its parameters.
This module turns them (and the prior) into distributions one can draw from and
evaluate, for the ArviZ posterior group and for the log p / log q importance
correction of PSIS-LOO.  Everything is float64 and vectorised over draws; nothing
here touches the data.

Parameterisation (the same for q and the prior, so that log p - log q needs no
Jacobian):

* weights: ``dirichlet_distribution``: pi ~ Dirichlet(alpha); ``dirichlet_process``:
  the truncated stick-breaking process of Blei & Jordan (2006): sticks
  v_k ~ Beta(a_k, b_k) for k < K, pi_k = v_k prod_{j<k} (1 - v_j) and the last
  component takes the rest of the stick, pi_K = prod_{j<K} (1 - v_j) (v_K = 1).  The
  fitted q(v_K) is not used; given the responsibilities, the Beta(a_k, b_k) of the
  other sticks are then the exact conditional posteriors of this model;
* 'full': Lambda_k ~ Wishart(W_k, nu_k), mu_k | Lambda_k ~ N(m_k, (beta_k Lambda_k)^-1);
* 'tied': one Lambda ~ Wishart(W, nu) shared by the components, then the means as for
  'full';
* 'diag': independent precisions lambda_kj ~ Gamma(nu_k / 2, scale 2 W_kj) (the diagonal
  of a Wishart with diagonal scale), mu_kj | lambda_kj ~ N(m_kj, 1 / (beta_k lambda_kj));
* 'spherical': lambda_k ~ Gamma(d nu_k / 2, scale 2 W_k / d), mu_k | lambda_k ~
  N(m_k, I / (beta_k lambda_k)).

In every case E[precision] = nu W, the fitted ``precisions_``.  For 'full', 'diag' and
'spherical' these are the exact conditional-conjugate posteriors given the
responsibilities; for 'tied', scikit-learn's update (nu = nu_0 + N / k) makes q wider
than that, which the log p / log q correction accounts for.

Log weights are carried instead of weights, so that components of tiny weight
(Dirichlet concentrations far below one) do not underflow to log 0.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, gammaln, logsumexp, multigammaln

LOG_2 = np.log(2.0)
LOG_2PI = np.log(2.0 * np.pi)


@dataclass
class Draws:
    """Parameters drawn from q, in the labelling of the restart they come from.

    Attributes
    ----------
    raw_weights : ndarray of shape (n, k)
        log pi (Dirichlet) or the stick fractions v (stick-breaking).
    log_weights : ndarray of shape (n, k)
        log pi_k, normalised.
    means : ndarray of shape (n, k, d)
    precisions : ndarray
        Canonical: (n, kp, d, d) for 'full'/'tied' (kp = k or 1), (n, k, d) for
        'diag'/'spherical' (spherical repeats its one value over the features).
    """

    raw_weights: np.ndarray
    log_weights: np.ndarray
    means: np.ndarray
    precisions: np.ndarray


@dataclass
class NormalPrecision:
    """Parameters of a Normal-Wishart (or Normal-Gamma) distribution per component.

    Attributes
    ----------
    means : ndarray of shape (k, d)
        m_k.
    mean_precision : ndarray of shape (k,)
        beta_k.
    dof : ndarray of shape (kp,)
        nu per precision factor (kp = 1 when tied).
    scale : ndarray
        W per factor: (kp, d, d) for 'full'/'tied', (k, d) for 'diag'/'spherical'.
    """

    means: np.ndarray
    mean_precision: np.ndarray
    dof: np.ndarray
    scale: np.ndarray


# --------------------------------------------------------------------- weights
def _log_gamma_draws(rng, shape, size):
    """log G with G ~ Gamma(shape, 1), accurate for shape << 1.

    G(a) = G(a + 1) U^(1/a) (Marsaglia & Tsang), so log G never underflows.
    """
    shape = np.broadcast_to(shape, size)
    return np.log(rng.standard_gamma(shape + 1.0)) + np.log(rng.uniform(size=size)) / shape


class DirichletWeights:
    """pi ~ Dirichlet(alpha); the raw parameter is log pi."""

    def sample(self, rng, concentration, n):
        log_g = _log_gamma_draws(rng, concentration, (n, concentration.shape[-1]))
        log_pi = log_g - logsumexp(log_g, axis=1, keepdims=True)
        return log_pi, log_pi

    def log_density(self, raw, concentration):
        alpha = np.asarray(concentration, dtype=np.float64)
        return (gammaln(alpha.sum()) - gammaln(alpha).sum()
                + ((alpha - 1.0) * raw).sum(axis=-1))

    def prior_concentration(self, prior, k):
        return np.full(k, prior.weight_concentration)


class StickWeights:
    """Truncated stick-breaking: v_k ~ Beta(a_k, b_k) for k < K, v_K = 1.

    The raw parameter is (log v_k, log(1 - v_k)) for k < K, shape (n, K - 1, 2).
    """

    def sample(self, rng, concentration, n):
        a, b = concentration[:, :-1]
        log_ga = _log_gamma_draws(rng, a, (n, a.shape[0]))
        log_gb = _log_gamma_draws(rng, b, (n, b.shape[0]))
        log_total = np.logaddexp(log_ga, log_gb)
        log_v, log_1mv = log_ga - log_total, log_gb - log_total
        log_rest = np.hstack((np.zeros((n, 1)), np.cumsum(log_1mv, axis=1)))   # (n, K)
        log_pi = log_rest + np.hstack((log_v, np.zeros((n, 1))))
        return np.stack((log_v, log_1mv), axis=-1), log_pi

    def log_density(self, raw, concentration):
        a, b = concentration[:, :-1]
        log_v, log_1mv = raw[..., 0], raw[..., 1]
        return ((a - 1.0) * log_v + (b - 1.0) * log_1mv - betaln(a, b)).sum(axis=-1)

    def prior_concentration(self, prior, k):
        return np.vstack((np.ones(k), np.full(k, prior.weight_concentration)))


def weight_family(concentration):
    """The weight distribution for a concentration of shape (k,) or (2, k)."""
    return StickWeights() if np.ndim(concentration) == 2 else DirichletWeights()


# --------------------------------------------------------------------- components
class WishartFamily:
    """'full' and 'tied': Lambda ~ Wishart(W, nu), mu | Lambda ~ N(m, (beta Lambda)^-1)."""

    def __init__(self, covariance):
        self.covariance = covariance

    def sample(self, rng, dist, n):
        d = dist.means.shape[1]
        kp = dist.scale.shape[0]
        # Bartlett: Lambda = L A A^T L^T, W = L L^T, A lower with A_ii^2 ~ chi2(nu - i).
        chol_w = np.linalg.cholesky(dist.scale)
        a = np.tril(rng.standard_normal((n, kp, d, d)), -1)
        chi2 = rng.chisquare(dist.dof[:, np.newaxis] - np.arange(d), size=(n, kp, d))
        a[..., np.arange(d), np.arange(d)] = np.sqrt(chi2)
        factor = chol_w @ a
        precisions = factor @ np.swapaxes(factor, -1, -2)
        # mu_k = m_k + U^-T z / sqrt(beta_k) with Lambda_k = U U^T.
        chol = np.linalg.cholesky(self._per_component(precisions, dist.means.shape[0]))
        z = rng.standard_normal((n,) + dist.means.shape + (1,))
        offsets = np.linalg.solve(np.swapaxes(chol, -1, -2), z)[..., 0]
        means = dist.means + offsets / np.sqrt(dist.mean_precision)[:, np.newaxis]
        return means, precisions

    def _per_component(self, precisions, k):
        return np.broadcast_to(precisions, precisions.shape[:1] + (k,) + precisions.shape[2:])

    def log_density(self, means, precisions, dist):
        """log q(Lambda) + sum_k log q(mu_k | Lambda_k), per draw."""
        d = dist.means.shape[1]
        nu = dist.dof
        log_det_prec = np.linalg.slogdet(precisions)[1]                   # (n, kp)
        log_det_w = np.linalg.slogdet(dist.scale)[1]                       # (kp,)
        trace = np.einsum("pij,npji->np", np.linalg.inv(dist.scale), precisions)
        log_wishart = (0.5 * (nu - d - 1.0) * log_det_prec - 0.5 * trace
                       - 0.5 * nu * log_det_w - 0.5 * nu * d * LOG_2
                       - multigammaln(0.5 * nu, d))
        k = dist.means.shape[0]
        per_component = self._per_component(precisions, k)
        diff = means - dist.means
        maha = np.einsum("nki,nkij,nkj->nk", diff, per_component, diff)
        log_det_k = np.broadcast_to(log_det_prec, (means.shape[0], k))
        beta = dist.mean_precision
        log_normal = (0.5 * d * np.log(beta) + 0.5 * log_det_k - 0.5 * d * LOG_2PI
                      - 0.5 * beta * maha)
        return log_wishart.sum(axis=1) + log_normal.sum(axis=1)

    def prec_chol(self, precisions):
        """Upper U with U U^T = Lambda (scikit-learn's layout), batched: flip, lower, flip."""
        flipped = np.linalg.cholesky(precisions[..., ::-1, ::-1])
        return np.ascontiguousarray(flipped[..., ::-1, ::-1])

    def public(self, precisions):
        return precisions[:, 0] if self.covariance.shared else precisions

    def from_fit(self, public_precisions, dof, k, d):
        """(nu, W) per factor from the fitted ``precisions_ = nu W`` and ``degrees_of_freedom_``."""
        prec = self.covariance.from_public(np.asarray(public_precisions, dtype=np.float64), d)
        dof = np.atleast_1d(np.asarray(dof, dtype=np.float64))
        return dof, prec / dof[:, np.newaxis, np.newaxis]

    def prior_scale(self, prior, k):
        """(nu_0, W_0) per factor: W_0 = inv(covariance_prior)."""
        kp = self.covariance.n_factors(k)
        w0 = np.linalg.inv(prior.covariance[0])
        return np.full(kp, prior.degrees_of_freedom), np.broadcast_to(w0, (kp,) + w0.shape).copy()


class GammaFamily:
    """'diag' and 'spherical': independent Gamma precisions, Normal means."""

    def __init__(self, covariance):
        self.covariance = covariance
        self.isotropic = covariance.isotropic

    def _shape_scale(self, dist):
        d = dist.means.shape[1]
        s = float(d) if self.isotropic else 1.0
        shape = 0.5 * s * dist.dof[:, np.newaxis]                # (k, 1)
        scale = 2.0 * self._free(dist.scale) / s                 # (k, d) or (k, 1)
        return shape, scale

    def _free(self, values):
        """The free precision entries: all features (diag) or the first (spherical)."""
        return values[..., :1] if self.isotropic else values

    def sample(self, rng, dist, n):
        k, d = dist.means.shape
        shape, scale = self._shape_scale(dist)
        lam = rng.gamma(np.broadcast_to(shape, scale.shape), scale, size=(n,) + scale.shape)
        lam = np.broadcast_to(lam, (n, k, d)).copy()
        z = rng.standard_normal((n, k, d))
        means = dist.means + z / np.sqrt(dist.mean_precision[:, np.newaxis] * lam)
        return means, lam

    def log_density(self, means, precisions, dist):
        shape, scale = self._shape_scale(dist)
        lam = self._free(precisions)
        log_gamma = ((shape - 1.0) * np.log(lam) - lam / scale - shape * np.log(scale)
                     - gammaln(shape)).sum(axis=(1, 2))
        beta = dist.mean_precision[:, np.newaxis]
        diff = means - dist.means
        log_normal = (0.5 * np.log(beta * precisions) - 0.5 * LOG_2PI
                      - 0.5 * beta * precisions * diff**2).sum(axis=(1, 2))
        return log_gamma + log_normal

    def prec_chol(self, precisions):
        return np.sqrt(precisions)

    def public(self, precisions):
        return precisions[..., 0] if self.isotropic else precisions

    def from_fit(self, public_precisions, dof, k, d):
        prec = self.covariance.from_public(np.asarray(public_precisions, dtype=np.float64), d)
        dof = np.atleast_1d(np.asarray(dof, dtype=np.float64))
        return dof, prec / dof[:, np.newaxis]

    def prior_scale(self, prior, k):
        w0 = 1.0 / prior.covariance[0]
        return np.full(k, prior.degrees_of_freedom), np.broadcast_to(w0, (k, w0.shape[0])).copy()


def component_family(covariance):
    """The distribution family of (means, precisions) for a covariance strategy."""
    return GammaFamily(covariance) if covariance.diagonal else WishartFamily(covariance)


# --------------------------------------------------------------------- the joint
class VariationalPosterior:
    """q(pi) q(mu, Lambda) of one restart, or the prior p(pi) p(mu, Lambda).

    Parameters
    ----------
    covariance : covariance strategy
    concentration : ndarray of shape (k,) or (2, k)
    components : NormalPrecision
    """

    def __init__(self, covariance, concentration, components):
        self.covariance = covariance
        self.concentration = np.asarray(concentration, dtype=np.float64)
        self.components = components
        self.weights = weight_family(self.concentration)
        self.family = component_family(covariance)

    @classmethod
    def from_restart(cls, covariance, params):
        """q from a restart's fitted attributes (``Restart.params``)."""
        concentration = params["weight_concentration_"]
        concentration = (np.vstack(concentration) if isinstance(concentration, tuple)
                         else concentration)
        means = np.asarray(params["means_"], dtype=np.float64)
        k, d = means.shape
        family = component_family(covariance)
        dof, scale = family.from_fit(params["precisions_"], params["degrees_of_freedom_"], k, d)
        beta = np.asarray(params["mean_precision_"], dtype=np.float64)
        return cls(covariance, concentration, NormalPrecision(means, beta, dof, scale))

    @classmethod
    def prior(cls, covariance, priors, k):
        """The prior p(pi) p(mu, Lambda) with the resolved ``priors`` of a fit."""
        weights = (StickWeights() if priors.weight_type == "dirichlet_process"
                   else DirichletWeights())
        family = component_family(covariance)
        dof, scale = family.prior_scale(priors, k)
        d = scale.shape[-1]
        means = np.broadcast_to(np.asarray(priors.mean, dtype=np.float64), (k, d)).copy()
        beta = np.full(k, priors.mean_precision)
        return cls(covariance, weights.prior_concentration(priors, k),
                   NormalPrecision(means, beta, dof, scale))

    def sample(self, rng, n):
        """Draw ``n`` parameter sets, in this restart's labelling."""
        raw, log_weights = self.weights.sample(rng, self.concentration, n)
        means, precisions = self.family.sample(rng, self.components, n)
        return Draws(raw, log_weights, means, precisions)

    def log_density(self, draws):
        """log q(theta) per draw (shape (n,)), normalised."""
        return (self.weights.log_density(draws.raw_weights, self.concentration)
                + self.family.log_density(draws.means, draws.precisions, self.components))
