"""gaussmix: fast Gaussian mixture models with scikit-learn's API.

>>> from gaussmix import GaussianMixture
"""

from ._gaussian_mixture import GaussianMixture
from ._show_versions import show_versions
from ._version import __version__
from .datasets import load_faithful
from .diagnostics import DiagnosticReport, compare_models, plot_diagnostics

__all__ = ["GaussianMixture", "load_faithful", "show_versions", "__version__",
           "DiagnosticReport", "compare_models", "plot_diagnostics"]
