"""Constrained M-steps of the parsimonious models Sigma_k = lambda_k D_k A_k D_k^T.

Each function turns the component masses ``nk`` (k,) and scatter matrices ``W`` about
the new means (``(k, d, d)``, or their diagonals ``(k, d)`` for the models with
identity orientation) into the covariances that maximise the expected complete-data
log-likelihood

    Q = -1/2 sum_k [n_k log det Sigma_k + tr(Sigma_k^-1 W_k)]

under the model's constraint: volume lambda_k = det(Sigma_k)^(1/d), shape A_k
(diagonal, det 1) and orientation D_k (orthogonal), each Equal across components,
Variable, or the Identity (Banfield & Raftery 1993; Celeux & Govaert 1995, whose
closed forms and fixed-point iterations are used; Browne & McNicholas 2014 for the
common orientation of EVE and VVE, found by their majorisation-minimisation step).

The iterative M-steps (VEI, VEE, VEV, EVE, VVE) alternate between closed-form
sub-steps, each of which increases Q, and stop when Q changes by less than
``MSTEP_TOL`` (relative) or after ``MSTEP_MAX_ITER`` rounds; an M-step that hits the
cap warns (``ConvergenceWarning``) and returns its last iterate, which still does not
decrease Q.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

MSTEP_TOL = 1e-10
MSTEP_MAX_ITER = 500


def _geometric_mean(values, axis=-1):
    """prod(values) ** (1 / d) along ``axis``, through logs (no overflow)."""
    with np.errstate(divide="ignore"):
        return np.exp(np.log(values).mean(axis=axis))


def _det_root(matrices):
    """det(M) ** (1 / d) of each (d, d) matrix."""
    sign, logdet = np.linalg.slogdet(matrices)
    d = matrices.shape[-1]
    return np.where(sign > 0, np.exp(logdet / d), 0.0)


def _q_diag(nk, w, variances):
    """Q for diagonal covariances (up to constants)."""
    return -0.5 * float(np.sum(nk * np.log(variances).sum(axis=1)) + np.sum(w / variances))


def _q_full(nk, W, covariances):
    _, logdet = np.linalg.slogdet(covariances)
    return -0.5 * float(np.sum(nk * logdet)
                        + np.einsum("kij,kji->", np.linalg.inv(covariances), W))


def _iterate(step, objective, state, name):
    """Run ``state = step(state)`` until ``objective(state)`` stops changing."""
    previous = objective(state)
    for _ in range(MSTEP_MAX_ITER):
        state = step(state)
        value = objective(state)
        if abs(value - previous) <= MSTEP_TOL * max(1.0, abs(value)):
            return state
        previous = value
    warnings.warn(
        f"the {name} M-step did not converge in {MSTEP_MAX_ITER} iterations (relative "
        f"change of its objective above {MSTEP_TOL:g}); its last iterate is used",
        ConvergenceWarning, stacklevel=2)
    return state


# ----------------------------------------------------------------- identity orientation
def eii(nk, w):
    """One spherical covariance: lambda I, lambda = tr(W) / (n d)."""
    d = w.shape[1]
    value = w.sum() / (nk.sum() * d)
    return np.full_like(w, value)


def eei(nk, w):
    """One diagonal covariance: diag(W) / n."""
    return np.broadcast_to(w.sum(axis=0) / nk.sum(), w.shape).copy()


def evi(nk, w):
    """lambda A_k: A_k = diag(W_k) / det(diag(W_k))^(1/d), lambda = sum_k det^(1/d) / n."""
    root = _geometric_mean(w)                                   # det(diag W_k)^(1/d)
    volume = root.sum() / nk.sum()
    return volume * w / root[:, np.newaxis]


def vei(nk, w):
    """lambda_k A: fixed point of A = diag(sum_k W_k / lambda_k) (det 1) and
    lambda_k = tr(W_k A^-1) / (n_k d) (Celeux & Govaert 1995)."""
    d = w.shape[1]

    def step(volumes):
        shape = (w / volumes[:, np.newaxis]).sum(axis=0)
        shape = shape / _geometric_mean(shape)
        return (w / shape).sum(axis=1) / (nk * d)

    def covariances(volumes):
        shape = (w / volumes[:, np.newaxis]).sum(axis=0)
        return volumes[:, np.newaxis] * (shape / _geometric_mean(shape))

    volumes = _iterate(step, lambda v: _q_diag(nk, w, covariances(v)),
                       w.sum(axis=1) / (nk * d), "VEI")
    return covariances(volumes)


# ----------------------------------------------------------------- general orientation
def evv(nk, W):
    """lambda C_k: C_k = W_k / det(W_k)^(1/d), lambda = sum_k det(W_k)^(1/d) / n."""
    root = _det_root(W)
    return (root.sum() / nk.sum()) * W / root[:, np.newaxis, np.newaxis]


def eev(nk, W):
    """lambda D_k A D_k^T: D_k the eigenvectors of W_k, A from the summed eigenvalues."""
    eigvals, eigvecs = np.linalg.eigh(W)                   # ascending, per component
    pooled = eigvals.sum(axis=0)                           # sum_k Omega_k
    root = _geometric_mean(pooled)
    shape = pooled / root
    volume = root / nk.sum()
    return volume * np.einsum("kij,j,klj->kil", eigvecs, shape, eigvecs)


def vee(nk, W):
    """lambda_k C: fixed point of C = sum_k W_k / lambda_k (det 1) and
    lambda_k = tr(C^-1 W_k) / (n_k d)."""
    d = W.shape[-1]

    def common(volumes):
        C = (W / volumes[:, np.newaxis, np.newaxis]).sum(axis=0)
        return C / _det_root(C)

    def step(volumes):
        inv = np.linalg.inv(common(volumes))
        return np.einsum("ij,kji->k", inv, W) / (nk * d)

    def covariances(volumes):
        return volumes[:, np.newaxis, np.newaxis] * common(volumes)

    start = np.trace(W, axis1=1, axis2=2) / (nk * d)
    volumes = _iterate(step, lambda v: _q_full(nk, W, covariances(v)), start, "VEE")
    return covariances(volumes)


def vev(nk, W):
    """lambda_k D_k A D_k^T: D_k the eigenvectors of W_k; fixed point of
    A = sum_k Omega_k / lambda_k (det 1) and lambda_k = tr(Omega_k A^-1) / (n_k d)."""
    d = W.shape[-1]
    eigvals, eigvecs = np.linalg.eigh(W)   # the same order (ascending) in every component

    def shape_of(volumes):
        pooled = (eigvals / volumes[:, np.newaxis]).sum(axis=0)
        return pooled / _geometric_mean(pooled)

    def step(volumes):
        return (eigvals / shape_of(volumes)).sum(axis=1) / (nk * d)

    def covariances(volumes):
        return np.einsum("kij,kj,klj->kil", eigvecs,
                         volumes[:, np.newaxis] * shape_of(volumes), eigvecs)

    start = eigvals.sum(axis=1) / (nk * d)
    volumes = _iterate(step, lambda v: _q_full(nk, W, covariances(v)), start, "VEV")
    return covariances(volumes)


def _common_orientation(W, weights_of, name, nk):
    """Common D of lambda_k D A_k D^T (EVE, VVE) by majorisation-minimisation.

    ``weights_of(D)`` returns the diagonal B_k = (lambda_k A_k)^-1 that are optimal
    given D.  For fixed B_k, f(D) = sum_k tr(B_k D^T W_k D) over orthogonal D is
    majorised at D0 by a linear function (W_k - omega_k I is negative semidefinite,
    omega_k the largest eigenvalue of W_k), whose minimiser is U V^T with
    U S V^T = svd(sum_k (omega_k I - W_k) D0 B_k) (Browne & McNicholas 2014).
    """
    d = W.shape[-1]
    omega = np.linalg.eigvalsh(W)[:, -1]
    start = np.linalg.eigh(W.sum(axis=0))[1][:, ::-1]      # pooled principal axes

    def covariances(D):
        B = weights_of(D)
        return np.einsum("ij,kj,lj->kil", D, 1.0 / B, D)

    def step(D):
        B = weights_of(D)
        F = np.einsum("k,ij->kij", omega, np.eye(d)) - W
        F = np.einsum("kij,jl,kl->il", F, D, B)
        U, _, Vt = np.linalg.svd(F)
        return U @ Vt

    D = _iterate(step, lambda D: _q_full(nk, W, covariances(D)), start, name)
    return covariances(D)


def vve(nk, W):
    """lambda_k D A_k D^T: given D, lambda_k A_k = diag(D^T W_k D) / n_k."""
    def weights_of(D):
        return nk[:, np.newaxis] / np.einsum("ij,kil,lj->kj", D, W, D)

    return _common_orientation(W, weights_of, "VVE", nk)


def eve(nk, W):
    """lambda D A_k D^T: given D, A_k = diag(D^T W_k D) (det 1) and
    lambda = sum_k tr(A_k^-1 D^T W_k D) / (n d)."""
    d = W.shape[-1]

    def weights_of(D):
        rotated = np.einsum("ij,kil,lj->kj", D, W, D)         # diag(D^T W_k D)
        shape = rotated / _geometric_mean(rotated)[:, np.newaxis]
        volume = (rotated / shape).sum() / (nk.sum() * d)
        return 1.0 / (volume * shape)

    return _common_orientation(W, weights_of, "EVE", nk)
