"""Expectation-maximisation updates from sufficient statistics.

The E-step is the kernel's pass (:func:`gaussmix._kernel.accumulate_stats`); this module
turns its statistics into new parameters (the M-step) and lays parameters out for the
next pass.  Everything here is O(k d^3) and runs in float64.
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
    """Maximum-likelihood M-step for one covariance type.

    Parameters
    ----------
    covariance : strategy from :data:`gaussmix._covariance.COVARIANCE_TYPES`
    reg_covar : float
        Added to the diagonal of every covariance.
    eps : float
        ``10 * eps`` of the data's dtype is added to every N_k, as scikit-learn does,
        so that an empty component gives a finite (if meaningless) mean.
    """

    def __init__(self, covariance, reg_covar, eps):
        self.covariance = covariance
        self.reg_covar = reg_covar
        self.eps = eps

    def params_from_stats(self, centers, nk, s1, s2):
        """weights, means, covariances from statistics centred at ``centers``."""
        nk = nk + 10.0 * self.eps
        weights = nk / nk.sum()
        means = centers + s1 / nk[:, np.newaxis]
        covariances = self.covariance.covariances(nk, s1, s2, self.reg_covar)
        prec_chol = self.covariance.precision_cholesky(covariances)
        return MixtureParams(weights, means, covariances, prec_chol)

    def m_step(self, params, nk, s1, s2):
        return self.params_from_stats(params.means, nk, s1, s2)

    def kernel_inputs(self, params, dtype):
        """Kernel layout with log_norm = log w_k + log det U_k - d/2 log 2 pi."""
        k, d = params.means.shape
        log_det = self.covariance.log_det_cholesky(params.prec_chol, k)
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        log_norm = log_weights + log_det - 0.5 * d * LOG_2PI
        return KernelInputs(self.covariance, params.means, params.prec_chol, log_norm, dtype)
