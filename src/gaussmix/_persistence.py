"""Safe, versioned persistence of fitted mixtures: files, pickles and skops.

:func:`save` writes one NumPy ``.npz`` archive that holds nothing but plain arrays
(numbers, booleans, unicode text) and a JSON header; :func:`load` reads it back with
``np.load(..., allow_pickle=False)``, so loading a file never runs code from it,
whoever wrote it.  The estimator's ``__getstate__`` / ``__setstate__`` call
:func:`model_getstate` / :func:`model_setstate`, so that pickles (and ``skops.io``
files) carry the gaussmix version, warn when loaded under another one, and hold no
private gaussmix objects: the updater (``_updates``) is rebuilt from the public
fitted attributes by :func:`rebuild_updates`, which also serves models assembled
attribute by attribute, as scikit-learn's are.

File format ``gaussmix-model``, format version 1
------------------------------------------------
An uncompressed ``.npz`` (zip) archive of ``.npy`` members:

``header``
    A 0-d unicode array: a JSON object (strict JSON: no NaN or Infinity) with

    ``format`` : ``"gaussmix-model"``
    ``format_version`` : int, 1.  :func:`load` refuses files of a newer format.
    ``gaussmix_version``, ``numpy_version``, ``sklearn_version`` : str, of the writer.
    ``class`` : ``"GaussianMixture"`` or ``"BayesianGaussianMixture"``.
    ``params`` : ``get_params()``, each value encoded as below.
    ``attributes`` : every fitted attribute: the public ones, ``restarts_``, and the
        private ones that hold plain values (``_fit_weight``, ``_fit_signature``,
        ``_online``: the state of ``partial_fit``).
    ``updates`` : the fitted updater's settings: ``method``, ``covariance_type``,
        ``reg_covar``, ``eps``, ``weight_scale``, ``priors`` (bool), ``weights_given``
        (bool or null).
    ``not_saved`` : {name: reason} for what could not be saved (a ``random_state``
        that is a ``RandomState`` or ``Generator`` is saved as None; private
        attributes that are not plain values are left out; ``_updates`` is rebuilt).
    ``arrays`` : {member name: {"dtype": numpy dtype string, "shape": [int, ...]}}
        for every other member of the archive.
    ``sha256`` : hex SHA-256 of the canonical header (``json.dumps(header without
        sha256, sort_keys=True, separators=(",", ":"))``, UTF-8), then, for every
        member in sorted order, its name, a zero byte and its C-order bytes.  It
        detects modified and corrupted files (it is a checksum, not a signature).

Values are JSON: null, booleans, integers, finite floats, strings, lists, and the
tagged objects ``{"__float__": "nan" | "inf" | "-inf"}``, ``{"__array__": member}``
(with ``"object": true`` for an object array of strings, stored as unicode),
``{"__scalar__": member}`` (a NumPy scalar, stored 0-d), ``{"__tuple__": [...]}``,
``{"__dict__": {...}}`` and ``{"__dataclass__": name, "fields": {...}}`` for the
records ``Restart``, ``OnlineState``, ``RunningStatistics``, ``MixtureParams`` and
``VariationalParams``.  Arrays have dtype kinds b, i, u, f or U only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import secrets
import struct
import warnings
import zipfile
import zlib

import numpy as np
import sklearn
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from . import _version
from .models import MODELS as COVARIANCE_TYPES
from ._em import EMUpdates, MixtureParams
from ._fit._loop import Restart
from ._fit._online import OnlineState, RunningStatistics
from ._priors import PRIOR_PARAMETERS, Priors
from ._variational import VariationalParams, VariationalUpdates

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "InconsistentVersionWarning",
    "load",
    "model_getstate",
    "model_setstate",
    "rebuild_updates",
    "save",
    "updates_config",
    "updates_property",
]

FORMAT_NAME = "gaussmix-model"
FORMAT_VERSION = 1
HEADER = "header"

# The records a file or a pickle state may hold, by the name written for them.
_RECORDS = {cls.__name__: cls for cls in
            (Restart, OnlineState, RunningStatistics, MixtureParams, VariationalParams)}
# Attributes of the pickle state that hold records, stored there as plain dicts.
# (Files save every public attribute and the private ones that hold plain values,
# e.g. ``_fit_weight``, ``_fit_signature``, ``_online``; never ``_updates``.)
_RECORD_ATTRIBUTES = ("restarts_", "_online")
_ARRAY_KINDS = "biufU"
# What reading a damaged archive raises besides ValueError (a wrong CRC is BadZipFile).
_READ_ERRORS = (OSError, EOFError, KeyError, TypeError, OverflowError, NotImplementedError,
                struct.error, zlib.error, zipfile.BadZipFile, zipfile.LargeZipFile)
_TAGS = ("__float__", "__array__", "__scalar__", "__tuple__", "__dict__", "__dataclass__")


def _current_version():
    return _version.__version__


class InconsistentVersionWarning(UserWarning):
    """A model saved or pickled by one gaussmix version is loaded by another.

    The model loads (its file format is understood), but its behaviour may differ from
    the one it had: refit it, or load it with the version that wrote it.

    Parameters
    ----------
    estimator_name : str
        The class of the model.
    original_version : str
        The gaussmix version that saved the model (``'unknown'`` for pickles made
        before gaussmix recorded it).
    current_version : str
        The gaussmix version loading it.

    Examples
    --------
    >>> from gaussmix._persistence import InconsistentVersionWarning
    >>> w = InconsistentVersionWarning("GaussianMixture", "0.0.1", "0.1.0")
    >>> w.original_version
    '0.0.1'
    """

    def __init__(self, estimator_name, original_version, current_version):
        self.estimator_name = estimator_name
        self.original_version = original_version
        self.current_version = current_version
        super().__init__(
            f"This {estimator_name} was saved by gaussmix {original_version} and is "
            f"loaded by gaussmix {current_version}; its behaviour may differ. Refit it, "
            f"or load it with gaussmix {original_version}."
        )


# =============================================================== the updater
def updates_config(updates):
    """The settings of a fitted updater, as JSON-safe values.

    What :func:`rebuild_updates` needs beyond the public attributes to rebuild
    exactly the updater a fit made, even after ``set_params``.

    Parameters
    ----------
    updates : EMUpdates or VariationalUpdates
        The updater.

    Returns
    -------
    dict
        ``method``, ``covariance_type``, ``reg_covar``, ``eps``, ``weight_scale`` (the
        mean sample weight of the fit, which scales the guard on N_k), ``priors``
        (whether it has priors) and ``weights_given`` (None without priors).

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture
    >>> from gaussmix._persistence import updates_config
    >>> X = np.random.default_rng(0).normal(size=(50, 2))
    >>> updates_config(GaussianMixture(2, random_state=0).fit(X)._updates)["method"]
    'em'
    """
    priors = updates.priors
    return {
        "method": "variational" if isinstance(updates, VariationalUpdates) else "em",
        "covariance_type": updates.covariance.name,
        "reg_covar": float(updates.reg_covar),
        "eps": float(updates.eps),
        "weight_scale": float(getattr(updates, "weight_scale", 1.0)),
        "priors": priors is not None,
        "weights_given": None if priors is None else bool(priors.weights_given),
    }


def rebuild_updates(model, config=None):
    """The updater of a fitted model, from its public attributes and parameters.

    The covariance strategy comes from ``covariance_type``, ``eps`` from the dtype of
    ``means_`` (the dtype the model was fitted in), ``reg_covar`` from the parameter,
    and the priors from the ``*_prior_`` attributes when the model has them (MAP EM
    and variational fits).  ``weights_given`` (whether MAP EM used its Dirichlet
    weight prior) is not a fitted attribute: it is whether the parameter
    ``weight_concentration_prior`` is set, as at fit time.  ``weight_scale`` (the mean
    sample weight of the fit, which only scales the M-step's guard on N_k) is 1, exact
    for fits without ``sample_weight``.  ``config`` (from
    :func:`updates_config`, recorded by :func:`save` and in pickles) overrides these
    settings, so that the updater is exactly the fitted one even if parameters were
    changed after the fit.

    Parameters
    ----------
    model : GaussianMixture
        A fitted model, or one whose public fitted attributes were set by hand
        (``weights_``, ``means_``, ``covariances_``, ``precisions_cholesky_``; for
        ``method='variational'`` also ``weight_concentration_``, ``mean_precision_``
        and ``degrees_of_freedom_``).
    config : dict, default=None
        Settings from :func:`updates_config`.

    Returns
    -------
    EMUpdates or VariationalUpdates
        The updater.  A variational model without the ``*_prior_`` attributes gets
        one without priors: it predicts, scores and samples, but cannot continue with
        ``partial_fit`` (``fit`` makes a new one).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        Without ``means_``.
    ValueError
        When only some of the ``*_prior_`` attributes exist, or one has the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture
    >>> from gaussmix._persistence import rebuild_updates
    >>> X = np.random.default_rng(0).normal(size=(50, 2))
    >>> gm = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    >>> rebuild_updates(gm).covariance.name
    'diag'
    """
    means = model.__dict__.get("means_")
    if means is None:
        raise NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet (it has no means_). "
            "Call 'fit' with appropriate arguments, or set its fitted attributes."
        )
    means = np.asarray(means)
    if means.ndim != 2:
        raise ValueError(f"means_ must be 2-D (n_components, n_features), got shape "
                         f"{means.shape}")
    config = {} if config is None else config
    method = config.get("method", model.method)
    covariance_type = config.get("covariance_type", model.covariance_type)
    try:
        cov = COVARIANCE_TYPES[covariance_type]
    except (KeyError, TypeError):
        raise ValueError(f"covariance_type must be one of {sorted(COVARIANCE_TYPES)}, "
                         f"got {covariance_type!r}") from None
    if method not in ("em", "variational"):
        raise ValueError(f"method must be 'em' or 'variational', got {method!r}")
    dtype = means.dtype if means.dtype.kind == "f" else np.dtype(np.float64)
    eps = float(config.get("eps", np.finfo(dtype).eps))
    reg_covar = float(config.get("reg_covar", model.reg_covar))
    weights_given = config.get("weights_given")
    if weights_given is None:
        weights_given = model.weight_concentration_prior is not None
    weight_scale = float(config.get("weight_scale", 1.0))
    priors = _priors_from_attributes(model, cov, means.shape[1], bool(weights_given))
    if config.get("priors") and priors is None:
        raise ValueError("the model was fitted with priors, but has no *_prior_ attributes")
    updates_class = VariationalUpdates if method == "variational" else EMUpdates
    return updates_class(cov, reg_covar, eps, priors, weight_scale)


def _priors_from_attributes(model, cov, n_features, weights_given):
    """``Priors`` from the ``*_prior_`` attributes (None when there are none)."""
    names = [name + "_" for name in PRIOR_PARAMETERS]
    present = [name for name in names if name in model.__dict__]
    if not present:
        return None
    missing = [name for name in names if name not in present]
    if missing:
        raise ValueError(f"the model has {', '.join(present)} but not {', '.join(missing)}; "
                         "set every *_prior_ attribute or none")
    d = n_features
    mean = np.asarray(model.mean_prior_)
    if mean.dtype.kind != "f":
        mean = mean.astype(np.float64)
    if mean.shape != (d,):
        raise ValueError(f"mean_prior_ must have shape ({d},), got {mean.shape}")
    scale = model.covariance_prior_
    if cov.diagonal and cov.isotropic:
        if np.ndim(scale) != 0:
            raise ValueError(f"covariance_prior_ must be a float for covariance_type="
                             f"'spherical', got shape {np.shape(scale)}")
        covariance = np.full((1, d), float(scale))
    else:
        covariance = np.asarray(scale)
        if covariance.dtype.kind != "f":
            covariance = covariance.astype(np.float64)
        shape = (d,) if cov.diagonal else (d, d)
        if covariance.shape != shape:
            raise ValueError(f"covariance_prior_ must have shape {shape} for "
                             f"covariance_type='{cov.name}', got {covariance.shape}")
        covariance = covariance[np.newaxis]
    return Priors(model.weight_concentration_prior_type,
                  float(model.weight_concentration_prior_),
                  float(model.mean_precision_prior_), mean,
                  float(model.degrees_of_freedom_prior_), covariance, weights_given)


def updates_property():
    """The estimator's ``_updates``: stored by ``fit``, else rebuilt on each access.

    A data descriptor over ``__dict__['_updates']`` (so states saved before it still
    load).  When the estimator has no updater (a model assembled from its public
    attributes), each access rebuilds one from the current attributes and parameters
    with :func:`rebuild_updates`; it raises ``NotFittedError`` (an AttributeError)
    when there are no fitted attributes.

    Returns
    -------
    property
        For the class body: ``_updates = updates_property()``.

    Examples
    --------
    >>> from gaussmix._persistence import updates_property
    >>> isinstance(updates_property(), property)
    True
    """

    def get(self):
        updates = self.__dict__.get("_updates")
        return rebuild_updates(self) if updates is None else updates

    def set(self, value):
        self.__dict__["_updates"] = value

    def delete(self):
        self.__dict__.pop("_updates", None)

    return property(get, set, delete, "The updater of the fitted model (private).")


# ==================================================================== pickle
def _to_plain(value):
    """Records (dataclasses) as {'__dataclass__': name, 'fields': {...}}, recursively."""
    if type(value) in _RECORDS.values():
        return {"__dataclass__": type(value).__name__,
                "fields": {f.name: _to_plain(getattr(value, f.name))
                           for f in dataclasses.fields(value)}}
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    return value


def _from_plain(value):
    """The inverse of :func:`_to_plain` (only the records of ``_RECORDS``)."""
    if isinstance(value, dict):
        if set(value) == {"__dataclass__", "fields"} and value["__dataclass__"] in _RECORDS:
            cls = _RECORDS[value["__dataclass__"]]
            return cls(**{k: _from_plain(v) for k, v in value["fields"].items()})
        return {k: _from_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_from_plain(v) for v in value)
    return value


def model_getstate(model):
    """The estimator's pickle state: plain values, the gaussmix version, no updater.

    scikit-learn's ``BaseEstimator.__getstate__`` state, without ``_updates`` (its
    settings are kept as the plain dict ``_updates_config``, see
    :func:`updates_config`), with the records of ``restarts_`` and ``_online`` as
    plain dicts of arrays, and with ``_gaussmix_version``.  Only builtins and NumPy
    types remain, so ``skops.io`` trusts everything but the estimator's own type.

    Parameters
    ----------
    model : GaussianMixture
        The estimator.

    Returns
    -------
    dict
        The state for :func:`model_setstate`.

    Examples
    --------
    >>> from gaussmix import GaussianMixture
    >>> from gaussmix._persistence import model_getstate
    >>> state = model_getstate(GaussianMixture(2))
    >>> "_gaussmix_version" in state
    True
    """
    state = dict(BaseEstimator.__getstate__(model))  # a copy: never change the model
    updates = state.pop("_updates", None)
    if updates is not None:
        state["_updates_config"] = updates_config(updates)
    for name in _RECORD_ATTRIBUTES:
        if name in state:
            state[name] = _to_plain(state[name])
    state["_gaussmix_version"] = _current_version()
    return state


def model_setstate(model, state):
    """Restore a state from :func:`model_getstate` (or an older pickle).

    Warns with :class:`InconsistentVersionWarning` when the state comes from another
    gaussmix version, restores the records, and rebuilds the updater of a fitted
    model with :func:`rebuild_updates` (a state that still holds ``_updates``, from
    an older gaussmix, keeps it).

    Parameters
    ----------
    model : GaussianMixture
        The instance being unpickled.
    state : dict
        The state.

    Examples
    --------
    >>> from gaussmix import GaussianMixture
    >>> from gaussmix._persistence import model_getstate, model_setstate
    >>> gm = GaussianMixture.__new__(GaussianMixture)
    >>> model_setstate(gm, model_getstate(GaussianMixture(3)))
    >>> gm.n_components
    3
    """
    state = dict(state)
    version = state.pop("_gaussmix_version", "unknown")
    if version != _current_version():
        warnings.warn(InconsistentVersionWarning(type(model).__name__, version,
                                                 _current_version()), stacklevel=3)
    config = state.pop("_updates_config", None)
    for name in _RECORD_ATTRIBUTES:
        if name in state:
            state[name] = _from_plain(state[name])
    BaseEstimator.__setstate__(model, state)
    if model.__dict__.get("_updates") is None and "means_" in model.__dict__:
        model.__dict__["_updates"] = rebuild_updates(model, config)


def _updates_of(model):
    """The model's updater: the stored one, else rebuilt from its attributes."""
    updates = model.__dict__.get("_updates")
    return rebuild_updates(model) if updates is None else updates


# ================================================================ the codec
class _Encoder:
    """Values to JSON, arrays to the payload (member names from the value's path)."""

    def __init__(self):
        self.arrays = {}

    def _store(self, key, array):
        if key in self.arrays or key == HEADER:
            raise ValueError(f"duplicate archive member {key!r}")
        self.arrays[key] = array
        return key

    def encode(self, value, key):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.generic):
            if value.dtype.kind not in _ARRAY_KINDS:
                raise TypeError(f"{key}: cannot save a NumPy scalar of dtype {value.dtype}")
            return {"__scalar__": self._store(key, np.asarray(value))}
        if isinstance(value, np.ndarray):
            return self._encode_array(np.array(value, copy=True, subok=False), key)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else {"__float__": repr(float(value))}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v, f"{key}.{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [self.encode(v, f"{key}.{i}") for i, v in enumerate(value)]
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise TypeError(f"{key}: cannot save a dict with non-string keys")
            return {"__dict__": {k: self.encode(v, f"{key}.{k}") for k, v in value.items()}}
        if type(value) in _RECORDS.values():
            return {"__dataclass__": type(value).__name__,
                    "fields": {f.name: self.encode(getattr(value, f.name), f"{key}.{f.name}")
                               for f in dataclasses.fields(value)}}
        raise TypeError(f"{key}: cannot save a value of type {type(value).__qualname__}")

    def _encode_array(self, array, key):
        if array.dtype.kind == "O":
            items = array.ravel().tolist()
            if not all(type(item) is str for item in items):
                raise TypeError(f"{key}: cannot save an object array of non-strings")
            text = np.array(items, dtype=str).reshape(array.shape) if items else \
                np.zeros(array.shape, dtype="U1")
            if text.astype(object).ravel().tolist() != items:  # trailing NULs are lost
                raise TypeError(f"{key}: cannot save strings that end with NUL characters")
            return {"__array__": self._store(key, text), "object": True}
        if array.dtype.kind not in _ARRAY_KINDS or array.dtype.fields is not None:
            raise TypeError(f"{key}: cannot save an array of dtype {array.dtype}")
        return {"__array__": self._store(key, array)}


class _Decoder:
    """JSON values back to Python, taking each payload array exactly once."""

    def __init__(self, arrays, fail):
        self.arrays = arrays
        self.used = set()
        self.fail = fail

    def _take(self, key, where):
        if not isinstance(key, str) or key not in self.arrays:
            self.fail(f"the header refers to {key!r} at {where}, which is not a listed array")
        if key in self.used:
            self.fail(f"the header refers to the array {key!r} twice")
        self.used.add(key)
        return self.arrays[key]

    def decode(self, node, where):
        if node is None or isinstance(node, (bool, str, int, float)):
            return node
        if isinstance(node, list):
            return [self.decode(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if not isinstance(node, dict):  # json.loads makes nothing else
            self.fail(f"unexpected value at {where}")
        tags = [tag for tag in _TAGS if tag in node]
        if len(tags) != 1:
            self.fail(f"malformed value at {where}: expected one of the tags "
                      f"{', '.join(_TAGS)}, got the keys {sorted(node)}")
        tag, body = tags[0], node[tags[0]]
        allowed = {tag, *{"__array__": ("object",), "__dataclass__": ("fields",)}.get(tag, ())}
        extra = set(node) - allowed
        if extra:
            self.fail(f"malformed value at {where}: unexpected keys {sorted(extra)}")
        if tag == "__float__":
            if body not in ("nan", "inf", "-inf"):
                self.fail(f"malformed float at {where}: {body!r}")
            return float(body)
        if tag == "__array__":
            array = self._take(body, where)
            as_object = node.get("object", False)
            if not isinstance(as_object, bool):
                self.fail(f"malformed array at {where}: 'object' must be true or false")
            if as_object:
                if array.dtype.kind != "U":
                    self.fail(f"malformed array at {where}: an object array must be "
                              "stored as unicode text")
                return array.astype(object)
            return array
        if tag == "__scalar__":
            array = self._take(body, where)
            if array.ndim != 0:
                self.fail(f"malformed scalar at {where}: array {body!r} is not 0-d")
            return array[()]
        if tag == "__tuple__":
            if not isinstance(body, list):
                self.fail(f"malformed tuple at {where}: expected a list")
            return tuple(self.decode(v, f"{where}[{i}]") for i, v in enumerate(body))
        if tag == "__dict__":
            if not isinstance(body, dict):
                self.fail(f"malformed dict at {where}: expected an object")
            return {k: self.decode(v, f"{where}.{k}") for k, v in body.items()}
        # __dataclass__
        cls = _RECORDS.get(body) if isinstance(body, str) else None
        fields = node.get("fields")
        if cls is None:
            self.fail(f"unknown record {body!r} at {where}")
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(fields, dict) or set(fields) != names:
            self.fail(f"malformed {body} at {where}: expected the fields {sorted(names)}")
        return cls(**{k: self.decode(v, f"{where}.{k}") for k, v in fields.items()})


def _canonical(header):
    body = {k: v for k, v in header.items() if k != "sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _digest(header, arrays):
    """The ``sha256`` of the format: canonical header, then every member's name and bytes."""
    h = hashlib.sha256(_canonical(header).encode("utf-8"))
    for key in sorted(arrays):
        h.update(key.encode("utf-8") + b"\0")
        h.update(np.ascontiguousarray(arrays[key]).tobytes())
    return h.hexdigest()


def _write_archive(file, header, arrays):
    """Write the archive (header + members), with a fresh ``sha256``."""
    header = dict(header)
    header["arrays"] = {key: {"dtype": a.dtype.str, "shape": list(a.shape)}
                        for key, a in sorted(arrays.items())}
    header["sha256"] = _digest(header, arrays)
    text = json.dumps(header, sort_keys=True, allow_nan=False)
    members = {HEADER: np.array(text), **arrays}
    if hasattr(file, "write"):
        np.savez(file, allow_pickle=False, **members)
        return
    path = os.fspath(file)
    # Written beside the target and renamed over it: a crash never leaves half a file.
    tmp = f"{path}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "xb") as fh:
            np.savez(fh, allow_pickle=False, **members)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _file_name(file):
    if hasattr(file, "read") or hasattr(file, "write"):
        return str(getattr(file, "name", "<file object>"))
    return os.fspath(file)


# ==================================================================== save
def save(model, path):
    """Save a fitted model to a file that loading cannot make execute code.

    The file is a NumPy ``.npz`` archive of plain arrays with a JSON header: the
    gaussmix and NumPy versions, the class, the parameters and every fitted
    attribute (with ``restarts_`` and the ``partial_fit`` state), and a SHA-256 of
    the whole.  :func:`gaussmix.load` reads it back with ``allow_pickle=False``; the
    loaded model predicts, scores and samples exactly as this one, refits, and
    continues a ``partial_fit`` stream where this one stopped.  The format is
    documented in :mod:`gaussmix._persistence`.

    Parameters
    ----------
    model : GaussianMixture or BayesianGaussianMixture
        A fitted model.
    path : str, path-like or binary file object
        Where to write.  The name is used as given (``.npz`` is conventional, not
        added); an existing file is replaced only once the new one is complete.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When the model is not fitted.
    TypeError
        When a parameter holds a value that cannot be saved without pickle (a
        callable, an arbitrary object).
    ValueError
        When the fitted attributes are inconsistent (with each other, or with
        ``n_components`` or ``method`` changed by ``set_params`` after the fit).

    Warns
    -----
    UserWarning
        When ``random_state`` is a ``RandomState`` or ``Generator``: it cannot be saved
        without pickle, and the file records ``random_state=None``.

    See Also
    --------
    load : Read the model back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture
    >>> from gaussmix._persistence import load, save
    >>> X = np.random.default_rng(0).normal(size=(100, 2))
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.npz")
    ...     save(gm, path)
    ...     loaded = load(path)
    >>> bool(np.array_equal(loaded.predict_proba(X), gm.predict_proba(X)))
    True
    """
    from ._bayesian_mixture import BayesianGaussianMixture
    from ._gaussian_mixture import GaussianMixture

    if type(model) not in (GaussianMixture, BayesianGaussianMixture):
        raise TypeError(f"save needs a GaussianMixture or BayesianGaussianMixture, got "
                        f"{type(model).__qualname__}")
    if "means_" not in model.__dict__:
        raise NotFittedError(f"This {type(model).__name__} instance is not fitted yet; "
                             "fit it before saving it.")
    encoder = _Encoder()
    not_saved = {}
    params = {}
    for name, value in model.get_params(deep=False).items():
        if name == "random_state" and isinstance(value, (np.random.RandomState,
                                                         np.random.Generator)):
            not_saved[name] = (f"a {type(value).__name__} cannot be saved without pickle; "
                               "saved as None")
            warnings.warn(
                f"random_state is a {type(value).__name__}, which cannot be saved without "
                "pickle: the file records random_state=None, so the loaded model's "
                "sample() is not reproducible. Use an int random_state to save it.",
                UserWarning, stacklevel=2)
            value = None
        params[name] = encoder.encode(value, f"params.{name}")
    attributes = {}
    for name, value in model.__dict__.items():
        if name in params or name == "_updates":
            continue
        if not name.startswith("_"):  # public: saved, or an error
            attributes[name] = encoder.encode(value, f"attributes.{name}")
            continue
        private = _Encoder()  # private: saved when it holds plain values
        try:
            attributes[name] = private.encode(value, f"attributes.{name}")
        except TypeError as exc:
            not_saved[name] = f"private state that is not a plain value ({exc})"
            continue
        for key, array in private.arrays.items():
            encoder._store(key, array)
    config = updates_config(_updates_of(model))

    def refuse(message):
        raise ValueError(f"cannot save this {type(model).__name__}: {message}")

    _check_fitted_state(model, config, refuse)  # what load checks: never a file it refuses
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "gaussmix_version": _current_version(),
        "numpy_version": np.__version__,
        "sklearn_version": sklearn.__version__,
        "class": type(model).__name__,
        "params": params,
        "attributes": attributes,
        "updates": config,
        "not_saved": not_saved,
    }
    _write_archive(path, header, encoder.arrays)


# ==================================================================== load
_HEADER_FIELDS = {
    "format": str, "format_version": int, "gaussmix_version": str, "numpy_version": str,
    "sklearn_version": str, "class": str, "params": dict, "attributes": dict,
    "updates": dict, "not_saved": dict, "arrays": dict, "sha256": str,
}
_CONFIG_FIELDS = {"method": str, "covariance_type": str, "reg_covar": (int, float),
                  "eps": (int, float), "weight_scale": (int, float), "priors": bool,
                  "weights_given": (bool, type(None))}


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def _check_type(value, expected, what, fail):
    ok = isinstance(value, expected) and not (
        isinstance(value, bool) and expected in (int, (int, float)))
    if not ok:
        names = (expected.__name__ if isinstance(expected, type)
                 else " or ".join(t.__name__ for t in expected))
        fail(f"{what} must be of type {names}, got {type(value).__name__}")


def load(path):
    """Load a model written by :meth:`GaussianMixture.save`.

    The file is read with ``np.load(path, allow_pickle=False)``: it holds only plain
    arrays and a JSON header, so loading it cannot execute code.  The header's format
    and checksum are checked before anything is built; the model is rebuilt from the
    recorded class, parameters and fitted attributes, and predicts, scores and
    samples exactly as the saved one.  A file of the same format version written by
    another gaussmix version loads with a warning; a newer format version is refused.

    Parameters
    ----------
    path : str, path-like or binary file object
        The file.

    Returns
    -------
    GaussianMixture or BayesianGaussianMixture
        The fitted model, of the class that was saved.

    Raises
    ------
    ValueError
        When the file is not a gaussmix model, is truncated or corrupted, was
        modified after it was written (checksum mismatch), has a malformed header,
        lacks an array, holds pickled objects, or is of a newer format version.  The
        message names the file and the problem.
    OSError
        When the file cannot be opened.

    Warns
    -----
    InconsistentVersionWarning
        A UserWarning, when the file was written by another gaussmix version.

    See Also
    --------
    GaussianMixture.save : Write the file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from gaussmix import GaussianMixture
    >>> from gaussmix._persistence import load, save
    >>> X = np.random.default_rng(0).normal(size=(100, 2))
    >>> vb = GaussianMixture(n_components=3, method="variational", random_state=0).fit(X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.npz")
    ...     save(vb, path)
    ...     loaded = load(path)
    >>> type(loaded).__name__, loaded.method
    ('GaussianMixture', 'variational')
    >>> bool(np.array_equal(loaded.sample(5)[0], vb.sample(5)[0]))
    True
    """
    name = _file_name(path)

    def fail(message, cause=None):
        raise ValueError(f"{name}: {message}") from cause

    if hasattr(path, "read"):
        header, arrays = _read_archive(path, fail)
    else:
        with open(path, "rb") as fh:
            header, arrays = _read_archive(fh, fail)
    return _build(header, arrays, fail)


def _read_archive(fh, fail):
    """(header dict, {member: array}) after the format, header types, members and
    checksum are checked."""
    start = fh.tell()
    magic = fh.read(6)
    fh.seek(start)
    if not magic.startswith(b"PK"):  # every zip archive starts so
        if not magic:
            fail("not a gaussmix model file: the file is empty")
        if magic.startswith(b"\x93NUMPY"):
            fail("not a gaussmix model file (a single .npy array, not an .npz archive)")
        kind = ("a pickle, which gaussmix never writes and refuses to load"
                if magic[:1] == b"\x80" else "not a NumPy .npz archive")
        fail(f"not a gaussmix model file ({kind})")
    try:
        npz = np.load(fh, allow_pickle=False)
    except (ValueError, *_READ_ERRORS) as exc:
        fail(f"not a readable gaussmix model file: truncated or corrupted "
             f"({type(exc).__name__}: {exc})", exc)
    if not isinstance(npz, np.lib.npyio.NpzFile):
        fail("not a gaussmix model file (not an .npz archive)")
    with npz:
        if HEADER not in npz.files:
            fail(f"not a gaussmix model file: the archive has no {HEADER!r} member "
                 f"(members: {', '.join(sorted(npz.files)[:5]) or 'none'})")
        raw = _read_member(npz, HEADER, fail)
        if raw.dtype.kind != "U" or raw.ndim != 0:
            fail(f"not a gaussmix model file: its {HEADER!r} is not JSON text")
        try:
            header = json.loads(raw.item(), parse_constant=_reject_constant)
        except ValueError as exc:
            fail(f"the header is not valid JSON: {exc}", exc)
        if not isinstance(header, dict):
            fail("the header is not a JSON object")
        if header.get("format") != FORMAT_NAME:
            fail(f"not a gaussmix model file: its header's format is "
                 f"{header.get('format')!r}, not {FORMAT_NAME!r}")
        version = header.get("format_version")
        _check_type(version, int, "the header's format_version", fail)
        if version > FORMAT_VERSION:
            fail(f"the file has format version {version} (written by gaussmix "
                 f"{header.get('gaussmix_version')}), but this gaussmix "
                 f"({_current_version()}) reads format versions up to {FORMAT_VERSION}: "
                 "upgrade gaussmix to load it")
        if version < 1:
            fail(f"invalid format version {version}")
        for field, expected in _HEADER_FIELDS.items():
            if field not in header:
                fail(f"the header lacks the field {field!r}")
            _check_type(header[field], expected, f"the header's {field!r}", fail)
        for field, expected in _CONFIG_FIELDS.items():
            if field not in header["updates"]:
                fail(f"the header's 'updates' lacks {field!r}")
            _check_type(header["updates"][field], expected, f"updates.{field}", fail)
        table = header["arrays"]
        for key, spec in table.items():
            if not (isinstance(spec, dict) and set(spec) == {"dtype", "shape"}
                    and isinstance(spec["dtype"], str) and isinstance(spec["shape"], list)
                    and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                            for n in spec["shape"])):
                fail(f"the header's entry for the array {key!r} must be "
                     "{'dtype': str, 'shape': [int, ...]}")
        members = set(npz.files) - {HEADER}
        missing = sorted(set(table) - members)
        if missing:
            fail(f"the array {missing[0]!r} listed in the header is missing from the file "
                 f"({len(missing)} missing): truncated or modified")
        unexpected = sorted(members - set(table))
        if unexpected:
            fail(f"the file holds the array {unexpected[0]!r}, which the header does not "
                 "list: modified")
        arrays = {}
        for key, spec in table.items():
            array = _read_member(npz, key, fail)
            if (array.dtype.kind not in _ARRAY_KINDS or array.dtype.fields is not None
                    or array.dtype.subdtype is not None):
                fail(f"the array {key!r} has the unsupported dtype {array.dtype}")
            if array.dtype.str != spec["dtype"] or list(array.shape) != spec["shape"]:
                fail(f"the array {key!r} is {array.dtype.str} of shape {list(array.shape)}, "
                     f"but the header says {spec['dtype']} of shape {spec['shape']}: modified")
            arrays[key] = array if array.flags.writeable else array.copy()
    try:
        digest = _digest(header, arrays)
    except ValueError as exc:
        fail(f"the header cannot be checked: {exc}", exc)
    if digest != header["sha256"]:
        fail("checksum mismatch: the file was modified or corrupted after it was written "
             f"(sha256 {digest} instead of the recorded {header['sha256']})")
    return header, arrays


def _read_member(npz, key, fail):
    try:
        return npz[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc):
            fail(f"the array {key!r} holds Python objects (pickled data), which gaussmix "
                 "files never contain; refusing to load it", exc)
        fail(f"the array {key!r} cannot be read: truncated or corrupted ({exc})", exc)
    except _READ_ERRORS as exc:
        fail(f"the array {key!r} cannot be read: truncated or corrupted "
             f"({type(exc).__name__}: {exc})", exc)


def _build(header, arrays, fail):
    """The estimator from a checked header and its arrays."""
    from ._bayesian_mixture import BayesianGaussianMixture
    from ._gaussian_mixture import GaussianMixture

    classes = {"GaussianMixture": GaussianMixture,
               "BayesianGaussianMixture": BayesianGaussianMixture}
    cls = classes.get(header["class"])
    if cls is None:
        fail(f"unknown class {header['class']!r} (expected one of {', '.join(classes)})")
    if header["gaussmix_version"] != _current_version():
        warnings.warn(InconsistentVersionWarning(cls.__name__, header["gaussmix_version"],
                                                 _current_version()), stacklevel=3)
    decoder = _Decoder(arrays, fail)
    params = {k: decoder.decode(v, f"params.{k}") for k, v in header["params"].items()}
    attributes = {k: decoder.decode(v, f"attributes.{k}")
                  for k, v in header["attributes"].items()}
    unused = sorted(set(arrays) - decoder.used)
    if unused:
        fail(f"the array {unused[0]!r} is listed but never used by the header")
    model = cls()
    valid = model.get_params(deep=False)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        fail(f"{', '.join(unknown)} is not a parameter of {cls.__name__} in gaussmix "
             f"{_current_version()} (the file was written by gaussmix "
             f"{header['gaussmix_version']})")
    model.set_params(**params)
    try:
        model._validate_params()
    except ValueError as exc:
        fail(f"invalid parameters: {exc}", exc)
    for name, value in attributes.items():
        if (name in valid or name == "_updates" or name.startswith("__")
                or not (name.endswith("_") or name.startswith("_"))):
            fail(f"{name!r} is not a fitted attribute")
        setattr(model, name, value)
    config = header["updates"]
    _check_fitted_state(model, config, fail)
    try:
        updates = rebuild_updates(model, config)
    except (ValueError, AttributeError, TypeError) as exc:
        fail(f"inconsistent fitted state: {exc}", exc)
    model.__dict__["_updates"] = updates
    return model


def _check_fitted_state(model, config, fail):
    """Shapes and dtypes of the attributes the computations read, for clear errors on a
    crafted file (its checksum can be recomputed; it is no signature)."""
    attrs = model.__dict__
    required = ["weights_", "means_", "covariances_", "precisions_cholesky_"]
    if config["method"] == "variational":
        required += ["weight_concentration_", "mean_precision_", "degrees_of_freedom_"]
    missing = [n for n in required if n not in attrs]
    if missing:
        fail(f"the fitted attribute {missing[0]!r} is missing")
    if config["method"] != model.method:
        fail(f"the model was fitted with method={config['method']!r}, but its parameter "
             f"is {model.method!r}")
    cov = COVARIANCE_TYPES.get(config["covariance_type"])
    if cov is None:
        fail(f"unknown covariance_type {config['covariance_type']!r}")

    def array(name, shape, value=None):
        a = attrs[name] if value is None else value
        if not isinstance(a, np.ndarray) or a.dtype.kind != "f" or a.shape != shape:
            got = (f"{a.dtype} of shape {a.shape}" if isinstance(a, np.ndarray)
                   else type(a).__name__)
            fail(f"the fitted attribute {name} must be a float array of shape {shape}, got "
                 f"{got}")

    means = attrs["means_"]
    if not isinstance(means, np.ndarray) or means.ndim != 2 or means.dtype.kind != "f":
        fail("the fitted attribute means_ must be a 2-D float array")
    k, d = means.shape
    if k != model.n_components:
        fail(f"means_ has {k} components, but n_components is {model.n_components}")
    array("weights_", (k,))
    for name in ("covariances_", "precisions_", "precisions_cholesky_"):
        if name in attrs:  # precisions_ is not needed (scikit-learn-style models lack it)
            array(name, cov.public_shape(k, d))
    if attrs.get("n_features_in_", d) != d:
        fail(f"n_features_in_ is {attrs['n_features_in_']}, but means_ has {d} features")
    names = attrs.get("feature_names_in_")
    if names is not None and (not isinstance(names, np.ndarray) or names.shape != (d,)):
        fail(f"feature_names_in_ must be an array of {d} names")
    if config["method"] == "variational":
        concentration = attrs["weight_concentration_"]
        if isinstance(concentration, tuple):
            if len(concentration) != 2:
                fail("weight_concentration_ must be an array or a tuple of two arrays")
            for part in concentration:
                array("weight_concentration_", (k,), part)
        else:
            array("weight_concentration_", (k,))
        array("mean_precision_", (k,))
        dof = attrs["degrees_of_freedom_"]
        if cov.shared:
            if not (isinstance(dof, (float, np.floating))
                    or (isinstance(dof, np.ndarray) and dof.size == 1)):
                fail("degrees_of_freedom_ must be a float for covariance_type='tied'")
        else:
            array("degrees_of_freedom_", (k,))
    online = attrs.get("_online")
    if online is not None:
        if not isinstance(online, OnlineState):
            fail("_online must be an OnlineState record")
        params = online.params
        canonical = (cov.n_factors(k), d, d) if not cov.diagonal else (k, d)
        if not isinstance(params, MixtureParams):
            fail("_online.params must be a MixtureParams record")
        array("_online.params.weights", (k,), params.weights)
        array("_online.params.means", (k, d), params.means)
        array("_online.params.covariances", canonical, params.covariances)
        array("_online.params.prec_chol", canonical, params.prec_chol)
        if online.running is not None:
            array("_online.running.means", (k, d), online.running.means)
            array("_online.running.nk", (k,), online.running.nk)
            array("_online.running.scatter", cov.stats_shape(k, d), online.running.scatter)
