"""Covariance types, dispatched once.

The four scikit-learn covariance types fall into two kernel layouts:

* *triangular*: ``full`` (one factor per component) and ``tied`` (one shared factor,
  statistics pooled over components);
* *diagonal*: ``diag`` (one variance per feature and component) and ``spherical``
  (the same, averaged over features).

:data:`COVARIANCE_TYPES` maps each name to one strategy object.  Every function that
depends on the covariance type asks that object, so there is no ``if/elif`` ladder on
the type anywhere else.  Inside the fit loop parameters are held in a *canonical* form,
float64: triangular ``(kp, d, d)`` with kp = k or 1, diagonal ``(k, d)``.  ``to_public`` /
``from_public`` convert to and from scikit-learn's attribute shapes.
"""

import numpy as np
from scipy import linalg

_ILL_DEFINED = (
    "Fitting the mixture model failed because some components have ill-defined "
    "empirical covariance (for instance caused by singleton or collapsed samples). "
    "Try to decrease the number of components, increase reg_covar, or scale the "
    "input data."
)


class _Triangular:
    """``full`` (shared=False) and ``tied`` (shared=True) covariances."""

    diagonal = False

    def __init__(self, name, shared):
        self.name = name
        self.shared = shared

    # -- shapes -----------------------------------------------------------------
    def n_factors(self, n_components):
        return 1 if self.shared else n_components

    def public_shape(self, n_components, n_features):
        d = n_features
        return (d, d) if self.shared else (n_components, d, d)

    def to_public(self, canonical, n_components=None):
        return canonical[0] if self.shared else canonical

    def from_public(self, public, n_features=None):
        return public[np.newaxis] if self.shared else public

    def stats_shape(self, n_components, n_features):
        return (self.n_factors(n_components), n_features * n_features)

    def n_parameters(self, n_components, n_features):
        return self.n_factors(n_components) * n_features * (n_features + 1) // 2

    # -- M-step -----------------------------------------------------------------
    def pool(self, a):
        """Sum over components when they share one covariance."""
        return a.sum(axis=0, keepdims=True) if self.shared else a

    def scatter(self, nk, s1, s2, reg_covar):
        """sum_n r_nk (x_n - xbar_k)(x_n - xbar_k)^T + N_k reg I, pooled when tied.

        The statistics are centred at the previous means; with delta_k = S1_k / N_k the
        mean shift, the scatter about the new mean xbar_k is S2_k - N_k delta_k delta_k^T
        (no cancellation against the data's offset from the origin).
        """
        k, d = s1.shape
        s2 = _symmetrize_lower(s2.reshape(-1, d, d))
        delta = s1 / nk[:, np.newaxis]
        scatter = s2 - self.pool(self.outer(delta, nk))
        return scatter + self.pool(nk)[:, np.newaxis, np.newaxis] * reg_covar * np.eye(d)

    def covariances(self, nk, s1, s2, reg_covar):
        """Maximum-likelihood covariances (+ reg_covar) from centred statistics."""
        return self.scatter(nk, s1, s2, reg_covar) / self.pool(nk)[:, np.newaxis, np.newaxis]

    def outer(self, diff, weights):
        """weights_k diff_k diff_k^T per component, (k, d, d)."""
        return weights[:, np.newaxis, np.newaxis] * diff[:, :, np.newaxis] * diff[:, np.newaxis, :]

    def identity(self, n_features):
        return np.eye(n_features)[np.newaxis]

    def divide(self, matrices, denominators):
        """matrices / denominators with one denominator per factor."""
        return matrices / np.asarray(denominators)[:, np.newaxis, np.newaxis]

    def log_det(self, matrices):
        """log det of each (d, d) factor."""
        return np.linalg.slogdet(matrices)[1]

    def trace_product(self, a, b):
        """tr(a_p b_p) per factor."""
        return (a * np.swapaxes(b, -1, -2)).sum(axis=(-2, -1))

    def mahalanobis(self, diff, prec_chol):
        """||diff_k @ U_k||^2 per component."""
        if self.shared:
            return ((diff @ prec_chol[0]) ** 2).sum(axis=1)
        return (np.einsum("ki,kij->kj", diff, prec_chol) ** 2).sum(axis=1)

    def precision_cholesky(self, covariances):
        """Upper-triangular U with U U^T = inv(covariance), as scikit-learn stores it."""
        _check_finite(covariances)
        d = covariances.shape[-1]
        out = np.empty_like(covariances)
        for p, cov in enumerate(covariances):
            try:
                cov_chol = linalg.cholesky(cov, lower=True)
            except linalg.LinAlgError:
                raise ValueError(_ILL_DEFINED) from None
            out[p] = linalg.solve_triangular(cov_chol, np.eye(d), lower=True).T
        return out

    def precision_cholesky_from_precisions(self, precisions):
        """Upper-triangular U with U U^T = precision, without inverting.

        Reversing rows and columns (J P J, J the exchange matrix) turns the upper
        factorisation into an ordinary lower Cholesky: J P J = L L^T gives
        P = (J L J)(J L J)^T with J L J upper triangular.
        """
        out = np.empty_like(precisions)
        for p, prec in enumerate(precisions):
            flipped = linalg.cholesky(prec[::-1, ::-1], lower=True)
            out[p] = flipped[::-1, ::-1]
        return out

    def precisions(self, prec_chol):
        return prec_chol @ np.swapaxes(prec_chol, -1, -2)

    def covariances_from_precisions(self, precisions):
        return np.linalg.inv(precisions)

    def log_det_cholesky(self, prec_chol, n_components):
        """log det U per component (broadcast over components when shared)."""
        log_det = np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
        return np.broadcast_to(log_det, (n_components,)).copy()

    def covariance_cholesky(self, covariances):
        """Lower L with L L^T = covariance, per factor, for sampling."""
        return np.linalg.cholesky(covariances)

    def draw(self, rng, mean, cov_factor, n):
        return mean + rng.standard_normal((n, mean.shape[0])) @ cov_factor.T

    def factor_index(self, component):
        return 0 if self.shared else component

    # -- kernel layout ----------------------------------------------------------
    def kernel_layout(self, means, prec_chol, dtype):
        """anchors, offsets, factors for gmmcore (see gmmcore/_gmmcore.pyx)."""
        kp, d = prec_chol.shape[0], prec_chol.shape[-1]
        factors = np.ascontiguousarray(prec_chol.reshape(kp, d * d), dtype=dtype)
        if not self.shared or means.shape[0] == 1:
            return np.ascontiguousarray(means, dtype=dtype), None, factors
        # One projection (x - a) @ U per chunk serves every component:
        # (x - m_k) @ U = (x - a) @ U - (m_k - a) @ U, with a central anchor a so that
        # nothing is computed at the data's offset from the origin.
        anchor = means.mean(axis=0, keepdims=True)
        offsets = (means - anchor) @ prec_chol[0]
        return (np.ascontiguousarray(anchor, dtype=dtype),
                np.ascontiguousarray(offsets, dtype=dtype), factors)

    # -- validation -------------------------------------------------------------
    def check_precisions(self, precisions):
        """Raise unless every precision matrix is symmetric positive definite.

        scikit-learn's test and message: symmetric to ``np.isclose``'s default
        tolerance, eigenvalues > 0.
        """
        for prec in precisions:
            if not (np.allclose(prec, prec.T) and np.linalg.eigvalsh(prec).min() > 0.0):
                raise ValueError(f"'{self.name} precision' should be symmetric, positive-definite")


class _Diagonal:
    """``diag`` (isotropic=False) and ``spherical`` (isotropic=True) covariances."""

    diagonal = True
    shared = False

    def __init__(self, name, isotropic):
        self.name = name
        self.isotropic = isotropic

    def n_factors(self, n_components):
        return n_components

    def public_shape(self, n_components, n_features):
        return (n_components,) if self.isotropic else (n_components, n_features)

    def to_public(self, canonical, n_components=None):
        return canonical[:, 0].copy() if self.isotropic else canonical

    def from_public(self, public, n_features=None):
        if self.isotropic:
            return np.repeat(public[:, np.newaxis], n_features, axis=1)
        return public

    def stats_shape(self, n_components, n_features):
        return (n_components, n_features)

    def n_parameters(self, n_components, n_features):
        return n_components if self.isotropic else n_components * n_features

    def pool(self, a):
        return a

    def scatter(self, nk, s1, s2, reg_covar):
        """Diagonal of sum_n r_nk (x_n - xbar_k)(x_n - xbar_k)^T + N_k reg (see _Triangular)."""
        delta = s1 / nk[:, np.newaxis]
        return self.project(s2 - self.outer(delta, nk) + nk[:, np.newaxis] * reg_covar)

    def covariances(self, nk, s1, s2, reg_covar):
        return self.scatter(nk, s1, s2, reg_covar) / nk[:, np.newaxis]

    def project(self, diagonals):
        """Onto the family: unchanged for diag, the feature average for spherical."""
        if self.isotropic:
            return np.repeat(diagonals.mean(axis=1, keepdims=True), diagonals.shape[1], axis=1)
        return diagonals

    def outer(self, diff, weights):
        """The family's part of weights_k diff_k diff_k^T, (k, d)."""
        return self.project(weights[:, np.newaxis] * diff**2)

    def identity(self, n_features):
        return np.ones((1, n_features))

    def divide(self, diagonals, denominators):
        return diagonals / np.asarray(denominators)[:, np.newaxis]

    def log_det(self, diagonals):
        return np.log(diagonals).sum(axis=1)

    def trace_product(self, a, b):
        return (a * b).sum(axis=1)

    def mahalanobis(self, diff, prec_chol):
        return ((diff * prec_chol) ** 2).sum(axis=1)

    def precision_cholesky(self, variances):
        _check_finite(variances)
        if not np.all(variances > 0.0):  # also catches NaN
            raise ValueError(_ILL_DEFINED)
        return 1.0 / np.sqrt(variances)

    def precision_cholesky_from_precisions(self, precisions):
        return np.sqrt(precisions)

    def precisions(self, prec_chol):
        return prec_chol**2

    def covariances_from_precisions(self, precisions):
        return 1.0 / precisions

    def log_det_cholesky(self, prec_chol, n_components):
        return np.log(prec_chol).sum(axis=1)

    def covariance_cholesky(self, variances):
        return np.sqrt(variances)

    def draw(self, rng, mean, cov_factor, n):
        return mean + rng.standard_normal((n, mean.shape[0])) * cov_factor

    def factor_index(self, component):
        return component

    def kernel_layout(self, means, prec_chol, dtype):
        return (np.ascontiguousarray(means, dtype=dtype), None,
                np.ascontiguousarray(prec_chol, dtype=dtype))

    def check_precisions(self, precisions):
        """Raise unless every precision is positive (scikit-learn's message)."""
        if np.any(~(precisions > 0)):
            raise ValueError(f"'{self.name} precision' should be positive")


OVERFLOW = (
    "The covariances are not finite: squared distances overflow the floating-point "
    "range (the data's scale is too large or the covariances too small). Rescale X "
    "(e.g. StandardScaler) or increase reg_covar."
)


def _check_finite(covariances):
    """Infinite covariances come from overflow, not from a degenerate component."""
    if np.any(np.isinf(covariances)):
        raise ValueError(OVERFLOW)


def _symmetrize_lower(a):
    """Fill the upper triangle of each (d, d) slice from its lower triangle."""
    lower = np.tril(a)
    return lower + np.swapaxes(np.tril(a, -1), -1, -2)


COVARIANCE_TYPES = {
    "full": _Triangular("full", shared=False),
    "tied": _Triangular("tied", shared=True),
    "diag": _Diagonal("diag", isotropic=False),
    "spherical": _Diagonal("spherical", isotropic=True),
}


def get_covariance(name):
    """Return the strategy object for ``covariance_type``: one of scikit-learn's four
    names, or one of mclust's 14 (see :mod:`gaussmix.models`)."""
    from .models import MODELS

    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"covariance_type must be one of {list(MODELS)}, got {name!r}"
        ) from None
