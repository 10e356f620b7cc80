"""gaussmix: fast Gaussian mixture models with scikit-learn's API.

:class:`GaussianMixture` fits maximum-likelihood or MAP EM (``method='em'``) and
variational Bayes (``method='variational'``) on one compiled, multithreaded pass over
the data per iteration; :class:`BayesianGaussianMixture` is scikit-learn's name for the
variational model.  Diagnostics are ArviZ objects (:mod:`gaussmix.diagnostics`).

Examples
--------
>>> import numpy as np
>>> from gaussmix import GaussianMixture
>>> X = np.r_[np.random.default_rng(0).normal(-5, 1, (50, 1)),
...           np.random.default_rng(1).normal(5, 1, (50, 1))]
>>> GaussianMixture(n_components=2, random_state=0).fit(X).weights_.round(2)
array([0.5, 0.5])
"""

from ._bayesian_mixture import BayesianGaussianMixture
from ._gaussian_mixture import GaussianMixture
from ._persistence import InconsistentVersionWarning, load
from ._selection import LRTResult, SelectionResult, bootstrap_lrt, select
from ._show_versions import show_versions
from ._version import __version__
from .datasets import load_faithful
from .diagnostics import DiagnosticReport, compare_models, plot_diagnostics

__all__ = [
    "BayesianGaussianMixture",
    "DiagnosticReport",
    "GaussianMixture",
    "InconsistentVersionWarning",
    "LRTResult",
    "SelectionResult",
    "__version__",
    "bootstrap_lrt",
    "compare_models",
    "load",
    "load_faithful",
    "plot_diagnostics",
    "select",
    "show_versions",
]
