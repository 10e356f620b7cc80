"""Input and parameter checks.  Every message names the offending argument."""

import numbers

import numpy as np


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
    return np.ascontiguousarray(w)


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


def check_option(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}")
    return value


def check_array_init(value, name, shape):
    """A user-provided initial array: finite, real, of the expected shape; as float64."""
    arr = _real_array(value, name).copy()
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def check_weights_init(weights, n_components):
    weights = check_array_init(weights, "weights_init", (n_components,))
    if np.any(weights < 0) or np.any(weights > 1):
        raise ValueError(
            f"weights_init must lie in [0, 1], got min {weights.min():.5g}, max {weights.max():.5g}"
        )
    if not np.isclose(weights.sum(), 1.0, rtol=0.0, atol=1e-6):
        raise ValueError(f"weights_init must sum to 1, got sum(weights_init) = {weights.sum():.5f}")
    return weights
