"""The fit loop and what it runs over.

One loop (:func:`fit_restarts`) drives every method -- EM, MAP EM, variational Bayes --
over two interfaces, and knows nothing else:

* an *updater* (:class:`gaussmix._em.EMUpdates`,
  :class:`gaussmix._variational.VariationalUpdates`): parameters -> kernel inputs,
  statistics -> new parameters, the objective;
* a *statistics source*: kernel inputs -> the summed (log-likelihood, N_k, S1_k, S2_k)
  of one pass over the data.  :class:`InMemorySource` (an ndarray, one compiled
  call), :class:`BlockSource` (row blocks of a memmap, HDF5 or Zarr array, read
  ahead) and ``_dask.DaskSource`` (a Dask array, on its scheduler).

:mod:`._online` steps the same updaters through mini-batches (``partial_fit``), and
:class:`RowOutput` gives the per-row outputs over any source.  The estimator only
chooses the pieces and supplies how a restart starts.
"""

from ._data import is_dask_array, is_out_of_core, make_external_source
from ._loop import FitResult, Restart, fit_restarts
from ._outputs import RowOutput
from ._reporting import SilentReporter, VerboseReporter
from ._sources import BlockSource, InMemorySource

__all__ = ["BlockSource", "FitResult", "InMemorySource", "Restart", "RowOutput",
           "SilentReporter", "VerboseReporter", "fit_restarts", "is_dask_array",
           "is_out_of_core", "make_external_source"]
