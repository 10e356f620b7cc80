"""The covariance models: one table entry per model, scikit-learn's four and mclust's 14.

A model's entry is a strategy object (see :mod:`gaussmix._covariance`) that knows its
constrained M-step from the centred statistics, its number of free covariance
parameters, its public attribute shapes and which of the kernel's three layouts it
uses (per-component triangular, shared triangular, diagonal).  mclust's models
Sigma_k = lambda_k D_k A_k D_k^T are named by volume, shape and orientation, each
Equal, Variable or Identity (Banfield & Raftery 1993; Celeux & Govaert 1995):

========  ==========================  ======  =====================================
name      Sigma_k                     layout  free covariance parameters (mclust's)
========  ==========================  ======  =====================================
EII       lambda I                    diag    1
VII       lambda_k I  (= spherical)   diag    k
EEI       lambda A                    diag    d
VEI       lambda_k A                  diag    k + d - 1
EVI       lambda A_k                  diag    1 + k (d - 1)
VVI       lambda_k A_k  (= diag)      diag    k d
EEE       lambda D A D^T  (= tied)    shared  d (d + 1) / 2
VEE       lambda_k D A D^T            full    k + (d - 1) + d (d - 1) / 2
EVE       lambda D A_k D^T            full    1 + k (d - 1) + d (d - 1) / 2
VVE       lambda_k D A_k D^T          full    k + k (d - 1) + d (d - 1) / 2
EEV       lambda D_k A D_k^T          full    1 + (d - 1) + k d (d - 1) / 2
VEV       lambda_k D_k A D_k^T        full    k + (d - 1) + k d (d - 1) / 2
EVV       lambda D_k A_k D_k^T        full    1 + k (d - 1) + k d (d - 1) / 2
VVV       lambda_k D_k A_k D_k^T      full    k d (d + 1) / 2  (= full)
========  ==========================  ======  =====================================

For the mclust names ``covariances_``, ``precisions_`` and ``precisions_cholesky_``
are (k, d, d) whatever the layout, and the fitted estimator also has ``volumes_``,
``shapes_`` and ``orientations_``.  VII, VVI, EEE and VVV run exactly the M-steps of
spherical, diag, tied and full (bitwise the same fits).  The ten other models
regularise the scatter before their constrained M-step (W_k + n_k reg_covar I), so
that the fitted covariances satisfy the constraint exactly.  Only maximum-likelihood
EM fits them: variational Bayes and MAP EM keep scikit-learn's four types.
"""

import numpy as np

from .._covariance import COVARIANCE_TYPES as SKLEARN_TYPES
from .._covariance import _Diagonal, _Triangular
from . import _mstep

#: mclust's model names, in mclust's order.
MCLUST_MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
                 "EEV", "VEV", "EVV", "VVV")
#: scikit-learn's names and the mclust model each one is.
ALIASES = {"spherical": "VII", "diag": "VVI", "tied": "EEE", "full": "VVV"}


def _n_cov_params(name, k, d):
    """mclust's ``nVarParams``: free parameters of the covariances of model ``name``."""
    rotations = d * (d - 1) // 2
    volume = {"E": 1, "V": k, "I": 1}[name[0]]
    shape = {"E": d - 1, "V": k * (d - 1), "I": 0}[name[1]]
    orientation = {"E": rotations, "V": k * rotations, "I": 0}[name[2]]
    if name == "EII":
        return 1
    return volume + shape + orientation


class _Constrained:
    """A model's own M-step and parameter count, on top of its kernel layout."""

    def covariances(self, nk, s1, s2, reg_covar):
        return self._mstep(nk, self.scatter(nk, s1, s2, reg_covar))

    def n_parameters(self, n_components, n_features):
        return _n_cov_params(self.name, n_components, n_features)


class _ConstrainedDiagonal(_Constrained, _Diagonal):
    """Identity orientation: diagonal covariances (the kernel's diagonal layout)."""

    def __init__(self, name, mstep):
        super().__init__(name, isotropic=False)
        self._mstep = mstep


class _ConstrainedTriangular(_Constrained, _Triangular):
    """A general orientation: one triangular factor per component."""

    def __init__(self, name, mstep):
        super().__init__(name, shared=False)
        self._mstep = mstep


class _FullForm:
    """An mclust name: the model's strategy, with (k, d, d) public attributes."""

    public_full = True

    def __init__(self, name, model):
        self.name = name
        self.model = model

    def __getattr__(self, attribute):   # everything but the public form is the model's
        return getattr(self.model, attribute)

    def public_shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def to_public(self, canonical, n_components=None):
        """(k, d, d) matrices from the canonical form (a shared factor repeated)."""
        if self.model.diagonal:
            return canonical[:, :, np.newaxis] * np.eye(canonical.shape[1])
        if self.model.shared:
            k = n_components if n_components is not None else canonical.shape[0]
            return np.repeat(canonical, k, axis=0)
        return np.array(canonical)

    def from_public(self, public, n_features=None):
        public = np.asarray(public)
        if self.model.diagonal:
            return np.diagonal(public, axis1=1, axis2=2).copy()
        return public[:1] if self.model.shared else public

    def check_public_precisions(self, public):
        """Raise unless (k, d, d) precisions fit the layout: diagonal, or all equal."""
        public = np.asarray(public)
        if self.model.diagonal:
            off = public - np.diagonal(public, axis1=1, axis2=2)[..., np.newaxis] * np.eye(
                public.shape[-1])
            if np.any(off != 0):
                raise ValueError(f"'{self.name} precision' must be diagonal matrices for "
                                 f"model {self.name} (identity orientation)")
        if self.model.shared and not np.allclose(public, public[:1]):
            raise ValueError(f"'{self.name} precision' must be one matrix repeated for "
                             f"model {self.name} (equal covariances)")


def _build():
    table = dict(SKLEARN_TYPES)
    models = {
        "EII": _ConstrainedDiagonal("EII", _mstep.eii),
        "VII": SKLEARN_TYPES["spherical"],
        "EEI": _ConstrainedDiagonal("EEI", _mstep.eei),
        "VEI": _ConstrainedDiagonal("VEI", _mstep.vei),
        "EVI": _ConstrainedDiagonal("EVI", _mstep.evi),
        "VVI": SKLEARN_TYPES["diag"],
        "EEE": SKLEARN_TYPES["tied"],
        "VEE": _ConstrainedTriangular("VEE", _mstep.vee),
        "EVE": _ConstrainedTriangular("EVE", _mstep.eve),
        "VVE": _ConstrainedTriangular("VVE", _mstep.vve),
        "EEV": _ConstrainedTriangular("EEV", _mstep.eev),
        "VEV": _ConstrainedTriangular("VEV", _mstep.vev),
        "EVV": _ConstrainedTriangular("EVV", _mstep.evv),
        "VVV": SKLEARN_TYPES["full"],
    }
    for name in MCLUST_MODELS:
        table[name] = _FullForm(name, models[name])
    return table


MODELS = _build()


def is_mclust_name(name):
    """Whether ``covariance_type`` is one of mclust's 14 names."""
    return name in MCLUST_MODELS


def decompose(covariances, name):
    """volumes (k,), shapes (k, d) and orientations (k, d, d) of (k, d, d) covariances.

    Sigma_k = lambda_k D_k diag(A_k) D_k^T with lambda_k = det(Sigma_k)^(1/d) and
    det(A_k) = 1.  With identity orientation (``name[2] == 'I'``) D_k = I and A_k is
    in feature order; otherwise the columns of D_k are eigenvectors in decreasing
    order of A_k (signs as numpy returns them).
    """
    covariances = np.asarray(covariances, dtype=np.float64)
    d = covariances.shape[-1]
    if name[2] == "I":
        values = np.diagonal(covariances, axis1=1, axis2=2)
        vectors = np.broadcast_to(np.eye(d), covariances.shape).copy()
    else:
        values, vectors = np.linalg.eigh(covariances)
        values, vectors = values[:, ::-1], vectors[:, :, ::-1]
    volumes = np.exp(np.log(values).mean(axis=1))
    return volumes, values / volumes[:, np.newaxis], vectors
