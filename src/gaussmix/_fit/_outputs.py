"""Per-row outputs at fixed parameters: labels, probabilities, log-densities.

:class:`RowOutput` turns a block of rows into one of the three outputs through the
kernel's log-probability pass.  It is a small picklable object, so a source applies it
to its blocks wherever they are: in this process, or on a Dask worker.
"""

import numpy as np

from .. import _kernel


def _labels(log_prob, dtype):
    return log_prob.argmax(axis=1)


def _shift_exp(log_prob):
    """exp(log_prob - row max), in place; returns (the exponentials, row max, lost rows).

    Rows whose log-densities are all -inf (distances beyond the floating-point range)
    are "lost": their shift is 0 and their exponentials 0.  Working in place keeps the
    memory of a block at one (rows, k) array.
    """
    top = log_prob.max(axis=1)
    lost = ~np.isfinite(top)
    top[lost] = 0.0
    log_prob -= top[:, np.newaxis]
    np.exp(log_prob, out=log_prob)
    return log_prob, top, lost


def _probabilities(log_prob, dtype):
    """Responsibilities that sum to one for any finite input.

    Normalised after subtracting the row maximum: for a point very far from every
    component the log-densities are huge and nearly equal (-5e19 and -5e19 - 0.3),
    and ``log_prob - logsumexp`` would round to 0 for both.  A row whose
    log-densities are all -inf gets uniform probabilities: nothing distinguishes the
    components there.
    """
    resp, _, lost = _shift_exp(log_prob)
    resp[lost] = 1.0
    resp /= resp.sum(axis=1, keepdims=True)
    return resp.astype(dtype, copy=False)


def _log_densities(log_prob, dtype):
    """log sum_k exp(log_prob[:, k]) per row (-inf for lost rows)."""
    values, top, _ = _shift_exp(log_prob)
    with np.errstate(divide="ignore"):
        return (np.log(values.sum(axis=1)) + top).astype(dtype, copy=False)


def _log_max_probabilities(log_prob, dtype):
    """log max_k p(z = k | x) per row: the classification term of ICL (0 when crisp)."""
    top = log_prob.max(axis=1)
    return (top - _log_densities(log_prob, np.float64)).astype(np.float64, copy=False)


# kind -> (reduction of log p(x, z=k), whether it has one column per component)
_KINDS = {
    "predict": (_labels, False),
    "predict_proba": (_probabilities, True),
    "score_samples": (_log_densities, False),
    "log_max_proba": (_log_max_probabilities, False),
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

    @property
    def n_components(self):
        return self.inputs.log_norm.shape[0]

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
