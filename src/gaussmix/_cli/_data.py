"""Reading the data of the command line: CSV (with or without a header), .npy, Parquet.

Every reader ends in one checked float64 matrix and the names of its columns, or a
:class:`~gaussmix._cli._errors.UsageError` whose one-line message names the file and
the problem (a non-numeric column by name, a missing cell by row and column).  Rows
are numbered from 1, the first data row (after the header, if any) being row 1, so
that the messages and the ``row`` column of the outputs count alike.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass

import numpy as np

from ._errors import UsageError

__all__ = ["Table", "read_table", "select_columns"]

#: Cells read as missing in a CSV (besides the empty cell), as pandas reads them.
_MISSING = {"", "na", "nan", "null", "none", "n/a", "#n/a", "-nan", "nat"}


@dataclass
class Table:
    """Numeric data read from a file.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The values (float64).
    columns : list of str
        Their names: the header's, or ``x0, x1, ...`` without one.
    source : str
        Where they came from (a path, "stdin", a data set), for messages and reports.
    has_header : bool
        Whether the file had a header row (CSV) or named columns (Parquet).
    """

    X: np.ndarray
    columns: list
    source: str
    has_header: bool = False

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return self.X.shape[0]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _delimiter(first_line: str) -> str:
    """Comma, unless the first line has none but tabs or semicolons."""
    if "," in first_line:
        return ","
    for candidate in ("\t", ";"):
        if candidate in first_line:
            return candidate
    return ","


def _read_csv(path: str):
    """A frame of strings (no header yet) and the name to show for the source."""
    import pandas as pd

    if path == "-":
        text, source = sys.stdin.read(), "stdin"
    else:
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                text = fh.read()
        except UnicodeDecodeError:
            raise UsageError(f"{path}: not a text CSV file (use .npy or .parquet for "
                             "binary data)") from None
        source = path
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise UsageError(f"{source}: no data (the file is empty)")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=_delimiter(lines[0]), header=None,
                            dtype=str, keep_default_na=False, skip_blank_lines=True,
                            skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise UsageError(f"{source}: cannot read it as CSV: {' '.join(str(exc).split())}"
                         ) from None
    first = [str(cell).strip() for cell in frame.iloc[0]]
    # A header is a first row with a cell that is neither a number nor missing.
    has_header = any(not _is_number(cell) and cell.lower() not in _MISSING for cell in first)
    if has_header:
        names = [cell or f"x{j}" for j, cell in enumerate(first)]
        frame = frame.iloc[1:].reset_index(drop=True)
    else:
        names = [f"x{j}" for j in range(frame.shape[1])]
    frame.columns = _unique(names, source)
    return frame, source, has_header


def _unique(names, source):
    seen = set()
    for name in names:
        if name in seen:
            raise UsageError(f"{source}: the header names the column {name!r} twice")
        seen.add(name)
    return names


def _read_npy(path: str):
    import pandas as pd

    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise UsageError(f"{path}: not a plain numeric .npy array ({exc})") from None
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2:
        raise UsageError(f"{path}: expected a 2-D array (rows x features), got shape "
                         f"{array.shape}")
    if array.dtype.kind not in "biuf":
        raise UsageError(f"{path}: the array is not numeric (dtype {array.dtype})")
    return pd.DataFrame(array, columns=[f"x{j}" for j in range(array.shape[1])])


def _read_parquet(path: str):
    try:
        import pyarrow  # noqa: F401 - pandas' Parquet engine
    except ImportError:
        raise UsageError(f"{path}: reading Parquet needs pyarrow: pip install "
                         '"gaussmix[parquet]" (or pyarrow), or give a CSV or .npy file'
                         ) from None
    import pandas as pd

    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:   # noqa: BLE001 - pyarrow raises its own error types
        raise UsageError(f"{path}: cannot read it as Parquet: "
                         f"{' '.join(str(exc).split())}") from None
    frame.columns = [str(c) for c in frame.columns]
    return frame


def select_columns(names: list, columns: list | None, source: str) -> list:
    """The positions of ``columns`` (names, or 0-based positions) among ``names``.

    Parameters
    ----------
    names : list of str
        The columns of the data.
    columns : list of str or None
        What ``--columns`` gave: names, or integers counted from 0 (``2`` is the
        third column, the one called ``x2`` in a file without a header).  None
        selects every column.
    source : str
        The data's name, for the message.

    Returns
    -------
    list of int
        The selected positions, in the order given.
    """
    if columns is None:
        return list(range(len(names)))
    positions = []
    for column in columns:
        if column in names:
            positions.append(names.index(column))
        elif column.lstrip("-").isdigit():
            j = int(column)
            if not 0 <= j < len(names):
                raise UsageError(f"--columns: {source} has {len(names)} columns (0 to "
                                 f"{len(names) - 1}), not {j}")
            positions.append(j)
        else:
            raise UsageError(f"--columns: {source} has no column {column!r} (its columns: "
                             f"{', '.join(names)})")
    if len(set(positions)) != len(positions):
        raise UsageError("--columns names a column twice")
    return positions


def _numeric(frame, positions, source):
    """The selected columns as float64, or a message naming the bad column or cell."""
    import pandas as pd

    names = [str(frame.columns[j]) for j in positions]
    out = np.empty((frame.shape[0], len(positions)), dtype=np.float64)
    for i, (j, name) in enumerate(zip(positions, names, strict=True)):
        column = frame.iloc[:, j]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            text = column.astype(str).str.strip()
            missing = text.str.lower().isin(_MISSING)
            values = pd.to_numeric(text.where(~missing), errors="coerce")
            bad = values.isna() & ~missing
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise UsageError(
                    f"{source}: column {name!r} is not numeric (row {row + 1}: "
                    f"{text.iloc[row]!r}); choose the numeric columns with --columns")
        elif pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(
                column.dtype):
            values = pd.to_numeric(column, errors="coerce")
        else:
            raise UsageError(f"{source}: column {name!r} is not numeric (type "
                             f"{column.dtype}); choose the numeric columns with --columns")
        out[:, i] = values.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(out)
    if not finite.all():
        row, col = (int(v) for v in np.argwhere(~finite)[0])
        what = "missing (NaN)" if np.isnan(out[row, col]) else f"{out[row, col]}"
        n_bad = int((~finite).sum())
        more = f" ({n_bad} such cells in all)" if n_bad > 1 else ""
        raise UsageError(f"{source}: row {row + 1}, column {names[col]!r} is "
                         f"{what}{more}; gaussmix needs every cell filled and finite")
    return out, names


def read_table(path: str, columns: list | None = None, *, choose=None) -> Table:
    """Read numeric data: a CSV file (or ``-``, CSV on stdin), ``.npy`` or Parquet.

    Parameters
    ----------
    path : str
        The file: ``.npy`` (a 1-D or 2-D numeric array), ``.parquet``/``.pq``
        (needs pyarrow), ``-`` for CSV on standard input, anything else CSV.  A CSV
        has a header when its first row holds a cell that is neither a number nor
        empty; columns are separated by commas (tabs or semicolons when the first
        line has no comma).
    columns : list of str or None, default=None
        The columns to keep (see :func:`select_columns`); None keeps all.
    choose : callable or None, default=None
        Instead of ``columns``: ``choose(names, source)`` returns the positions of
        the columns to keep from the names of all of them.  Only the kept columns
        must be numeric.

    Returns
    -------
    Table
        The data as float64 with the names of its columns.

    Raises
    ------
    UsageError
        For a missing or unreadable file, a column that is not numeric (named), a
        missing or infinite cell (row and column named) or no rows.
    """
    if path != "-" and not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    if path != "-" and os.path.isdir(path):
        raise UsageError(f"{path}: is a directory, not a data file")
    suffix = os.path.splitext(path)[1].lower()
    has_header = False
    try:
        if suffix == ".npy":
            frame, source = _read_npy(path), path
        elif suffix in (".parquet", ".pq"):
            frame, source, has_header = _read_parquet(path), path, True
        else:
            frame, source, has_header = _read_csv(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    names = [str(c) for c in frame.columns]
    positions = (choose(names, source) if choose is not None
                 else select_columns(names, columns, source))
    if frame.shape[0] == 0:
        raise UsageError(f"{source}: no data rows")
    X, kept = _numeric(frame, positions, source)
    return Table(X, kept, source, has_header)
