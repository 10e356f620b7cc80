"""``partial_fit``'s step: stepwise EM and stochastic variational inference.

Both are one recursion on the expected sufficient statistics per unit of sample
weight (Cappe & Moulines 2009, eq. 6; Hoffman, Blei, Wang & Paisley 2013, sec. 2.4):

    s_t = (1 - rho_t) s_{t-1} + rho_t s_hat(batch_t; theta_{t-1}),
    theta_t = M-step(N_t s_t),     rho_t = (t + t0) ** -kappa,  kappa in (0.5, 1],

where s_hat is the batch's average statistic at the current parameters (one pass of
the kernel, through any source) and N_t the total weight seen so far.  For EM the
M-step is the updater's (maximum likelihood or MAP).  For variational Bayes the
global natural parameters are the prior's plus N times the statistics, an affine
map, so averaging the statistics with rho_t is exactly SVI's averaging of the natural
parameters with step rho_t, with the data-set size taken as N_t.  The first batch
(t = 0) takes its statistics whole.

Statistics are kept about their own weighted means (the running means, a count per
component and the scatter about the means), and merged with the pairwise update of
Chan, Golub & LeVeque, so nothing forms E[x x^T] - mu mu^T.  The scatter is in the
kernel's S2 layout; for 'full' and 'tied' the M-step reads its lower triangle.
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class RunningStatistics:
    """Expected statistics per unit weight, about their own means.

    Attributes
    ----------
    means : ndarray of shape (n_components, n_features)
        Responsibility-weighted means.
    nk : ndarray of shape (n_components,)
        Responsibility mass per unit weight (sums to one).
    scatter : ndarray of the S2 shape of the covariance type
        sum r (x - means_k)(x - means_k)^T per unit weight (or its family's part).
    """

    means: np.ndarray
    nk: np.ndarray
    scatter: np.ndarray


@dataclass
class OnlineState:
    """What ``partial_fit`` carries from one batch to the next."""

    params: object
    running: RunningStatistics | None
    n_steps: int
    weight_seen: float


def step_size(t, learning_offset, learning_decay):
    """rho_t = (t + t0) ** -kappa: sum rho_t = inf and sum rho_t^2 < inf for kappa in (0.5, 1]."""
    return (t + learning_offset) ** -learning_decay


def _outer(covariance, diff, weights, shape):
    """sum_k weights_k diff_k diff_k^T in the S2 layout (pooled for tied)."""
    return covariance.pool(covariance.outer(diff, weights)).reshape(shape)


def batch_statistics(covariance, centers, nk, s1, s2, total_weight):
    """A pass's statistics (centred at ``centers``), per unit weight, about their means."""
    safe = np.where(nk > 0, nk, 1.0)
    delta = s1 / safe[:, np.newaxis]
    scatter = s2 - _outer(covariance, delta, nk, s2.shape)
    return RunningStatistics(centers + delta, nk / total_weight, scatter / total_weight)


def blend(covariance, running, batch, rho):
    """(1 - rho) running + rho batch, as statistics of the union (pairwise merge)."""
    a = (1.0 - rho) * running.nk
    b = rho * batch.nk
    nk = a + b
    safe = np.where(nk > 0, nk, 1.0)
    delta = batch.means - running.means
    means = running.means + delta * (b / safe)[:, np.newaxis]
    scatter = ((1.0 - rho) * running.scatter + rho * batch.scatter
               + _outer(covariance, delta, a * b / safe, running.scatter.shape))
    return RunningStatistics(means, nk, scatter)


def partial_fit_step(state, source, updates, stats_shape, learning_offset, learning_decay):
    """One mini-batch: a pass at the current parameters, the blend, the M-step.

    Returns the new state and the batch's objective at the parameters it was
    evaluated at (the average log-likelihood for EM, the batch ELBO for variational).
    """
    params = state.params
    with source.session():
        inputs = updates.kernel_inputs(params, source.dtype)
        log_likelihood, nk, s1, s2 = source.statistics(inputs, stats_shape)
    objective = updates.objective(log_likelihood, params, source.total_weight)
    cov = updates.covariance
    batch = batch_statistics(cov, params.means, nk, s1, s2, source.total_weight)
    if state.running is None:
        running = batch
    else:
        rho = step_size(state.n_steps, learning_offset, learning_decay)
        running = blend(cov, state.running, batch, rho)
    weight_seen = state.weight_seen + source.total_weight
    new_params = updates.params_from_stats(
        running.means, weight_seen * running.nk, np.zeros_like(running.means),
        weight_seen * running.scatter,
    )
    return OnlineState(new_params, running, state.n_steps + 1, weight_seen), objective
