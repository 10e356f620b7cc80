"""Which source reads X: in memory, row blocks of an out-of-core array, or Dask.

In-memory data (lists, ndarrays, DataFrames) goes through scikit-learn's
``validate_data`` in the estimator, as before.  An ``np.memmap``, or any other object
with ``shape``, ``dtype`` and row slicing (``h5py.Dataset``, ``zarr.Array``), is read
in blocks; a ``dask.array.Array`` runs on its scheduler.  For those two this module
makes the checks ``validate_data`` would make, without reading the data (NaN and
infinity are found block by block as the data is read).
"""

import sys

import numpy as np
import scipy.sparse as sp

from ._sources import BlockSource

__all__ = ["is_dask_array", "is_out_of_core", "make_external_source"]


def is_dask_array(X):
    """True for a ``dask.array.Array``; False (and Dask stays unimported) otherwise."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(X, module.Array)


def is_out_of_core(X):
    """True for data read in blocks: a memmap, or an array-like that is not an ndarray."""
    if isinstance(X, np.memmap):
        return True
    if isinstance(X, np.ndarray) or sp.issparse(X) or is_dask_array(X):
        return False
    return all(hasattr(X, name) for name in ("shape", "dtype", "__getitem__")) and (
        len(getattr(X, "shape", ())) == 2
    )


def check_external(X, estimator_name, ensure_min_samples):
    """scikit-learn's shape and dtype checks (and messages) for a block or Dask array."""
    shape = tuple(int(s) if s == s else -1 for s in X.shape)
    if len(shape) != 2:
        raise ValueError(f"Expected 2D array, got {len(shape)}D array instead")
    kind = np.dtype(X.dtype).kind
    if kind == "c":
        raise ValueError("Complex data not supported")
    if kind not in "fiub":
        raise ValueError(f"X must be numeric, got dtype {X.dtype}")
    n_samples, n_features = shape
    if n_samples < ensure_min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={shape}) while a minimum of "
            f"{ensure_min_samples} is required by {estimator_name}."
        )
    if n_features < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is "
            f"required by {estimator_name}."
        )


def read_dtype(data_dtype, model_dtype=None):
    """The dtype the kernel reads X in: float32/float64 kept, others as float64; after a
    fit, the common type with the model's (float64 unless both are float32)."""
    dtype = np.dtype(data_dtype)
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    return dtype if model_dtype is None else np.result_type(dtype, model_dtype)


def make_external_source(X, sample_weight, *, n_threads, working_memory, estimator_name,
                         ensure_min_samples=1, model_dtype=None):
    """A :class:`BlockSource` or :class:`DaskSource` over X, after the shape checks."""
    check_external(X, estimator_name, ensure_min_samples)
    dtype = read_dtype(X.dtype, model_dtype)
    if is_dask_array(X):
        from ._dask import DaskSource

        return DaskSource(X, sample_weight, estimator_name, dtype)
    return BlockSource(X, sample_weight, n_threads, working_memory, estimator_name, dtype)
