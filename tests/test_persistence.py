"""Persistence: ``save`` / ``load`` (.npz + JSON header, no pickle), pickles that carry
the gaussmix version, skops with only the estimator trusted, and models rebuilt from
their public fitted attributes.

The estimator methods (``GaussianMixture.save``, ``__getstate__``/``__setstate__``,
the lazy ``_updates``) call :mod:`gaussmix._persistence`; the ``shim`` fixture installs
exactly those calls on the class for a test, so the tests hold before and after the
estimator gets them.  The tests marked ``integrated`` check the estimator itself and
are skipped until it has them.
"""

import doctest
import io
import json
import os
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

import gaussmix
from gaussmix import BayesianGaussianMixture, GaussianMixture
from gaussmix import _persistence as P
from gaussmix._fit._loop import Restart
from gaussmix._fit._online import OnlineState

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
METHODS = ("em", "variational")
DTYPES = (np.float32, np.float64)
ESTIMATOR = "gaussmix._gaussian_mixture.GaussianMixture"

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

HAS_SAVE = hasattr(GaussianMixture, "save") and hasattr(gaussmix, "load")
HAS_STATE = GaussianMixture.__getstate__ is not BaseEstimator.__getstate__
HAS_LAZY_UPDATES = isinstance(vars(GaussianMixture).get("_updates"), property)


def _blobs(n=120, d=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(-4, 1, (n, d)), rng.normal(0, 0.7, (n, d)),
              rng.normal(4, 1.3, (n, d))]
    rng.shuffle(X)
    return X.astype(dtype)


def _fit(method="em", covariance_type="full", dtype=np.float64, cls=GaussianMixture, **kw):
    X = _blobs(dtype=dtype)
    kw = {"n_components": 3, "covariance_type": covariance_type, "random_state": 0,
          "n_init": 2, "max_iter": 30, "init_params": "k-means++", **kw}
    if cls is GaussianMixture:
        kw["method"] = method
    return cls(**kw).fit(X), X


def _round_trip(model, tmp_path, name="model.npz"):
    path = tmp_path / name
    P.save(model, path)
    return P.load(path), path


def _read_raw(path):
    with np.load(path, allow_pickle=False) as npz:
        header = json.loads(npz[P.HEADER].item())
        arrays = {key: npz[key] for key in npz.files if key != P.HEADER}
    return header, arrays


def _write_unsigned(path, header, arrays):
    """An archive with this header as is (its checksum not recomputed)."""
    with open(path, "wb") as fh:
        np.savez(fh, **{P.HEADER: np.array(json.dumps(header))}, **arrays)


def _assert_same_values(a, b, where="value"):
    """Equal values of the same types, arrays bit for bit with the same dtype."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_values(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same_values(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (Restart, OnlineState)) or hasattr(a, "__dataclass_fields__"):
        _assert_same_values(vars(a), vars(b), where)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


def _assert_same_state(a, b, skip=("_updates",)):
    assert type(a) is type(b)
    names = {n for n in vars(a) if n not in skip}
    assert names == {n for n in vars(b) if n not in skip}
    for name in sorted(names):
        _assert_same_values(getattr(a, name), getattr(b, name), name)


def _assert_same_updates(a, b):
    assert type(a) is type(b)
    assert a.covariance is b.covariance
    assert (a.reg_covar, a.eps, a.weight_scale) == (b.reg_covar, b.eps, b.weight_scale)
    assert (a.priors is None) == (b.priors is None)
    if a.priors is not None:
        _assert_same_values(vars(a.priors), vars(b.priors), "priors")


def _assert_same_predictions(a, b, X):
    for name in ("predict", "predict_proba", "score_samples"):
        got, want = getattr(a, name)(X), getattr(b, name)(X)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want, err_msg=name)
    assert a.score(X) == b.score(X)
    assert a.bic(X) == b.bic(X)
    assert a.aic(X) == b.aic(X)
    for got, want in zip(a.sample(11), b.sample(11)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    if a.method == "variational":
        np.testing.assert_array_equal(a.score_samples_predictive(X),
                                      b.score_samples_predictive(X))
        np.testing.assert_array_equal(a.sample_predictive(5)[0], b.sample_predictive(5)[0])


@pytest.fixture
def shim(monkeypatch):
    """The estimator methods this module's functions are for, as they will be written."""
    monkeypatch.setattr(GaussianMixture, "_updates", P.updates_property(), raising=False)
    monkeypatch.setattr(GaussianMixture, "__getstate__", lambda self: P.model_getstate(self))
    monkeypatch.setattr(GaussianMixture, "__setstate__",
                        lambda self, state: P.model_setstate(self, state))
    monkeypatch.setattr(GaussianMixture, "save", lambda self, path: P.save(self, path),
                        raising=False)


# ==================================================================== round trips
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("method", METHODS)
def test_round_trip_is_exact(method, covariance_type, dtype, tmp_path):
    model, X = _fit(method, covariance_type, dtype)
    loaded, _ = _round_trip(model, tmp_path)
    _assert_same_state(model, loaded)
    _assert_same_values(model.get_params(), loaded.get_params(), "params")
    _assert_same_updates(model._updates, loaded._updates)
    assert loaded.means_.dtype == dtype
    assert all(type(r) is Restart for r in loaded.restarts_) and len(loaded.restarts_) == 2
    _assert_same_predictions(model, loaded, X)


@pytest.mark.parametrize("prior_type", ["dirichlet_process", "dirichlet_distribution"])
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_variational_weight_priors_and_class(prior_type, covariance_type, tmp_path):
    model, X = _fit(cls=BayesianGaussianMixture, covariance_type=covariance_type,
                    weight_concentration_prior_type=prior_type,
                    weight_concentration_prior=0.3, mean_precision_prior=2.0)
    loaded, path = _round_trip(model, tmp_path)
    assert type(loaded) is BayesianGaussianMixture
    assert isinstance(loaded.weight_concentration_, tuple) == (prior_type == "dirichlet_process")
    assert _read_raw(path)[0]["class"] == "BayesianGaussianMixture"
    _assert_same_state(model, loaded)
    _assert_same_updates(model._updates, loaded._updates)
    _assert_same_predictions(model, loaded, X)


@pytest.mark.parametrize("weights_given", [True, False])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_map_em(covariance_type, weights_given, tmp_path):
    d = 3
    scale = {"full": 0.5 * np.eye(d) + 0.1, "tied": 0.5 * np.eye(d) + 0.1,
             "diag": np.full(d, 0.4), "spherical": 0.4}[covariance_type]
    kw = {"mean_precision_prior": 0.5, "mean_prior": np.arange(d, dtype=float),
          "degrees_of_freedom_prior": d + 2.0, "covariance_prior": scale}
    if weights_given:
        kw.update(weight_concentration_prior=2.0,
                  weight_concentration_prior_type="dirichlet_distribution")
    model, X = _fit("em", covariance_type, **kw)
    assert model._updates.priors.weights_given is weights_given
    loaded, _ = _round_trip(model, tmp_path)
    _assert_same_updates(model._updates, loaded._updates)
    _assert_same_state(model, loaded)
    _assert_same_predictions(model, loaded, X)
    params = model._updates.from_attributes(model)
    assert loaded._updates.log_prior(params) == model._updates.log_prior(params)


def test_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(_blobs(), columns=["länge", "breite", "höhe"])
    model = GaussianMixture(3, init_params="k-means++", random_state=0).fit(X)
    loaded, _ = _round_trip(model, tmp_path)
    assert loaded.feature_names_in_.dtype == object
    assert loaded.feature_names_in_.tolist() == ["länge", "breite", "höhe"]
    _assert_same_predictions(model, loaded, X)
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(X.rename(columns={"höhe": "tiefe"}))


def test_loaded_model_refits_and_warm_starts(tmp_path):
    model, X = _fit("variational", "diag")
    loaded, _ = _round_trip(model, tmp_path)
    loaded.set_params(warm_start=True, max_iter=5)
    model.set_params(warm_start=True, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a usable warm start: no warning
        loaded.fit(X)
        model.fit(X)
    _assert_same_state(model, loaded)
    loaded.set_params(warm_start=False).fit(X[:200])
    model.set_params(warm_start=False).fit(X[:200])
    _assert_same_state(model, loaded)


@pytest.mark.parametrize("method", METHODS)
def test_partial_fit_stream_continues_exactly(method, tmp_path):
    X = _blobs()
    batches = np.array_split(X, 6)
    model = GaussianMixture(3, method=method, covariance_type="tied", random_state=0,
                            init_params="k-means++")
    for batch in batches[:3]:
        model.partial_fit(batch)
    loaded, _ = _round_trip(model, tmp_path)
    assert isinstance(loaded._online, OnlineState)
    _assert_same_state(model, loaded)
    for batch in batches[3:]:
        model.partial_fit(batch)
        loaded.partial_fit(batch)
    _assert_same_state(model, loaded)
    assert loaded.n_samples_seen_ == X.shape[0] and loaded.n_iter_ == 6
    _assert_same_predictions(model, loaded, X)


def test_file_objects_and_names(tmp_path):
    model, X = _fit("em", "spherical")
    buffer = io.BytesIO()
    P.save(model, buffer)
    buffer.seek(0)
    _assert_same_predictions(model, P.load(buffer), X)
    # The name is used as given; the write goes through a temporary file.
    target = tmp_path / "model.gm"
    target.write_bytes(b"old")
    P.save(model, str(target))
    assert sorted(os.listdir(tmp_path)) == ["model.gm"]
    _assert_same_predictions(model, P.load(str(target)), X)


def test_header_records_versions_params_and_arrays(tmp_path):
    model, _ = _fit("variational", "full", np.float32)
    _, path = _round_trip(model, tmp_path)
    header, arrays = _read_raw(path)
    assert header["format"] == "gaussmix-model"
    assert header["format_version"] == P.FORMAT_VERSION == 1
    assert header["gaussmix_version"] == gaussmix.__version__
    assert header["numpy_version"] == np.__version__
    assert header["class"] == "GaussianMixture"
    assert header["params"]["method"] == "variational"
    assert header["params"]["random_state"] == 0
    assert header["updates"] == P.updates_config(model._updates)
    assert len(header["sha256"]) == 64
    assert header["arrays"]["attributes.means_"] == {"dtype": "<f4", "shape": [3, 3]}
    assert set(header["arrays"]) == set(arrays)
    assert all(a.dtype.kind in "biufU" for a in arrays.values())
    assert header["attributes"]["means_"] == {"__array__": "attributes.means_"}


def test_random_state_instances_are_not_saved(tmp_path):
    model, X = _fit("em", "diag")
    model.set_params(random_state=np.random.RandomState(3))
    with pytest.warns(UserWarning, match="random_state is a RandomState"):
        loaded, path = _round_trip(model, tmp_path)
    assert loaded.random_state is None
    assert "random_state" in _read_raw(path)[0]["not_saved"]
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    model.set_params(random_state=np.int64(7))
    loaded, _ = _round_trip(model, tmp_path)
    assert loaded.random_state == 7 and type(loaded.random_state) is np.int64


def test_save_refuses_what_it_cannot_write(tmp_path):
    with pytest.raises(NotFittedError):
        P.save(GaussianMixture(2), tmp_path / "m.npz")
    model, _ = _fit("em", "full")
    model.set_params(means_init=[object()] * 3)
    with pytest.raises(TypeError, match="params.means_init"):
        P.save(model, tmp_path / "m.npz")
    assert not os.listdir(tmp_path)  # nothing half written
    with pytest.raises(TypeError, match="GaussianMixture"):
        P.save(object(), tmp_path / "m.npz")


def test_unplain_private_state_is_left_out(tmp_path):
    model, X = _fit("em", "full")
    model._scratch = lambda: None  # private state that is not a plain value
    loaded, path = _round_trip(model, tmp_path)
    assert not hasattr(loaded, "_scratch")
    assert "_scratch" in _read_raw(path)[0]["not_saved"]
    assert loaded._fit_signature == model._fit_signature
    _assert_same_predictions(model, loaded, X)


# ============================================================ damaged and foreign files
@pytest.fixture
def saved(tmp_path):
    model, X = _fit("variational", "full")
    path = tmp_path / "model.npz"
    P.save(model, path)
    return model, X, path


def test_truncated_file(saved, tmp_path):
    _, _, path = saved
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 100):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=r"cut\d+\.npz: .*truncated or corrupted"):
            P.load(bad)


def test_flipped_byte(saved, tmp_path):
    _, _, path = saved
    data = bytearray(path.read_bytes())
    at = data.index(b"attributes.means_.npy") + 200  # inside that member's data
    data[at] ^= 0xFF
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="flipped.npz: .*(corrupted|modified)"):
        P.load(bad)


def test_modified_array_fails_the_checksum(saved, tmp_path):
    _, _, path = saved
    header, arrays = _read_raw(path)
    arrays["attributes.means_"] = arrays["attributes.means_"] + 1e-12
    bad = tmp_path / "modified.npz"
    _write_unsigned(bad, header, arrays)
    with pytest.raises(ValueError, match="modified.npz: checksum mismatch"):
        P.load(bad)


def test_modified_header_fails_the_checksum(saved, tmp_path):
    _, _, path = saved
    header, arrays = _read_raw(path)
    header["attributes"]["n_iter_"] += 1
    bad = tmp_path / "edited.npz"
    _write_unsigned(bad, header, arrays)
    with pytest.raises(ValueError, match="edited.npz: checksum mismatch"):
        P.load(bad)


def test_missing_and_unexpected_arrays(saved, tmp_path):
    _, _, path = saved
    header, arrays = _read_raw(path)
    fewer = dict(arrays)
    del fewer["attributes.covariances_"]
    bad = tmp_path / "missing.npz"
    _write_unsigned(bad, header, fewer)
    with pytest.raises(ValueError, match="missing.npz: the array 'attributes.covariances_' "
                                         "listed in the header is missing"):
        P.load(bad)
    more = {**arrays, "extra": np.zeros(3)}
    bad = tmp_path / "extra.npz"
    _write_unsigned(bad, header, more)
    with pytest.raises(ValueError, match="extra.npz: .*'extra', which the header does not"):
        P.load(bad)
    retyped = {**arrays, "attributes.means_": arrays["attributes.means_"].astype(np.float32)}
    bad = tmp_path / "retyped.npz"
    _write_unsigned(bad, header, retyped)
    with pytest.raises(ValueError, match="retyped.npz: the array 'attributes.means_' is <f4"):
        P.load(bad)


def test_foreign_files(tmp_path):
    cases = {
        "other.npz": lambda p: np.savez(p, x=np.arange(3)),
        "single.npy": lambda p: np.save(p, np.arange(3)),
        "text.npz": lambda p: p.write_text("hello"),
        "empty.npz": lambda p: p.write_bytes(b""),
        "pickled.npz": lambda p: p.write_bytes(pickle.dumps({"a": 1})),
    }
    messages = {
        "other.npz": "no 'header' member",
        "single.npy": "a single .npy array",
        "text.npz": r"not a gaussmix model file \(not a NumPy .npz archive\)",
        "empty.npz": "not a gaussmix model file: the file is empty",
        "pickled.npz": "a pickle, which gaussmix never writes",
    }
    for name, make in cases.items():
        path = tmp_path / name
        make(path)
        with pytest.raises(ValueError, match=rf"{name}: .*{messages[name]}"):
            P.load(path)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, header=np.array(json.dumps({"format": "something-else"})))
    with pytest.raises(ValueError, match="wrong.npz: not a gaussmix model file: its "
                                         "header's format is 'something-else'"):
        P.load(wrong)
    with pytest.raises(FileNotFoundError):
        P.load(tmp_path / "absent.npz")


def test_object_arrays_are_never_unpickled(saved, tmp_path, monkeypatch):
    _, _, path = saved
    header, arrays = _read_raw(path)
    arrays["attributes.means_"] = np.array([{"a": 1}, None], dtype=object)
    bad = tmp_path / "objects.npz"
    with open(bad, "wb") as fh:  # np.savez pickles object arrays
        np.savez(fh, **{P.HEADER: np.array(json.dumps(header))}, **arrays)
    calls = []
    real_load = np.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("pickle.loads called"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("pickle.load called"))
    with pytest.raises(ValueError, match="objects.npz: the array 'attributes.means_' holds "
                                         "Python objects"):
        P.load(bad)
    P.load(path)
    assert calls == [False, False]


@pytest.mark.parametrize("field, value, message", [
    ("format_version", "1", "format_version must be of type int, got str"),
    ("format_version", True, "format_version must be of type int, got bool"),
    ("params", [], "'params' must be of type dict, got list"),
    ("attributes", None, "'attributes' must be of type dict, got NoneType"),
    ("class", 3, "'class' must be of type str, got int"),
    ("sha256", None, "'sha256' must be of type str"),
    ("arrays", {"attributes.means_": {"dtype": "<f8", "shape": "3"}},
     "entry for the array 'attributes.means_' must be"),
    ("updates", {"method": "em"}, "'updates' lacks 'covariance_type'"),
    ("gaussmix_version", None, "'gaussmix_version' must be of type str"),
])
def test_header_with_wrong_types(saved, tmp_path, field, value, message):
    _, _, path = saved
    header, arrays = _read_raw(path)
    header[field] = value
    bad = tmp_path / "types.npz"
    _write_unsigned(bad, header, arrays)
    with pytest.raises(ValueError, match="types.npz: .*" + message.replace("(", r"\(")):
        P.load(bad)


def test_header_that_is_not_json_or_lacks_fields(saved, tmp_path):
    _, _, path = saved
    header, arrays = _read_raw(path)
    bad = tmp_path / "notjson.npz"
    with open(bad, "wb") as fh:
        np.savez(fh, header=np.array("{'format': nope"), **arrays)
    with pytest.raises(ValueError, match="notjson.npz: the header is not valid JSON"):
        P.load(bad)
    with open(bad, "wb") as fh:
        np.savez(fh, header=np.array('{"format": "gaussmix-model", "format_version": NaN}'))
    with pytest.raises(ValueError, match="not valid JSON: non-standard JSON constant NaN"):
        P.load(bad)
    with open(bad, "wb") as fh:
        np.savez(fh, header=np.frombuffer(b"{}", dtype=np.uint8))
    with pytest.raises(ValueError, match="its 'header' is not JSON text"):
        P.load(bad)
    del header["numpy_version"]
    _write_unsigned(bad, header, arrays)
    with pytest.raises(ValueError, match="the header lacks the field 'numpy_version'"):
        P.load(bad)


def test_newer_format_version(saved, tmp_path):
    _, _, path = saved
    header, arrays = _read_raw(path)
    header["format_version"] = 2
    header["gaussmix_version"] = "9.0.0"
    del header["params"]  # a newer format may differ in anything else
    bad = tmp_path / "newer.npz"
    _write_unsigned(bad, header, arrays)
    with pytest.raises(ValueError, match=r"newer.npz: the file has format version 2 \(written "
                                         r"by gaussmix 9.0.0\), but this gaussmix .* reads "
                                         r"format versions up to 1"):
        P.load(bad)
    header["format_version"] = 0
    _write_unsigned(bad, header, arrays)
    with pytest.raises(ValueError, match="invalid format version 0"):
        P.load(bad)


def test_other_gaussmix_version_warns_and_loads(tmp_path, monkeypatch):
    model, X = _fit("em", "tied")
    monkeypatch.setattr(gaussmix._version, "__version__", "0.0.1")
    P.save(model, tmp_path / "old.npz")
    monkeypatch.undo()
    with pytest.warns(P.InconsistentVersionWarning,
                      match=rf"saved by gaussmix 0\.0\.1 and is loaded by gaussmix "
                            rf"{gaussmix.__version__}") as record:
        loaded = P.load(tmp_path / "old.npz")
    assert issubclass(record[0].category, UserWarning)
    assert record[0].message.original_version == "0.0.1"
    _assert_same_predictions(model, loaded, X)


def _resigned(path, tmp_path, edit, name="crafted.npz"):
    """A file edited by ``edit(header, arrays)`` with a valid checksum (as an attacker
    or a buggy writer could make): the checks after the checksum must catch it."""
    header, arrays = _read_raw(path)
    edit(header, arrays)
    out = tmp_path / name
    header.pop("arrays"), header.pop("sha256")
    P._write_archive(out, header, arrays)
    return out


@pytest.mark.parametrize("edit, message", [
    (lambda h, a: a.__setitem__("attributes.means_", np.zeros((3, 2))),
     "the fitted attribute covariances_ must be a float array of shape"),
    (lambda h, a: a.__setitem__("attributes.weights_", np.zeros(4)),
     r"the fitted attribute weights_ must be a float array of shape \(3,\)"),
    (lambda h, a: h["params"].__setitem__("n_components", 4),
     "means_ has 3 components, but n_components is 4"),
    (lambda h, a: h.__setitem__("class", "os.system"), "unknown class 'os.system'"),
    (lambda h, a: h["params"].__setitem__("evil", 1), "evil is not a parameter of"),
    (lambda h, a: h["params"].__setitem__("n_init", -1), "invalid parameters: .*n_init"),
    (lambda h, a: h["attributes"].__setitem__("fit", 1), "'fit' is not a fitted attribute"),
    (lambda h, a: h["attributes"].__setitem__("__class__", 1),
     "'__class__' is not a fitted attribute"),
    (lambda h, a: h["attributes"]["restarts_"][0].__setitem__("__dataclass__", "Popen"),
     "unknown record 'Popen'"),
    (lambda h, a: h["attributes"].__setitem__("converged_", {"__pickle__": "x"}),
     "malformed value at attributes.converged_"),
    (lambda h, a: h["attributes"].__setitem__("n_iter_", {"__array__": "nowhere"}),
     "refers to 'nowhere'"),
    (lambda h, a: h["attributes"].__setitem__("lower_bound_", {"__float__": "1e999"}),
     "malformed float"),
    (lambda h, a: h["attributes"].pop("means_"),
     "array 'attributes.means_' is listed but never used"),
    (lambda h, a: h["attributes"].pop("degrees_of_freedom_") and a.pop(
        "attributes.degrees_of_freedom_"), "'degrees_of_freedom_' is missing"),
    (lambda h, a: h["updates"].__setitem__("method", "em"),
     "fitted with method='em', but its parameter is 'variational'"),
])
def test_crafted_files_with_valid_checksums(saved, tmp_path, edit, message):
    _, _, path = saved
    with pytest.raises(ValueError, match="crafted.npz: .*" + message):
        P.load(_resigned(path, tmp_path, edit))


def test_tampering_that_keeps_the_model_consistent_loads(saved, tmp_path):
    """The resigning helper itself is sound: an untouched re-signed file loads."""
    model, X, path = saved
    loaded = P.load(_resigned(path, tmp_path, lambda h, a: None))
    _assert_same_predictions(model, loaded, X)


# ============================================================ rebuilt from attributes
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("method", METHODS)
def test_rebuild_updates_is_the_fitted_updater(method, covariance_type):
    for dtype in DTYPES:
        model, _ = _fit(method, covariance_type, dtype)
        _assert_same_updates(model._updates, P.rebuild_updates(model))
        config = P.updates_config(model._updates)
        _assert_same_updates(model._updates, P.rebuild_updates(model, config))


def test_rebuild_updates_uses_the_recorded_settings():
    model, _ = _fit("em", "full", mean_precision_prior=1.0, weight_concentration_prior=2.0,
                    weight_concentration_prior_type="dirichlet_distribution")
    config = P.updates_config(model._updates)
    model.set_params(weight_concentration_prior=None, reg_covar=0.5)
    from_params = P.rebuild_updates(model)
    assert from_params.priors.weights_given is False and from_params.reg_covar == 0.5
    _assert_same_updates(model._updates, P.rebuild_updates(model, config))


def test_weight_scale_is_recorded(tmp_path):
    X = _blobs()
    w = np.full(X.shape[0], 1e-3)
    model = GaussianMixture(3, init_params="k-means++", random_state=0).fit(X, sample_weight=w)
    assert model._updates.weight_scale == pytest.approx(1e-3)
    loaded, _ = _round_trip(model, tmp_path)
    _assert_same_updates(model._updates, loaded._updates)
    assert P.rebuild_updates(model).weight_scale == 1.0  # not a public attribute


def _by_hand(model, names):
    """A new estimator with only the given public attributes set, scikit-learn style."""
    params = {k: v for k, v in model.get_params().items() if k != "random_state"}
    other = type(model)(**params, random_state=model.random_state)
    for name in names:
        setattr(other, name, getattr(model, name))
    return other


SKLEARN_ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_cholesky_")
VARIATIONAL_ATTRIBUTES = ("weight_concentration_", "mean_precision_", "degrees_of_freedom_")


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("method", METHODS)
def test_model_from_public_attributes_predicts_exactly(method, covariance_type, shim):
    model, X = _fit(method, covariance_type)
    names = SKLEARN_ATTRIBUTES + (VARIATIONAL_ATTRIBUTES if method == "variational" else ())
    other = _by_hand(model, names)
    assert "_updates" not in vars(other)
    _assert_same_predictions(model, other, X)
    assert "_updates" not in vars(other)  # rebuilt on each access, never stale
    del model._updates
    _assert_same_predictions(model, _by_hand(model, names), X)


def test_model_from_public_attributes_without_the_shim():
    """What the shim's property does, by hand: set the rebuilt updater."""
    model, X = _fit("variational", "tied")
    other = _by_hand(model, SKLEARN_ATTRIBUTES + VARIATIONAL_ATTRIBUTES)
    other._updates = P.rebuild_updates(other)
    _assert_same_predictions(model, other, X)


def test_rebuild_updates_errors(shim):
    with pytest.raises(NotFittedError, match="not fitted"):
        P.rebuild_updates(GaussianMixture(2))
    assert not hasattr(GaussianMixture(2), "_updates")  # NotFittedError is an AttributeError
    model, _ = _fit("variational", "full")
    del model.covariance_prior_
    with pytest.raises(ValueError, match="but not covariance_prior_"):
        P.rebuild_updates(model)
    model, _ = _fit("variational", "diag")
    model.covariance_prior_ = np.ones((3, 3))
    with pytest.raises(ValueError, match=r"covariance_prior_ must have shape \(3,\)"):
        P.rebuild_updates(model)


@pytest.mark.parametrize("method", METHODS)
def test_model_from_public_attributes_saves_and_loads(method, tmp_path):
    model, X = _fit(method, "full")
    names = SKLEARN_ATTRIBUTES + (VARIATIONAL_ATTRIBUTES if method == "variational" else ())
    other = _by_hand(model, names)
    loaded, _ = _round_trip(other, tmp_path)
    assert "precisions_" not in vars(loaded)
    _assert_same_predictions(model, loaded, X)


def test_save_refuses_inconsistent_models(tmp_path):
    model, _ = _fit("em", "full")
    model.set_params(n_components=4)  # after the fit: the attributes have 3
    with pytest.raises(ValueError, match="cannot save this GaussianMixture: means_ has 3 "
                                         "components, but n_components is 4"):
        P.save(model, tmp_path / "m.npz")
    model.set_params(n_components=3, method="variational")
    with pytest.raises(ValueError, match="fitted with method='em'"):
        P.save(model, tmp_path / "m.npz")
    assert not os.listdir(tmp_path)


def test_unevaluated_fit_round_trips(tmp_path):
    """max_iter=0: lower_bound_ is -inf and the traces are empty."""
    model, X = _fit("variational", "diag", max_iter=0)
    assert model.lower_bound_ == -np.inf and model.lower_bounds_ == []
    loaded, path = _round_trip(model, tmp_path)
    assert _read_raw(path)[0]["attributes"]["lower_bound_"] == {"__float__": "-inf"}
    _assert_same_state(model, loaded)
    _assert_same_predictions(model, loaded, X)


def test_variational_model_without_priors_predicts(shim):
    model, X = _fit("variational", "spherical")
    other = _by_hand(model, SKLEARN_ATTRIBUTES + VARIATIONAL_ATTRIBUTES)
    assert other._updates.priors is None
    _assert_same_predictions(model, other, X)


# ======================================================================== pickle
def _leaf_types(value, found):
    if isinstance(value, dict):
        for v in value.values():
            _leaf_types(v, found)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _leaf_types(v, found)
    else:
        found.add(type(value).__module__.split(".")[0])
    return found


@pytest.mark.parametrize("fitted_by", ["fit", "partial_fit", "map"])
def test_pickle_state_is_plain_and_exact(fitted_by, shim):
    X = _blobs()
    if fitted_by == "partial_fit":
        model = GaussianMixture(3, method="variational", init_params="k-means++",
                                random_state=0)
        model.partial_fit(X[:150]).partial_fit(X[150:])
    else:
        kw = {"mean_precision_prior": 0.5} if fitted_by == "map" else {}
        model, X = _fit("em", "full", **kw)
    state = P.model_getstate(model)
    assert "_updates" in vars(model) and "_updates" not in state  # the model is untouched
    assert state["_gaussmix_version"] == gaussmix.__version__
    assert state["_updates_config"] == P.updates_config(model._updates)
    assert _leaf_types(state, set()) <= {"builtins", "numpy"}
    loaded = pickle.loads(pickle.dumps(model))
    _assert_same_state(model, loaded)
    _assert_same_updates(model._updates, loaded._updates)
    _assert_same_predictions(model, loaded, X)
    if fitted_by == "partial_fit":
        model.partial_fit(X[:90])
        loaded.partial_fit(X[:90])
        _assert_same_state(model, loaded)


def test_pickle_under_another_version_warns(shim, monkeypatch):
    model, X = _fit("em", "diag")
    monkeypatch.setattr(gaussmix._version, "__version__", "0.0.1")
    data = pickle.dumps(model)
    monkeypatch.setattr(gaussmix._version, "__version__", "0.2.0")
    with pytest.warns(P.InconsistentVersionWarning,
                      match=r"saved by gaussmix 0\.0\.1 and is loaded by gaussmix 0\.2\.0"):
        loaded = pickle.loads(data)
    _assert_same_predictions(model, loaded, X)
    monkeypatch.setattr(gaussmix._version, "__version__", "0.0.1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(data)  # the same version: silent


def test_pickles_from_before_versioning_still_load(shim):
    """An older state: ``_updates`` and ``Restart`` objects inside, no version."""
    model, X = _fit("variational", "full")
    state = BaseEstimator.__getstate__(model)
    old = GaussianMixture.__new__(GaussianMixture)
    with pytest.warns(P.InconsistentVersionWarning, match="saved by gaussmix unknown"):
        old.__setstate__(dict(state))
    assert old._updates is model._updates
    _assert_same_predictions(model, old, X)


def test_deepcopy_and_clone(shim):
    import copy

    from sklearn.base import clone

    model, X = _fit("em", "tied")
    _assert_same_predictions(model, copy.deepcopy(model), X)
    assert clone(model).get_params()["covariance_type"] == "tied"


# ========================================================================= skops
@pytest.mark.parametrize("case", ["em", "variational", "partial_fit", "map", "names",
                                  "bayesian"])
def test_skops_trusts_only_the_estimator(case, shim, tmp_path):
    sio = pytest.importorskip("skops.io")
    X = _blobs()
    trusted = ESTIMATOR
    if case == "partial_fit":
        model = GaussianMixture(3, init_params="k-means++", random_state=0)
        model.partial_fit(X[:150]).partial_fit(X[150:])
    elif case == "map":
        model, X = _fit("em", "diag", mean_precision_prior=0.5)
    elif case == "names":
        pd = pytest.importorskip("pandas")
        X = pd.DataFrame(X, columns=["a", "b", "c"])
        model = GaussianMixture(3, method="variational", init_params="k-means++",
                                random_state=0).fit(X)
    elif case == "bayesian":
        model, X = _fit(cls=BayesianGaussianMixture, covariance_type="tied")
        trusted = "gaussmix._bayesian_mixture.BayesianGaussianMixture"
    else:
        model, X = _fit(case, "tied")
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    assert sio.get_untrusted_types(file=path) == [trusted]
    loaded = sio.load(path, trusted=[trusted])
    _assert_same_state(model, loaded)
    _assert_same_updates(model._updates, loaded._updates)
    _assert_same_predictions(model, loaded, X)


# ================================================================ the estimator itself
integrated = pytest.mark.skipif(not HAS_SAVE, reason="GaussianMixture.save / gaussmix.load "
                                                     "not wired yet")


@integrated
def test_integrated_save_and_load(tmp_path):
    model, X = _fit("variational", "diag")
    model.save(tmp_path / "model.npz")
    loaded = gaussmix.load(tmp_path / "model.npz")
    assert gaussmix.load is P.load and "load" in gaussmix.__all__
    _assert_same_state(model, loaded)
    _assert_same_predictions(model, loaded, X)


@pytest.mark.skipif(not HAS_STATE, reason="GaussianMixture.__getstate__ not wired yet")
def test_integrated_pickle_and_skops(tmp_path):
    model, X = _fit("em", "full")
    assert b"_gaussmix_version" in pickle.dumps(model)
    assert "_updates" not in model.__getstate__()
    _assert_same_predictions(model, pickle.loads(pickle.dumps(model)), X)
    sio = pytest.importorskip("skops.io")
    assert sio.get_untrusted_types(data=sio.dumps(model)) == [ESTIMATOR]


@pytest.mark.skipif(not HAS_LAZY_UPDATES, reason="GaussianMixture._updates not lazy yet")
def test_integrated_model_from_public_attributes():
    model, X = _fit("em", "spherical")
    other = GaussianMixture(3, covariance_type="spherical", init_params="k-means++",
                            random_state=0)
    for name in SKLEARN_ATTRIBUTES:
        setattr(other, name, getattr(model, name))
    _assert_same_predictions(model, other, X)
    del model._updates
    _assert_same_predictions(model, other, X)


# ========================================================================= docs
DOCUMENTED = ["save", "load", "rebuild_updates", "updates_config", "updates_property",
              "model_getstate", "model_setstate", "InconsistentVersionWarning"]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_docstrings_are_valid_and_run(name, tmp_path, monkeypatch):
    numpydoc_validate = pytest.importorskip("numpydoc.validate")
    result = numpydoc_validate.validate(f"gaussmix._persistence.{name}")
    errors = [f"{code}: {msg}" for code, msg in result["errors"] if code not in {"SA01", "ES01"}]
    assert not errors, "\n".join(errors)
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = doctest.DocTestFinder(recurse=False).find(getattr(P, name), name, globs={})
    assert any(t.examples for t in tests)
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
    assert os.listdir(tmp_path) == []  # the examples clean up after themselves
