"""The one fit loop: restarts of (pass over the data -> objective -> update)."""

from dataclasses import dataclass

import numpy as np


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
        Whether the change of the objective fell below ``tol``.
    n_iter : int
        Iterations run.
    params : dict
        Final fitted attributes of this restart (``weights_``, ``means_``,
        ``covariances_``, ``precisions_cholesky_``, ``precisions_``).
    """

    lower_bound: float
    lower_bounds: np.ndarray
    converged: bool
    n_iter: int
    params: dict


@dataclass
class FitResult:
    """The restart the loop keeps, with every restart's summary.

    Attributes
    ----------
    params : MixtureParams
        Canonical parameters of the kept restart.
    lower_bound : float
        Its objective, evaluated before its last update (as in scikit-learn).
    lower_bounds : list of float
        Its objective after every iteration.
    converged : bool
        Whether it converged.
    n_iter : int
        Its iterations.
    restarts : list of Restart
        Every restart, in order.
    """

    params: object
    lower_bound: float
    lower_bounds: list
    converged: bool
    n_iter: int
    restarts: list


def fit_restarts(source, updates, start, *, n_init, max_iter, tol, stats_shape, reporter):
    """Run ``n_init`` restarts and keep the one with the highest objective.

    Each iteration is one pass of ``source`` at the current parameters, the objective
    from its log-likelihood, then the updater's M-step; a restart stops when the
    objective changes by less than ``tol`` or after ``max_iter`` iterations.

    Parameters
    ----------
    source : statistics source
        See :mod:`gaussmix._fit._sources`.
    updates : EMUpdates or VariationalUpdates
        The method's updater.
    start : callable
        ``start(init) -> (params, lower_bound)``: the parameters restart ``init``
        starts from, and the objective they had (-inf for a fresh start).
    n_init, max_iter : int
        Restarts, and iterations per restart.
    tol : float
        Convergence threshold on the change of the objective.
    stats_shape : tuple of int
        Shape of S2 for the covariance type.
    reporter : SilentReporter or VerboseReporter
        Progress messages.

    Returns
    -------
    FitResult
        With ``max_iter == 0`` the last restart is kept (nothing was evaluated).
    """
    best = None
    restarts = []
    with source.session():
        for init in range(n_init):
            reporter.init_begin(init)
            params, lower_bound = start(init)
            lower_bounds = []
            converged = False
            n_iter = 0
            for n_iter in range(1, max_iter + 1):
                previous = lower_bound
                inputs = updates.kernel_inputs(params, source.dtype)
                log_lik, nk, s1, s2 = source.statistics(inputs, stats_shape)
                lower_bound = updates.objective(log_lik, params, source.total_weight)
                params = updates.m_step(params, nk, s1, s2)
                lower_bounds.append(lower_bound)
                change = lower_bound - previous
                reporter.iteration_end(n_iter, change)
                if abs(change) < tol:
                    converged = True
                    break
            if max_iter > 0:
                reporter.init_end(lower_bound, converged)
            restarts.append(Restart(lower_bound, np.asarray(lower_bounds), converged, n_iter,
                                    updates.to_attributes(params, source.dtype)))
            if best is None or lower_bound > best.lower_bound or max_iter == 0:
                best = FitResult(params, lower_bound, lower_bounds, converged, n_iter, restarts)
    return best
