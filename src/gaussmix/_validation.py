"""Input and parameter checks.  Every message names the offending argument."""

import numbers

import numpy as np
from sklearn.utils import check_array


def _real_array(value, name):
    """``value`` as a float64 array; complex or non-numeric input is a TypeError."""
    raw = np.asarray(value)
    if raw.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got complex values")
    try:
        return raw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric: {exc}") from None


def check_sample_weight(sample_weight, n_samples):
    """Return ``sample_weight`` as a C-contiguous float64 array of length n, or None.

    A scalar is broadcast.  NaN, infinite, negative or all-zero weights are rejected.
    """
    if sample_weight is None:
        return None
    w = _real_array(sample_weight, "sample_weight")
    if w.ndim == 0:
        w = np.full(n_samples, float(w))
    if w.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D, got an array of shape {w.shape}")
    if w.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has {w.shape[0]} entries but X has {n_samples} samples"
        )
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight contains NaN or infinity")
    if np.any(w < 0):
        raise ValueError("sample_weight must be non-negative, got negative values")
    if not np.any(w > 0):
        raise ValueError("sample_weight must have at least one positive entry (all are zero)")
    check_weight_total(w.sum())
    return np.ascontiguousarray(w)


def check_weight_total(total):
    """The weights' sum must be finite: only their ratios matter, so rescale them."""
    if not np.isfinite(total):
        raise ValueError(
            "sample_weight sums to infinity in float64: only the ratios of the weights "
            "matter, so divide them by their maximum"
        )


def check_scalar(value, name, kind, *, low=None, high=None, low_inclusive=True):
    """Check a scalar hyper-parameter's type and range.  ``kind`` is 'int' or 'real'."""
    if kind == "int":
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        expected = "an integer"
    else:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        expected = "a real number"
    if not ok:
        raise TypeError(f"{name} must be {expected}, got {value!r} of type {type(value).__name__}")
    if isinstance(value, numbers.Real) and not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None:
        if value < low or (value == low and not low_inclusive):
            bound = ">=" if low_inclusive else ">"
            raise ValueError(f"{name} must be {bound} {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
    return value


def check_shape(param, shape, name):
    """scikit-learn's shape check of a user-provided parameter array (same message)."""
    if param.shape != tuple(shape):
        raise ValueError(
            f"The parameter '{name}' should have the shape of {tuple(shape)}, but got "
            f"{param.shape}"
        )


def check_param_array(value, shape, name, allow_nd=False):
    """A user-provided array parameter as scikit-learn checks it, returned in float64.

    ``check_array`` rejects NaN, infinity and non-numeric input with scikit-learn's
    messages; ``name`` is the one scikit-learn's shape message uses ('weights',
    'means', 'full precision', ...).
    """
    arr = check_array(value, dtype=[np.float64, np.float32], ensure_2d=False,
                      allow_nd=allow_nd)
    check_shape(arr, shape, name)
    return np.array(arr, dtype=np.float64)


def check_weights_init(weights, n_components):
    """``weights_init``: shape (n_components,), in [0, 1], summing to 1 (sklearn's checks)."""
    # The sum is checked in the input's precision, as scikit-learn does: float32
    # weights normalised in float32 may miss 1 by more than float64's 1e-8.
    atol = 1e-6 if np.asarray(weights).dtype == np.float32 else 1e-8
    weights = check_param_array(weights, (n_components,), "weights")
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        # (scikit-learn's message names the minimum as "max value" and vice versa.)
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got max value "
            f"{weights.min():.5f}, min value {weights.max():.5f}"
        )
    if not np.isclose(abs(1.0 - weights.sum()), 0.0, rtol=0.0, atol=atol):
        raise ValueError(
            "The parameter 'weights' should be normalized, but got sum(weights) = "
            f"{weights.sum():.5f}"
        )
    return weights
