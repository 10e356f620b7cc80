"""A statistics source over a Dask array, on whatever scheduler the array uses.

Each pass is one Dask graph built with Dask's own API: ``map_blocks`` runs the compiled
kernel on every row block where the block lives (a ``distributed`` worker, or a thread
of the local scheduler), each block returning its statistics packed in one row; the
rows are summed by Dask's tree reduction (``Array.sum(split_every=...)``), and only
that one vector comes back to the client, which runs the O(k d^3) update.  The kernel
inputs enter the graph once per pass as a single ``dask.delayed`` key, so they travel
to each worker once per iteration, not once per block.

This module imports Dask; gaussmix imports it only when X is a Dask array.
"""

import contextlib

import dask
import dask.array as da
import numpy as np
from sklearn.utils import assert_all_finite

from .. import _kernel
from .._validation import check_weight_total
from . import _moments
from ._sources import subsample_indices

# Tasks run one kernel thread each: Dask's workers are the parallelism (distributed's
# nanny also sets OMP_NUM_THREADS=1 in its workers), and one OpenMP team per worker
# thread would oversubscribe the cores.
_TASK_THREADS = 1
SPLIT_EVERY = 8


def _unpack(vector, k, d, stats_shape):
    """(log-likelihood, N_k, S1_k, S2_k) from one packed float64 vector."""
    nk = vector[1:1 + k]
    s1 = vector[1 + k:1 + k + k * d].reshape(k, d)
    s2 = vector[1 + k + k * d:].reshape(stats_shape)
    return float(vector[0]), nk, s1, s2


def _block_statistics(X, w, inputs, stats_shape, estimator_name):
    """Worker side: the statistics of one block, packed as a (1, L) row."""
    k, d = inputs.means.shape
    size = 1 + k + k * d + int(np.prod(stats_shape))
    if X.shape[0] == 0:
        return np.zeros((1, size))
    X = np.ascontiguousarray(X)
    assert_all_finite(X, input_name="X", estimator_name=estimator_name)
    w = None if w is None else np.ascontiguousarray(w[:, 0], dtype=np.float64)
    stats = _kernel.accumulate_stats(X, w, inputs, stats_shape, _TASK_THREADS)
    log_likelihood, nk, s1, s2 = stats
    return np.concatenate(([log_likelihood], nk, s1.ravel(), s2.ravel()))[np.newaxis]


def _block_moments(X, w):
    """Worker side: (total, mean, scatter) of one block, packed as a (1, 1 + d + d^2) row."""
    total, mean, scatter = _moments.block_moments(X, None if w is None else w[:, 0])
    return np.concatenate(([total], mean, scatter.ravel()))[np.newaxis]


def _apply_rows(X, rows):
    """Worker side: a per-row output (labels, probabilities, log-densities) of one block."""
    return rows(np.ascontiguousarray(X))


class DaskSource:
    """A Dask array, row-chunked, as a statistics source.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        The data.  Chunks along the columns are merged (``rechunk({1: -1})``: the kernel
        needs whole rows); float32 and float64 stay, other dtypes become float64.
    sample_weight : dask array, ndarray, float or None
        Weights, rechunked to X's row chunks.
    estimator_name : str
        Named in the error messages.
    dtype : float32 or float64
        The dtype the kernel reads X in.
    """

    def __init__(self, X, sample_weight, estimator_name, dtype):
        if any(np.isnan(c) for c in X.chunks[0]):
            raise ValueError(
                "X has unknown chunk sizes (NaN in X.chunks); call X.compute_chunk_sizes() "
                "before fitting"
            )
        if X.numblocks[1] > 1:
            X = X.rechunk({1: -1})
        if np.dtype(X.dtype) != dtype:
            X = X.astype(dtype)
        self.X = X
        self.dtype = np.dtype(X.dtype)
        self.n_samples, self.n_features = (int(s) for s in X.shape)
        self.estimator_name = estimator_name
        self.n_threads = _TASK_THREADS
        self.sample_weight = self._weights(sample_weight)

    def _weights(self, sample_weight):
        """Weights as an (n, 1) Dask array in X's row chunks; check them in one compute."""
        if sample_weight is None:
            self.total_weight = self.n_samples
            self.n_positive = self.n_samples
            return None
        if np.ndim(sample_weight) == 0:
            sample_weight = da.full(self.n_samples, float(sample_weight),
                                    chunks=(self.X.chunks[0],))
        if tuple(np.shape(sample_weight)) != (self.n_samples,):
            raise ValueError(
                f"sample_weight has shape {tuple(np.shape(sample_weight))} but X has "
                f"{self.n_samples} samples"
            )
        w = da.asarray(sample_weight).astype(np.float64).rechunk((self.X.chunks[0],))
        total, positive, finite, negative = dask.compute(
            w.sum(), da.count_nonzero(w), da.isfinite(w).all(), (w < 0).any()
        )
        if not finite:
            raise ValueError("sample_weight contains NaN or infinity")
        if negative:
            raise ValueError("sample_weight must be non-negative, got negative values")
        if positive == 0:
            raise ValueError("sample_weight must have at least one positive entry (all are zero)")
        check_weight_total(total)
        self.total_weight, self.n_positive = float(total), int(positive)
        return w[:, np.newaxis]

    def session(self):
        """Nothing to hold: the scheduler is X's."""
        return contextlib.nullcontext(self)

    def _packed(self, func, width, *args):
        """``func(X_block, w_block, *args)`` per block -> (n_blocks, width) Dask array."""
        chunks = ((1,) * self.X.numblocks[0], (width,))
        return da.map_blocks(func, self.X, self.sample_weight, *args, chunks=chunks,
                             dtype=np.float64)

    def statistics(self, inputs, stats_shape):
        """One pass on the cluster: per-block kernel, tree-summed, one vector back."""
        k, d = inputs.means.shape
        width = 1 + k + k * d + int(np.prod(stats_shape))
        params = dask.delayed(inputs, pure=True)
        per_block = self._packed(_block_statistics, width, params, stats_shape,
                                 self.estimator_name)
        vector = per_block.sum(axis=0, split_every=SPLIT_EVERY).compute()
        return _unpack(vector, k, d, stats_shape)

    def moments(self):
        """Weighted mean and covariance: per-block moments, merged on the client."""
        d = self.n_features
        rows = self._packed(_block_moments, 1 + d + d * d).compute()
        total = (0.0, None, None)
        for row in rows:
            block = (float(row[0]), row[1:1 + d], row[1 + d:].reshape(d, d))
            total = _moments.merge_moments(total, block)
        return _moments.mean_and_covariance(total)

    def init_sample(self, max_samples, random_state):
        """A uniform subsample (the same rows as for an ndarray), computed to memory."""
        indices = subsample_indices(self.n_samples, max_samples, random_state)
        X = self.X if indices is None else self.X[indices]
        w = self.sample_weight
        if w is not None:
            w = (w if indices is None else w[indices])[:, 0]
        X, w = dask.compute(X, w)
        X = np.ascontiguousarray(X)
        assert_all_finite(X, input_name="X", estimator_name=self.estimator_name)
        return X, w

    def weighted_mean(self, rows):
        """sum_n w_n rows(x_n) / sum_n w_n, computed on the cluster (``score``)."""
        values = self.map_rows(rows, *rows.output_spec(self.dtype))
        if self.sample_weight is None:
            return float(values.sum().compute()) / self.total_weight
        w = self.sample_weight[:, 0]
        return float(da.where(w > 0, w * values, 0.0).sum().compute()) / self.total_weight

    def map_rows(self, rows, tail_shape, dtype, out=None):
        """A lazy Dask array of ``rows(X_block)`` per block, or stored into ``out``.

        ``rows`` (a picklable callable holding the kernel inputs) enters the graph once.
        """
        params = dask.delayed(rows, pure=True)
        meta = np.empty((0,) * (1 + len(tail_shape)), dtype=dtype)  # no trial call
        if tail_shape:
            result = self.X.map_blocks(_apply_rows, params, dtype=dtype, meta=meta,
                                       chunks=(self.X.chunks[0], tail_shape))
        else:
            result = self.X.map_blocks(_apply_rows, params, dtype=dtype, meta=meta,
                                       drop_axis=1)
        if out is None:
            return result
        if tuple(out.shape) != tuple(result.shape):
            raise ValueError(f"out has shape {tuple(out.shape)}, expected {result.shape}")
        da.store(result, out, lock=True)
        return out
