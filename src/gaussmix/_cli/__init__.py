"""The ``gaussmix`` command line (``gaussmix COMMAND`` or ``python -m gaussmix``).

A thin layer of argparse over the public API, in four parts: :mod:`._parser` (the
options, plain-text help with defaults, one-line parse errors), :mod:`._data`
(reading CSV, ``.npy`` and Parquet into checked float64 arrays), :mod:`._commands`
(``fit``, ``demo``, ``predict``, ``sample``, ``info``) with :mod:`._summary` (the
printed summary), and :mod:`._report` (the self-contained ``report.html``).

Every bad argument or input file ends in one line on standard error,
``gaussmix: error: ...``, and exit status 2 (:class:`._errors.UsageError`); a
traceback means a bug.
"""

from ._main import main

__all__ = ["main"]
