"""Small datasets shipped with gaussmix."""

from importlib import resources

import numpy as np


def load_faithful():
    """Old Faithful geyser eruptions (R's ``datasets::faithful``), 272 x 2.

    Returns
    -------
    X : ndarray of shape (272, 2), float64
        Columns: eruption duration (minutes), waiting time to the next eruption
        (minutes).
    feature_names : list of str
        ``["eruptions", "waiting"]``.
    """
    path = resources.files("gaussmix") / "data" / "faithful.csv"
    with path.open("r") as f:
        header = f.readline().strip().split(",")
        X = np.loadtxt(f, delimiter=",", dtype=np.float64)
    return X, header
