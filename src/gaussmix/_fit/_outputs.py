"""Per-row outputs at fixed parameters: labels, probabilities, log-densities.

:class:`RowOutput` turns a block of rows into one of the three outputs through the
kernel's log-probability pass.  It is a small picklable object, so a source applies it
to its blocks wherever they are: in this process, or on a Dask worker.
"""

import numpy as np
from scipy.special import logsumexp

from .. import _kernel


def _labels(log_prob, dtype):
    return log_prob.argmax(axis=1)


def _probabilities(log_prob, dtype):
    """Responsibilities that sum to one for any finite input.

    Normalised after subtracting the row maximum: for a point very far from every
    component the log-densities are huge and nearly equal (-5e19 and -5e19 - 0.3),
    and ``log_prob - logsumexp`` would round to 0 for both.  A row whose
    log-densities are all -inf (distances beyond the floating-point range) gets
    uniform probabilities: nothing distinguishes the components there.
    """
    top = log_prob.max(axis=1, keepdims=True)
    lost = ~np.isfinite(top[:, 0])
    resp = np.exp(log_prob - np.where(lost[:, np.newaxis], 0.0, top))
    resp[lost] = 1.0
    resp /= resp.sum(axis=1, keepdims=True)
    return resp.astype(dtype, copy=False)


def _log_densities(log_prob, dtype):
    return logsumexp(log_prob, axis=1).astype(dtype, copy=False)


# kind -> (reduction of log p(x, z=k), whether it has one column per component)
_KINDS = {
    "predict": (_labels, False),
    "predict_proba": (_probabilities, True),
    "score_samples": (_log_densities, False),
}


class RowOutput:
    """``X_block -> output`` for ``kind`` in 'predict', 'predict_proba', 'score_samples'.

    Parameters
    ----------
    inputs : KernelInputs
        The fitted parameters in the kernel's layout.
    kind : str
        Which output.
    n_threads : int
        OpenMP threads of the pass.
    """

    def __init__(self, inputs, kind, n_threads):
        self.inputs = inputs
        self.kind = kind
        self.n_threads = n_threads

    def output_spec(self, dtype):
        """(trailing shape, dtype) of the output for data of ``dtype``."""
        per_component = _KINDS[self.kind][1]
        tail = (self.inputs.log_norm.shape[0],) if per_component else ()
        out_dtype = np.dtype(np.intp) if self.kind == "predict" else np.dtype(dtype)
        return tail, out_dtype

    def __call__(self, X):
        reduce = _KINDS[self.kind][0]
        if X.shape[0] == 0:
            return reduce(np.zeros((0, self.inputs.log_norm.shape[0])), X.dtype)
        return reduce(_kernel.weighted_log_prob(X, self.inputs, self.n_threads), X.dtype)
