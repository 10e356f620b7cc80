"""Aitken-accelerated estimate of the limit of an EM objective trace.

``fit`` stops when the objective changes by less than ``tol`` between two iterations.
A small change says little on its own: EM converges *linearly*, the increments
shrinking by a factor ``a`` (the rate, in [0, 1)) per iteration, so the objective still
has ``change * a / (1 - a)`` to climb after a change of ``change``.  With a = 0.99, a
change of 1e-4 leaves 1e-2.  Aitken's delta-squared extrapolation estimates that limit
from the last three values of the trace (Böhning et al. 1994; Lindsay 1995;
McNicholas et al. 2010):

    a     = (l[T] - l[T-1]) / (l[T-1] - l[T-2])
    l_inf = l[T-1] + (l[T] - l[T-1]) / (1 - a)
    gap   = l_inf - l[T]  = (l[T] - l[T-1]) * a / (1 - a)

with ``l[T]`` the last value.  In the papers' notation this is ``a^(k)`` and
``l_inf^(k+1)`` at k = T - 1 (the last value is ``l^(k+1)``).  For an exactly geometric
tail ``l[t] = L - c r^t`` the estimate is exact: a = r and l_inf = L (up to the
rounding of the values, relative to the increments and amplified by 1 / (1 - a)).

References
----------
Böhning, D., Dietz, E., Schaub, R., Schlattmann, P. and Lindsay, B. G. (1994). The
distribution of the likelihood ratio for mixtures of densities from the one-parameter
exponential family.  Annals of the Institute of Statistical Mathematics 46, 373-388.

Lindsay, B. G. (1995).  Mixture Models: Theory, Geometry and Applications.  NSF-CBMS
Regional Conference Series in Probability and Statistics 5.

McNicholas, P. D., Murphy, T. B., McDaid, A. F. and Frost, D. (2010).  Serial and
parallel implementations of model-based clustering via parsimonious Gaussian mixture
models.  Computational Statistics & Data Analysis 54, 711-723.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class AitkenEstimate:
    """The Aitken estimate of where an objective trace is heading.

    Made by :func:`aitken`.  Each parameter is stored as the attribute of the same
    name.  All values are in the units of the trace (for EM fits, ``lower_bounds_``:
    the mean log-likelihood per sample, so multiply by the total sample weight for the
    total log-likelihood).

    Parameters
    ----------
    limit : float
        The Aitken estimate ``l_inf`` of the limit of the trace; NaN when it is not
        defined (see :func:`aitken`).
    gap : float
        ``limit`` minus the last value: how much the objective still has to climb.
        NaN when ``limit`` is.
    rate : float
        The linear rate ``a``: the ratio of the last two increments.  NaN for traces
        shorter than 3 and when the second-to-last increment is zero.
    relative_change : float
        ``|l[T] - l[T-1]|``, the last change: the quantity ``fit`` compares with
        ``tol``.  The EM objective is a per-sample mean, so this is the change of the
        total log-likelihood relative to the total sample weight.  NaN for traces
        shorter than 2.

    See Also
    --------
    aitken : Computes it from a trace.

    Examples
    --------
    >>> from gaussmix.diagnostics._aitken import aitken
    >>> est = aitken([-3.0, -2.0, -1.5])
    >>> est.limit, est.gap, est.rate, est.relative_change
    (-1.0, 0.5, 0.5, 0.5)
    >>> est.is_converged(tol=1e-3)
    False
    """

    limit: float
    gap: float
    rate: float
    relative_change: float

    def is_converged(self, tol: float) -> bool:
        """Whether the estimated remaining gap is below ``tol``.

        This is the check ``fit``'s ``abs(change) < tol`` stands in for: True when the
        Aitken gap is defined, non-negative and below ``tol``.  A NaN gap (short or
        erratic trace, no linear convergence yet) is never converged.

        Parameters
        ----------
        tol : float
            Threshold, in the trace's units (for EM, the model's ``tol`` compares
            directly).

        Returns
        -------
        bool
            True when ``0 <= gap < tol``.

        See Also
        --------
        aitken : Computes the estimate.

        Examples
        --------
        >>> from gaussmix.diagnostics._aitken import aitken
        >>> aitken([-2.0, -1.1, -1.01, -1.001]).is_converged(tol=1e-2)
        True
        """
        return bool(math.isfinite(self.gap) and 0.0 <= self.gap < tol)


def aitken(lower_bounds: ArrayLike) -> AitkenEstimate:
    """Aitken-accelerated estimate of the limiting objective of an EM trace.

    From the last three values ``l[T-2], l[T-1], l[T]`` of the trace (Böhning et al.
    1994; McNicholas et al. 2010)::

        a     = (l[T] - l[T-1]) / (l[T-1] - l[T-2])
        limit = l[T-1] + (l[T] - l[T-1]) / (1 - a)
        gap   = limit - l[T]

    (the papers' ``a^(k)`` and ``l_inf^(k+1)`` with k = T - 1).  In the linear regime
    of EM, where each increment is about ``a`` times the previous one, ``limit`` is the
    objective the fit would reach after infinitely many iterations, and ``gap`` how far
    the last value is from it.  Böhning et al. and Lindsay stop when ``gap < tol``;
    McNicholas et al.'s stricter variant compares ``limit - l[T-1]``, which is
    ``gap + relative_change``.

    When "converged" is trustworthy: ``fit`` declares convergence when
    ``relative_change < tol``, but ``gap = relative_change * a / (1 - a)``, which
    exceeds the change as soon as a > 1/2 and is 99 times it at a = 0.99 (heavily
    overlapping components).  A fit has converged in a sense a user can check when
    ``gap < tol`` (:meth:`AitkenEstimate.is_converged`), the rate being stable over
    the last iterations (compare ``aitken(trace[:-1])``).  Traces stopped at ``tol``
    near the floating-point resolution of the objective (changes ~1e-13 of its size)
    have increments dominated by rounding; their rate is noise and often negative, so
    the estimate comes out NaN there.

    Parameters
    ----------
    lower_bounds : array-like of shape (n_iter,)
        The objective after every iteration, e.g. ``model.lower_bounds_`` or a
        restart's ``lower_bounds`` (EM traces increase; a decreasing trace is
        extrapolated the same way, downwards).

    Returns
    -------
    AitkenEstimate
        ``limit``, ``gap``, ``rate`` and ``relative_change``.  The undefined cases:

        * fewer than 3 values: ``limit``, ``gap`` and ``rate`` are NaN
          (``relative_change`` is NaN for fewer than 2);
        * a non-finite value among the last three: everything derived from it NaN;
        * both last increments exactly zero (the trace stopped moving): ``limit`` is
          the last value, ``gap`` 0 and ``rate`` NaN;
        * the second-to-last increment zero but not the last: NaN (no rate);
        * a non-monotone tail (increments of opposite signs, ``rate < 0``): rounding
          noise or a bug, not linear convergence; NaN ``limit`` and ``gap``, the
          negative ``rate`` reported;
        * ``rate >= 1`` (increments not shrinking, still accelerating): no limit can
          be extrapolated; NaN ``limit`` and ``gap``, the ``rate`` reported.

    See Also
    --------
    gaussmix.GaussianMixture.fit : Its ``tol`` bounds ``relative_change``.
    AitkenEstimate : The returned estimate.

    Examples
    --------
    >>> from gaussmix import GaussianMixture, load_faithful
    >>> from gaussmix.diagnostics._aitken import aitken
    >>> X, _ = load_faithful()
    >>> model = GaussianMixture(2, tol=1e-8, random_state=0).fit(X)
    >>> est = aitken(model.lower_bounds_)
    >>> bool(est.relative_change < model.tol)
    True
    >>> bool(abs(est.limit - model.lower_bounds_[-1]) < 1e-6)
    True

    A geometric tail is extrapolated exactly:

    >>> est = aitken([-1.0 - 0.5**t for t in range(5)])
    >>> est.limit, est.rate
    (-1.0, 0.5)
    >>> aitken([-2.0, -1.0]).limit
    nan
    """
    trace = np.asarray(lower_bounds, dtype=np.float64).ravel()
    nan = math.nan
    if trace.size < 2:
        return AitkenEstimate(nan, nan, nan, nan)
    last = float(trace[-1])
    change = last - float(trace[-2])
    relative_change = abs(change) if math.isfinite(change) else nan
    if trace.size < 3:
        return AitkenEstimate(nan, nan, nan, relative_change)
    previous = float(trace[-2]) - float(trace[-3])
    if not (math.isfinite(change) and math.isfinite(previous)):
        return AitkenEstimate(nan, nan, nan, relative_change)
    if previous == 0.0:
        if change == 0.0:   # the trace has stopped moving: it is at its limit
            return AitkenEstimate(last, 0.0, nan, 0.0)
        return AitkenEstimate(nan, nan, nan, relative_change)
    rate = change / previous
    if not 0.0 <= rate < 1.0:
        return AitkenEstimate(nan, nan, rate, relative_change)
    # Written as last + change * a / (1 - a) (equal to l[T-1] + change / (1 - a)) so
    # that the gap is computed from the increment, not as a difference of two nearly
    # equal objective values.
    gap = change * rate / (1.0 - rate)
    return AitkenEstimate(last + gap, gap, rate, relative_change)
