"""Small datasets shipped with gaussmix."""

from __future__ import annotations

from importlib import resources

import numpy as np
import numpy.typing as npt


def load_faithful() -> tuple[npt.NDArray[np.float64], list[str]]:
    """Load the Old Faithful geyser eruptions (R's ``datasets::faithful``), 272 x 2.

    Two well separated groups of eruptions (short ones followed by a short wait, long
    ones by a long wait) make it the classic small example for a two-component
    mixture.

    Returns
    -------
    X : ndarray of shape (272, 2), dtype=float64
        Columns: eruption duration (minutes), waiting time to the next eruption
        (minutes).
    feature_names : list of str
        The column names, ``["eruptions", "waiting"]``.

    Examples
    --------
    >>> from gaussmix import load_faithful
    >>> X, feature_names = load_faithful()
    >>> X.shape
    (272, 2)
    >>> feature_names
    ['eruptions', 'waiting']
    >>> X[:2]
    array([[ 3.6, 79. ],
           [ 1.8, 54. ]])
    """
    path = resources.files("gaussmix") / "data" / "faithful.csv"
    with path.open("r") as f:
        header = f.readline().strip().split(",")
        X = np.loadtxt(f, delimiter=",", dtype=np.float64)
    return X, header
