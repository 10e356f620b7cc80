"""Statistics sources: one pass over the data at the given parameters, summed.

A source offers ``dtype`` (the data's float dtype), ``total_weight`` (the number of
samples, or the sum of their weights) and ``statistics(inputs, stats_shape)``, which
returns (sum_n w_n log p(x_n), N_k, S1_k, S2_k) with S1, S2 centred at the current
means (see ``gmmcore/_gmmcore.pyx``).  Statistics add up over row blocks, so a source
over blocks, a file or a cluster only has to sum them.
"""

import contextlib

from .. import _kernel


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
    """

    def __init__(self, X, sample_weight, n_threads):
        self.X = X
        self.sample_weight = sample_weight
        self.n_threads = n_threads
        self.dtype = X.dtype
        self.total_weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())

    @contextlib.contextmanager
    def session(self):
        """Hold BLAS to one thread while passes run (the kernels thread themselves)."""
        with _kernel.single_threaded_blas():
            yield self

    def statistics(self, inputs, stats_shape):
        """(log-likelihood, N_k, S1_k, S2_k) of one pass at ``inputs``."""
        return _kernel.accumulate_stats(self.X, self.sample_weight, inputs, stats_shape,
                                        self.n_threads)
