"""The fit loop and what it runs over.

One loop (:func:`fit_restarts`) drives every method -- EM, MAP EM, variational Bayes --
over two interfaces, and knows nothing else:

* an *updater* (:class:`gaussmix._em.EMUpdates`,
  :class:`gaussmix._variational.VariationalUpdates`): parameters -> kernel inputs,
  statistics -> new parameters, the objective;
* a *statistics source* (:class:`InMemorySource`): kernel inputs -> the summed
  (log-likelihood, N_k, S1_k, S2_k) of one pass over the data.

The estimator only chooses them, and supplies how a restart starts.
"""

from ._loop import FitResult, Restart, fit_restarts
from ._reporting import SilentReporter, VerboseReporter
from ._sources import InMemorySource

__all__ = ["FitResult", "InMemorySource", "Restart", "SilentReporter", "VerboseReporter",
           "fit_restarts"]
