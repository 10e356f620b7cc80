"""Progress bars for the long diagnostics (bootstrap refits, K-fold refits).

tqdm is an optional extra (``pip install "gaussmix[progress]"``), imported only when
a bar is shown.  ``progress`` is True (a bar; ImportError naming the extra without
tqdm), False (none) or None, the default of the long functions: a bar when tqdm is
installed and standard error is a terminal, so notebooks and terminals get one and
logs and test runs do not.
"""

import sys


class _NoBar:
    """Stands for a tqdm bar when none is shown."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n=1):
        """Do nothing."""

    def close(self):
        """Do nothing."""


def progress_bar(progress, total, desc):
    """A context-managed tqdm bar of ``total`` steps, or a stand-in that does nothing."""
    if progress is None:
        try:
            interactive = sys.stderr is not None and sys.stderr.isatty()
        except (AttributeError, ValueError):
            interactive = False
        if not interactive:
            return _NoBar()
    elif not progress:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:
        if progress is None:
            return _NoBar()
        raise ImportError(
            'progress=True needs tqdm: pip install "gaussmix[progress]" (or tqdm)') from exc
    return tqdm(total=total, desc=desc)
