"""Statistics sources: one pass over the data at the given parameters, summed.

A source is what the fit loop and the per-row outputs read the data through.  It
offers:

* ``dtype`` (float32 or float64, the dtype the kernel runs in), ``n_samples``,
  ``n_features``, ``total_weight`` (n, or the sum of the sample weights) and
  ``n_positive`` (rows of positive weight);
* ``session()``, a context the loop holds while it runs passes;
* ``statistics(inputs, stats_shape)``: (sum_n w_n log p(x_n), N_k, S1_k, S2_k) at the
  kernel inputs, S1 and S2 centred at the current means (``gmmcore/_gmmcore.pyx``);
* ``moments()``: the weighted mean and covariance of X (for the prior defaults);
* ``init_sample(max_samples, random_state)``: the rows an initialisation runs on;
* ``map_rows(func, tail_shape, dtype, out)``: ``func(X_block)`` for every row block,
  written into ``out``.

Statistics add up over row blocks, so a source over blocks of a file
(:class:`BlockSource`) or over a Dask cluster (:class:`gaussmix._fit._dask.DaskSource`)
only has to sum them; :class:`InMemorySource` makes one call of the compiled pass.
"""

import contextlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.utils import assert_all_finite
from sklearn.utils.random import sample_without_replacement

from .. import _kernel
from .._validation import check_weight_total
from . import _moments


def subsample_indices(n_samples, max_samples, random_state):
    """Sorted row indices of a uniform subsample without replacement, or None.

    None (and nothing drawn from ``random_state``) when ``max_samples`` is None or
    ``n_samples <= max_samples``: the initialisation then sees every row, as it did
    before subsampling existed.  The draw needs O(max_samples) memory, not O(n).
    """
    if max_samples is None or n_samples <= max_samples:
        return None
    indices = sample_without_replacement(n_samples, max_samples, random_state=random_state)
    return np.sort(indices)


def block_rows(n_features, itemsize, working_memory, extra_row_bytes=0):
    """Rows per block: ``working_memory`` MiB of rows, a multiple of the kernel's chunk.

    Blocks that start on a multiple of ``CHUNK_SIZE`` give every row the same kernel
    chunk it has in one call over the whole array, so per-row outputs do not depend
    on the blocking.
    """
    row_bytes = n_features * itemsize + extra_row_bytes
    rows = int(working_memory * 2**20) // max(row_bytes, 1)
    chunk = _kernel.CHUNK_SIZE
    return max(chunk, rows // chunk * chunk)


def _allocate(out, n_samples, tail_shape, dtype, name="out"):
    shape = (n_samples, *tail_shape)
    if out is None:
        return np.empty(shape, dtype=dtype)
    if tuple(out.shape) != shape:
        raise ValueError(f"{name} has shape {tuple(out.shape)}, expected {shape}")
    return out


class InMemorySource:
    """An in-memory, C-contiguous float32/float64 array, through the compiled pass.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated data (C-contiguous, float32 or float64).
    sample_weight : ndarray of shape (n_samples,) or None
        Validated non-negative weights, float64.
    n_threads : int
        OpenMP threads of the pass.
    working_memory : float, default=32
        MiB per block of the per-row outputs.
    """

    def __init__(self, X, sample_weight, n_threads, working_memory=32):
        self.X = X
        self.sample_weight = sample_weight
        self.n_threads = n_threads
        self.working_memory = working_memory
        self.dtype = X.dtype
        self.n_samples, self.n_features = X.shape
        if sample_weight is None:
            self.total_weight = self.n_samples
            self.n_positive = self.n_samples
        else:
            self.total_weight = float(sample_weight.sum())
            self.n_positive = int(np.count_nonzero(sample_weight))

    @contextlib.contextmanager
    def session(self):
        """Hold BLAS to one thread while passes run (the kernels thread themselves)."""
        with _kernel.single_threaded_blas():
            yield self

    def statistics(self, inputs, stats_shape):
        """(log-likelihood, N_k, S1_k, S2_k) of one pass at ``inputs``."""
        return _kernel.accumulate_stats(self.X, self.sample_weight, inputs, stats_shape,
                                        self.n_threads)

    def moments(self):
        """Weighted mean and covariance of X (float64)."""
        return _moments.mean_and_covariance(_moments.block_moments(self.X, self.sample_weight))

    def init_sample(self, max_samples, random_state):
        """(X, sample_weight) of a uniform subsample of at most ``max_samples`` rows."""
        indices = subsample_indices(self.n_samples, max_samples, random_state)
        if indices is None:
            return self.X, self.sample_weight
        w = None if self.sample_weight is None else self.sample_weight[indices]
        return self.X[indices], w

    def map_rows(self, func, tail_shape, dtype, out=None):
        """``out[rows] = func(X[rows])`` over blocks of rows; returns ``out``."""
        out = _allocate(out, self.n_samples, tail_shape, dtype)
        # A block's memory is its (rows, k) float64 log-probabilities (the X block is a
        # view), so working_memory bounds rows x (features + components).
        k_bytes = 8 * func.n_components
        rows = block_rows(self.n_features, self.X.itemsize, self.working_memory, k_bytes)
        with _kernel.single_threaded_blas():
            for start in range(0, self.n_samples, rows):
                out[start:start + rows] = func(self.X[start:start + rows])
        return out


class BlockSource:
    """Row blocks of an array that need not fit in memory, read ahead of the pass.

    Anything with ``shape``, ``dtype`` and row slicing works: ``np.memmap``,
    ``h5py.Dataset``, ``zarr.Array``.  Blocks of ``working_memory`` MiB are read in a
    background thread while the kernel (which releases the GIL) computes the previous
    one, so a few blocks are in memory (three at the peak: the one the caller still
    holds, the next one, and the one being read); the whole array never is.  Every
    block is checked for NaN and infinity as it is read.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data.  float32 and float64 stay as they are; other dtypes are read as
        float64.
    sample_weight : array-like of shape (n_samples,), float or None
        Weights, also read blockwise (they may live on disk too).
    n_threads : int
        OpenMP threads of the kernel.
    working_memory : float
        MiB of X per block.
    estimator_name : str
        Named in the error messages.
    dtype : float32 or float64
        The dtype blocks are read in.
    """

    def __init__(self, X, sample_weight, n_threads, working_memory, estimator_name, dtype):
        self.X = X
        self.n_threads = n_threads
        self.working_memory = working_memory
        self.estimator_name = estimator_name
        self.n_samples, self.n_features = (int(s) for s in X.shape)
        self.dtype = np.dtype(dtype)
        self.block_rows = block_rows(self.n_features, self.dtype.itemsize, working_memory)
        self._executor = None
        self.sample_weight = sample_weight
        if sample_weight is None:
            self.total_weight = self.n_samples
            self.n_positive = self.n_samples
        else:
            self.total_weight, self.n_positive = self._scan_weights()

    # ------------------------------------------------------------ reading
    def _scan_weights(self):
        """Check the weights block by block; return (total, rows of positive weight)."""
        w = self.sample_weight
        if np.ndim(w) == 0:
            value = float(w)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"sample_weight must be finite and non-negative, got {value}")
            self.sample_weight = value
            return value * self.n_samples, (self.n_samples if value > 0 else 0)
        if tuple(w.shape) != (self.n_samples,):
            raise ValueError(
                f"sample_weight has shape {tuple(w.shape)} but X has {self.n_samples} samples"
            )
        total, positive = 0.0, 0
        for start in range(0, self.n_samples, self.block_rows):
            block = self._read_weights(start, start + self.block_rows)
            if not np.all(np.isfinite(block)):
                raise ValueError("sample_weight contains NaN or infinity")
            if np.any(block < 0):
                raise ValueError("sample_weight must be non-negative, got negative values")
            total += float(block.sum())
            positive += int(np.count_nonzero(block))
        if positive == 0:
            raise ValueError("sample_weight must have at least one positive entry (all are zero)")
        check_weight_total(total)
        return total, positive

    def _read_weights(self, start, stop):
        if self.sample_weight is None:
            return None
        if np.ndim(self.sample_weight) == 0:
            return np.full(min(stop, self.n_samples) - start, self.sample_weight)
        return np.ascontiguousarray(self.sample_weight[start:stop], dtype=np.float64)

    def _read(self, start, stop, weights=True):
        """Rows [start, stop) as a checked C-contiguous block (a view when possible)."""
        X = np.ascontiguousarray(self.X[start:stop], dtype=self.dtype)
        assert_all_finite(X, input_name="X", estimator_name=self.estimator_name)
        return X, (self._read_weights(start, stop) if weights else None)

    @contextlib.contextmanager
    def _reader(self):
        """A reader thread for the blocks ahead (re-entrant: a session keeps one)."""
        if self._executor is not None:
            yield
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gaussmix-read") as pool:
            self._executor = pool
            try:
                yield
            finally:
                self._executor = None

    def blocks(self, weights=True):
        """Yield (start, X_block, w_block), reading block i + 1 while i is used."""
        starts = range(0, self.n_samples, self.block_rows)
        with self._reader():
            pending = self._executor.submit(self._read, starts[0], starts[0] + self.block_rows,
                                            weights)
            for i, start in enumerate(starts):
                X, w = pending.result()
                if i + 1 < len(starts):
                    nxt = starts[i + 1]
                    pending = self._executor.submit(self._read, nxt, nxt + self.block_rows,
                                                    weights)
                yield start, X, w

    # ------------------------------------------------------------ source interface
    @contextlib.contextmanager
    def session(self):
        """One reader thread and a single-threaded BLAS for the passes of a fit."""
        with self._reader(), _kernel.single_threaded_blas():
            yield self

    def statistics(self, inputs, stats_shape):
        """(log-likelihood, N_k, S1_k, S2_k) summed over the blocks."""
        log_likelihood, nk, s1, s2 = 0.0, 0.0, 0.0, 0.0
        for _, X, w in self.blocks():
            ll_b, nk_b, s1_b, s2_b = _kernel.accumulate_stats(X, w, inputs, stats_shape,
                                                              self.n_threads)
            log_likelihood += ll_b
            nk, s1, s2 = nk + nk_b, s1 + s1_b, s2 + s2_b
        return log_likelihood, nk, s1, s2

    def moments(self):
        """Weighted mean and covariance of X, merged over the blocks."""
        total = (0.0, None, None)
        for _, X, w in self.blocks():
            total = _moments.merge_moments(total, _moments.block_moments(X, w))
        return _moments.mean_and_covariance(total)

    def init_sample(self, max_samples, random_state):
        """A uniform subsample of at most ``max_samples`` rows, gathered blockwise."""
        indices = subsample_indices(self.n_samples, max_samples, random_state)
        X_parts, w_parts = [], []
        for start, X, w in self.blocks():
            if indices is None:
                rows = slice(None)
            else:
                lo, hi = np.searchsorted(indices, [start, start + X.shape[0]])
                rows = indices[lo:hi] - start
            X_parts.append(np.array(X[rows]))
            if w is not None:
                w_parts.append(w[rows])
        X = np.concatenate(X_parts)
        return X, (np.concatenate(w_parts) if w_parts else None)

    def weighted_mean(self, rows):
        """sum_n w_n rows(x_n) / sum_n w_n over the blocks (``score``), float."""
        total = 0.0
        for _, X, w in self.blocks():
            values = np.asarray(rows(X), dtype=np.float64)
            total += float(values.sum() if w is None else w[w > 0] @ values[w > 0])
        return total / self.total_weight

    def map_rows(self, func, tail_shape, dtype, out=None):
        """``out[rows] = func(X[rows])`` block by block; returns ``out``."""
        out = _allocate(out, self.n_samples, tail_shape, dtype)
        with _kernel.single_threaded_blas():
            for start, X, _ in self.blocks(weights=False):
                out[start:start + X.shape[0]] = func(X)
        return out


class InitSample:
    """The rows an initialisation runs on, drawn from ``source`` once, on first use.

    Every restart of a fit initialises on the same subsample, so an out-of-core
    source is read for it once, and a fit that never needs it (every ``*_init``
    given, or a warm start) draws nothing from ``random_state``.
    """

    def __init__(self, source, max_samples, random_state):
        self.source = source
        self.max_samples = max_samples
        self.random_state = random_state
        self._sample = None

    def __call__(self):
        if self._sample is None:
            self._sample = self.source.init_sample(self.max_samples, self.random_state)
        return self._sample
