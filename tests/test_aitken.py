"""The Aitken estimate of the limiting EM objective (gaussmix.diagnostics._aitken)."""

import itertools
import math
import warnings

import numpy as np
import pytest

from gaussmix import GaussianMixture
from gaussmix.diagnostics._aitken import AitkenEstimate, aitken


@pytest.fixture(scope="module")
def long_run():
    """A 500-iteration EM trace (tol=0) on two overlapping clusters.

    The clusters are 2.5 standard deviations apart, so EM converges linearly at a rate
    of about 0.94 and reaches the floating-point resolution of the objective well
    before the end: the last value is the limit, to ~1e-15.
    """
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal(0.0, 1.0, (1200, 2)), rng.normal([2.5, 0.0], 1.0, (800, 2))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=0 never "converges"
        model = GaussianMixture(2, tol=0.0, max_iter=500, random_state=0).fit(X)
    trace = np.asarray(model.lower_bounds_)
    assert trace.size == 500
    return trace


# ------------------------------------------------------------------ exact cases
@pytest.mark.parametrize("limit, c, r, atol", [
    (-3.2, 1.0, 0.5, 1e-12), (-3.2, 1e-2, 0.9, 1e-12), (-3.2, 1.0, 0.9, 1e-12),
    (0.0, 2.0, 0.1, 1e-12),
    # Rounding of the values (eps * 10) over increments of 3e-3, times 1 / (1 - a) = 100.
    (10.0, 0.3, 0.99, 1e-10),
])
def test_a_geometric_tail_is_extrapolated_exactly(limit, c, r, atol):
    trace = [limit - c * r**t for t in range(8)]
    est = aitken(trace)
    assert est.rate == pytest.approx(r, abs=1e-12)
    assert est.limit == pytest.approx(limit, abs=atol)
    assert est.gap == pytest.approx(limit - trace[-1], abs=atol)
    assert est.relative_change == pytest.approx(trace[-1] - trace[-2], abs=1e-15)


def test_index_convention_and_fields():
    # l = (-3, -2, -1.5): a = 0.5 / 1 ; l_inf = -2 + 0.5 / (1 - 0.5) = -1 ; gap = 0.5.
    est = aitken(np.array([-10.0, -3.0, -2.0, -1.5]))  # only the last three count
    assert est == AitkenEstimate(limit=-1.0, gap=0.5, rate=0.5, relative_change=0.5)


@pytest.mark.parametrize("trace", [[], [-1.0], [-2.0, -1.0]])
def test_short_traces_give_nan(trace):
    est = aitken(trace)
    assert math.isnan(est.limit) and math.isnan(est.gap) and math.isnan(est.rate)
    if len(trace) == 2:
        assert est.relative_change == 1.0
    else:
        assert math.isnan(est.relative_change)
    assert not est.is_converged(1.0)


def test_stationary_trace_is_at_its_limit():
    est = aitken([-2.0, -1.0, -1.0, -1.0])
    assert (est.limit, est.gap, est.relative_change) == (-1.0, 0.0, 0.0)
    assert math.isnan(est.rate)
    assert est.is_converged(1e-12)


def test_last_increment_zero_means_rate_zero():
    est = aitken([-2.0, -1.0, -1.0])
    assert (est.limit, est.gap, est.rate, est.relative_change) == (-1.0, 0.0, 0.0, 0.0)
    assert math.copysign(1.0, est.rate) == 1.0  # no -0.0


@pytest.mark.parametrize("trace, rate", [
    ([-3.0, -2.0, -2.5], -0.5),   # non-monotone tail
    ([-3.0, -2.0, -0.5], 1.5),    # increments growing
    ([-3.0, -2.0, -1.0], 1.0),    # not shrinking
])
def test_no_limit_without_linear_convergence(trace, rate):
    est = aitken(trace)
    assert math.isnan(est.limit) and math.isnan(est.gap)
    assert est.rate == rate
    assert not est.is_converged(np.inf)


def test_zero_previous_increment_and_non_finite_values():
    est = aitken([-1.0, -1.0, -0.5])
    assert math.isnan(est.limit) and math.isnan(est.rate) and est.relative_change == 0.5
    est = aitken([-np.inf, -2.0, -1.0])
    assert math.isnan(est.limit) and math.isnan(est.rate)
    assert est.relative_change == 1.0
    assert math.isnan(aitken([-2.0, -1.0, np.nan]).relative_change)


# ------------------------------------------------------------------ a long EM run
@pytest.mark.parametrize("t", [30, 40, 60, 80, 120])
def test_the_estimate_brackets_the_final_objective_of_a_long_run(long_run, t):
    """From iteration t on (linear regime), l_t <= final <= l_inf(t), within the gap."""
    final = long_run[-1]
    est = aitken(long_run[:t])
    assert 0.0 < est.rate < 1.0
    assert est.limit >= long_run[t - 1]
    assert long_run[t - 1] <= final <= est.limit
    # The gap predicts what is left to climb: the final value misses l_inf by a few
    # per cent of the gap (the rate still drifts a little).
    assert est.limit - final <= 0.05 * est.gap
    assert final - long_run[t - 1] == pytest.approx(est.gap, rel=0.05)


def test_the_gap_shrinks_as_the_run_goes_on(long_run):
    gaps = [aitken(long_run[:t]).gap for t in (30, 40, 60, 80, 120, 160)]
    assert all(later < earlier for earlier, later in itertools.pairwise(gaps))


def test_a_small_change_is_not_a_small_gap(long_run):
    """Where ``tol`` would stop the fit, the gap is larger than ``tol``, as it really is."""
    tol = 1e-6
    changes = np.abs(np.diff(long_run))
    t = int(np.argmax(changes < tol)) + 2          # first prefix whose last change < tol
    est = aitken(long_run[:t])
    assert est.relative_change < tol
    assert not est.is_converged(tol)
    remaining = long_run[-1] - long_run[t - 1]
    assert remaining > 5 * tol                     # "converged" was far from the limit ...
    assert est.gap == pytest.approx(remaining, rel=0.1)   # ... and the gap says by how much
    # Further on, the gap falls below tol, and then the fit really is within tol.
    later = next(s for s in range(t, long_run.size) if aitken(long_run[:s]).is_converged(tol))
    assert long_run[-1] - long_run[later - 1] < tol


def test_a_fitted_model_trace(long_run):
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-4, 1, (200, 2)), rng.normal(4, 1, (200, 2))]
    model = GaussianMixture(2, tol=1e-10, random_state=0).fit(X)
    est = aitken(model.lower_bounds_)
    assert est.relative_change == pytest.approx(
        abs(model.lower_bounds_[-1] - model.lower_bounds_[-2]))
    assert est.relative_change < model.tol
    np.testing.assert_equal(vars(est), vars(aitken(model.restarts_[0].lower_bounds)))
