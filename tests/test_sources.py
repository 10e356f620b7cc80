"""Data beyond memory: the same fit from an ndarray, a memmap, HDF5, Zarr and Dask.

The reference is the in-memory fit (itself checked against scikit-learn elsewhere);
every other source reads the same numbers in row blocks, or on a Dask cluster, so
after the same initialisation they must agree to 1e-10 relative in float64.
"""

import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from gaussmix import GaussianMixture

h5py = pytest.importorskip("h5py")
zarr = pytest.importorskip("zarr")
da = pytest.importorskip("dask.array")

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
METHODS = ("em", "variational")
CONFIGS = [(m, c) for m in METHODS for c in COVARIANCE_TYPES]
SMALL_BLOCKS = 0.01  # MiB: 256-row blocks for 3 features, so ~12 blocks per pass
RTOL = 1e-10

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n_per=1000, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(-3, 1, (n_per, 3)), rng.normal(2, 0.5, (n_per, 3)),
                   rng.normal([0, 5, 0], 1, (n_per, 3))])
    rng.shuffle(X)
    w = rng.integers(0, 3, X.shape[0]).astype(float)
    return X, w


def _start(X, covariance_type, k=3):
    """A complete start (weights, means, precisions), so no random init runs."""
    rng = np.random.default_rng(1)
    means = X[rng.choice(X.shape[0], k, replace=False)]
    d = X.shape[1]
    prec = {"full": np.tile(np.eye(d), (k, 1, 1)), "tied": np.eye(d),
            "diag": np.ones((k, d)), "spherical": np.ones(k)}[covariance_type]
    return {"weights_init": np.full(k, 1.0 / k), "means_init": means, "precisions_init": prec}


def _model(method, covariance_type, X, **kwargs):
    return GaussianMixture(3, covariance_type=covariance_type, method=method, max_iter=15,
                           tol=0, working_memory=SMALL_BLOCKS, **_start(X, covariance_type),
                           **kwargs)


def _summary(gm, X):
    """Everything a fit and its outputs produce, as one float vector."""
    proba, scores, labels = gm.predict_proba(X), gm.score_samples(X), gm.predict(X)
    if isinstance(proba, da.Array):
        proba, scores, labels = da.compute(proba, scores, labels)
    return {
        "means": gm.means_, "covariances": np.ravel(gm.covariances_), "weights": gm.weights_,
        "lower_bound": np.atleast_1d(gm.lower_bound_), "proba": proba, "scores": scores,
        "labels": labels.astype(float), "score": np.atleast_1d(gm.score(X)),
        "n_iter": np.atleast_1d(float(gm.n_iter_)),
    }


def _assert_same(got, expected, rtol=RTOL):
    for name, value in expected.items():
        scale = max(np.abs(value).max(), 1e-300)
        np.testing.assert_allclose(got[name], value, rtol=0, atol=rtol * scale, err_msg=name)


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    """X and w as .npy (memmap), HDF5 and Zarr files."""
    X, w = _data()
    root = tmp_path_factory.mktemp("sources")
    np.save(root / "X.npy", X)
    np.save(root / "w.npy", w)
    h5 = h5py.File(root / "X.h5", "w")
    h5.create_dataset("X", data=X, chunks=(500, 3))
    h5.create_dataset("w", data=w)
    store = zarr.open_group(str(root / "X.zarr"), mode="w")
    zX = store.create_array("X", shape=X.shape, dtype=X.dtype, chunks=(700, 3))
    zX[:] = X
    zw = store.create_array("w", shape=w.shape, dtype=w.dtype, chunks=(700,))
    zw[:] = w
    yield {
        "X": X, "w": w,
        "memmap": (np.load(root / "X.npy", mmap_mode="r"), np.load(root / "w.npy", mmap_mode="r")),
        "h5py": (h5["X"], h5["w"]),
        "zarr": (zX, zw),
    }
    h5.close()


@pytest.mark.parametrize("method,covariance_type", CONFIGS)
@pytest.mark.parametrize("kind", ["memmap", "h5py", "zarr", "dask-threads"])
def test_out_of_core_fit_equals_in_memory(data_files, kind, method, covariance_type):
    X, w = data_files["X"], data_files["w"]
    expected = _summary(_model(method, covariance_type, X).fit(X, sample_weight=w), X)
    if kind == "dask-threads":  # Dask's local threaded scheduler
        X_src, w_src = da.from_array(X, chunks=(700, 3)), da.from_array(w, chunks=700)
    else:
        X_src, w_src = data_files[kind]
    gm = _model(method, covariance_type, X).fit(X_src, sample_weight=w_src)
    _assert_same(_summary(gm, X_src), expected)


@pytest.fixture(scope="module")
def cluster_client():
    """A real distributed cluster: 2 worker processes, stopped at the end."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        # Not the default client: only the tests that ask for the cluster use it.
        with distributed.Client(cluster, set_as_default=False) as client:
            yield client
    assert cluster.status.name == "closed"


@pytest.mark.parametrize("method,covariance_type", CONFIGS)
def test_dask_cluster_fit_equals_in_memory(cluster_client, method, covariance_type):
    import distributed

    X, w = _data()
    expected = _summary(_model(method, covariance_type, X).fit(X, sample_weight=w), X)
    with cluster_client.as_current():
        X_dask = da.from_array(X, chunks=(700, 3)).persist()
        w_dask = da.from_array(w, chunks=700).persist()
        with distributed.get_task_stream(client=cluster_client) as stream:
            gm = _model(method, covariance_type, X).fit(X_dask, sample_weight=w_dask)
        labels = gm.predict(X_dask)
        assert isinstance(labels, da.Array)  # lazy, computed where the blocks live
        _assert_same(_summary(gm, X_dask), expected)
    # The kernel inputs entered each pass as one task (the variational start from
    # *_init adds one pass), and the passes ran on both worker processes.
    param_tasks = [t for t in stream.data if str(t["key"]).startswith("KernelInputs")]
    assert len(param_tasks) == gm.n_iter_ + (method == "variational")
    assert len({t["worker"] for t in stream.data}) == 2


def test_dask_parameters_enter_each_pass_once():
    """One key holds the kernel inputs; every block task depends on it."""
    X, _ = _data()
    gm = _model("em", "full", X).fit(X)
    X_dask = da.from_array(X, chunks=(300, 3))
    proba = gm.predict_proba(X_dask)
    graph = dict(proba.__dask_graph__())
    params = [k for k, v in graph.items() if "RowOutput" in repr(v)]
    assert len(params) == 1
    assert X_dask.numblocks[0] == 10


def test_default_initialisation_equal_across_sources(data_files):
    """k-means on the same rows: the default init gives the same fit everywhere."""
    X = data_files["X"]
    kwargs = dict(n_components=3, random_state=0, working_memory=SMALL_BLOCKS, max_iter=20)
    for init_max_samples in (None, 1000):  # every row, and a subsample drawn blockwise
        ref = GaussianMixture(init_max_samples=init_max_samples, **kwargs).fit(X)
        for X_src in (data_files["memmap"][0], data_files["h5py"][0],
                      da.from_array(X, chunks=(700, 3))):
            gm = GaussianMixture(init_max_samples=init_max_samples, **kwargs).fit(X_src)
            np.testing.assert_allclose(gm.means_, ref.means_, rtol=RTOL)
            np.testing.assert_allclose(gm.covariances_, ref.covariances_, rtol=RTOL)


def test_init_max_samples_at_or_above_n_changes_nothing():
    X, _ = _data()
    ref = GaussianMixture(3, random_state=0, init_max_samples=None).fit(X)
    for m in (X.shape[0], 10 * X.shape[0]):
        gm = GaussianMixture(3, random_state=0, init_max_samples=m).fit(X)
        np.testing.assert_array_equal(gm.means_, ref.means_)
        np.testing.assert_array_equal(gm.covariances_, ref.covariances_)


def test_init_max_samples_runs_kmeans_on_a_subsample(monkeypatch):
    from gaussmix import _gaussian_mixture

    seen = []
    original = _gaussian_mixture.initial_responsibilities

    def spy(X, *args):
        seen.append(X.shape[0])
        return original(X, *args)

    monkeypatch.setattr(_gaussian_mixture, "initial_responsibilities", spy)
    X, _ = _data()
    gm = GaussianMixture(3, random_state=0, init_max_samples=500, n_init=2).fit(X)
    assert seen == [500, 500]
    assert gm.converged_
    with pytest.raises(ValueError, match="init_max_samples = 2 must be >= n_components = 3"):
        GaussianMixture(3, init_max_samples=2).fit(X)


def test_float32_memmap_stays_float32(tmp_path):
    X, _ = _data()
    np.save(tmp_path / "X32.npy", X.astype(np.float32))
    X32 = np.load(tmp_path / "X32.npy", mmap_mode="r")
    gm = _model("em", "full", X).fit(X32)
    ref = _model("em", "full", X).fit(X.astype(np.float32))
    assert gm.means_.dtype == np.float32
    assert gm.predict_proba(X32).dtype == np.float32
    np.testing.assert_allclose(gm.means_, ref.means_, rtol=1e-5)


@pytest.mark.parametrize("kind", ["memmap", "h5py"])
def test_memory_is_a_few_blocks(tmp_path, kind):
    """A fit over data 40x the block size allocates a few blocks, not the data."""
    rng = np.random.default_rng(0)
    n, d = 160_000, 8
    path = tmp_path / "big.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
    for start in range(0, n, 20_000):  # written blockwise
        out[start:start + 20_000] = rng.normal(size=(20_000, d)) + 4 * (rng.random((20_000, 1)) > 0.5)
    out.flush()
    del out
    if kind == "memmap":
        X = np.load(path, mmap_mode="r")
    else:
        h5 = h5py.File(tmp_path / "big.h5", "w")
        X = h5.create_dataset("X", data=np.load(path, mmap_mode="r"), chunks=(4096, d))
    data_bytes = n * d * 8
    block_mib = 0.25  # 4096 rows of 8 float64: data / block = 39
    gm = GaussianMixture(2, random_state=0, max_iter=5, working_memory=block_mib,
                         init_max_samples=4096)
    tracemalloc.start()
    try:
        gm.fit(X)
        labels = gm.predict(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    block_bytes = block_mib * 2**20
    assert labels.shape == (n,)
    # The labels (n int64 = the output itself) plus a few blocks and the subsample.
    assert peak < labels.nbytes + 8 * block_bytes, (peak, block_bytes)
    assert peak < data_bytes / 2


def _nan_late(X):
    X = X.copy()
    X[-5, 1] = np.nan
    return X


def _message(func):
    with pytest.raises(ValueError) as info:
        func()
    return str(info.value)


@pytest.mark.parametrize("kind", ["memmap", "h5py", "dask"])
def test_nan_in_a_late_block_same_error_and_unfitted(tmp_path, kind):
    X, _ = _data()
    X_nan = _nan_late(X)
    expected = _message(lambda: GaussianMixture(3, random_state=0).fit(X_nan))
    assert "Input X contains NaN" in expected
    if kind == "memmap":
        np.save(tmp_path / "nan.npy", X_nan)
        X_src = np.load(tmp_path / "nan.npy", mmap_mode="r")
    elif kind == "h5py":
        X_src = h5py.File(tmp_path / "nan.h5", "w").create_dataset("X", data=X_nan)
    else:
        X_src = da.from_array(X_nan, chunks=(500, 3))
    gm = GaussianMixture(3, random_state=0, working_memory=SMALL_BLOCKS,
                         init_max_samples=100)  # the init never sees the NaN row
    assert _message(lambda: gm.fit(X_src)) == expected
    with pytest.raises(NotFittedError):
        check_is_fitted(gm)


def test_bad_out_of_core_input(data_files):
    X_mm, w_mm = data_files["memmap"]
    with pytest.raises(ValueError, match=r"sample_weight has shape \(2999,\) but X has 3000"):
        GaussianMixture(3).fit(X_mm, sample_weight=w_mm[:-1])
    with pytest.raises(ValueError, match=r"sample_weight has shape \(2999,\) but X has 3000"):
        GaussianMixture(3).fit(da.from_array(data_files["X"]), sample_weight=np.ones(2999))
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        GaussianMixture(3).fit(X_mm, sample_weight=-np.asarray(w_mm))
    with pytest.raises(ValueError, match="Expected 2D array, got 1D"):
        GaussianMixture(3).fit(w_mm)
    with pytest.raises(ValueError, match="a minimum of 2 is required by GaussianMixture"):
        GaussianMixture(1).fit(X_mm[:1])
    gm = GaussianMixture(3, random_state=0).fit(X_mm)
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 3"):
        gm.predict(X_mm[:, :2])
    with pytest.raises(ValueError, match=r"out has shape \(5,\), expected \(3000,\)"):
        gm.predict(X_mm, out=np.empty(5))


def test_dask_column_chunks_and_empty_blocks():
    X, w = _data()
    expected = _summary(_model("em", "full", X).fit(X, sample_weight=w), X)
    by_columns = da.from_array(X, chunks=(700, 1))  # whole rows are rebuilt per block
    gm = _model("em", "full", X).fit(by_columns, sample_weight=w)
    _assert_same(_summary(gm, by_columns), expected)
    with_empty = da.from_array(X, chunks=((1000, 0, 2000), (3,)))
    gm = _model("em", "full", X).fit(with_empty, sample_weight=w)
    _assert_same(_summary(gm, with_empty), expected)


@pytest.mark.parametrize("target", ["ndarray", "memmap", "h5py", "zarr"])
def test_outputs_written_into_out(tmp_path, data_files, target):
    X = data_files["X"]
    gm = _model("em", "diag", X).fit(X)
    shape = (X.shape[0], 3)
    if target == "ndarray":
        out = np.empty(shape)
    elif target == "memmap":
        out = np.lib.format.open_memmap(tmp_path / "p.npy", mode="w+", dtype=np.float64,
                                        shape=shape)
    elif target == "h5py":
        out = h5py.File(tmp_path / "p.h5", "w").create_dataset("p", shape=shape, dtype="f8")
    else:
        out = zarr.create_array(str(tmp_path / "p.zarr"), shape=shape, dtype="f8",
                                chunks=(1000, 3))
    for X_src in (X, data_files["memmap"][0], da.from_array(X, chunks=(700, 3))):
        result = gm.predict_proba(X_src, out=out)
        assert result is out
        np.testing.assert_array_equal(np.asarray(out[:]), gm.predict_proba(X))


def test_import_does_not_load_optional_extras():
    code = textwrap.dedent("""
        import sys
        import gaussmix
        gm = gaussmix.GaussianMixture(2, random_state=0).fit([[0.0], [1.0], [5.0], [6.0]])
        gm.predict([[0.5]])
        loaded = [m for m in ("dask", "distributed", "h5py", "zarr", "matplotlib", "tqdm")
                  if m in sys.modules]
        print(",".join(loaded))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


class _RecordingArray:
    """An array-like (shape, dtype, row slicing) that records which thread reads it."""

    def __init__(self, X):
        self._X = X
        self.shape, self.dtype = X.shape, X.dtype
        self.readers = []

    def __getitem__(self, rows):
        import threading

        self.readers.append(threading.current_thread().name)
        return self._X[rows]


def test_blocks_are_read_ahead_in_a_reader_thread():
    """Any array-like works, and the pass reads it from the read-ahead thread."""
    X, _ = _data()
    recording = _RecordingArray(X)
    gm = _model("em", "full", X).fit(recording)
    expected = _model("em", "full", X).fit(X)
    np.testing.assert_allclose(gm.means_, expected.means_, rtol=RTOL)
    n_blocks = -(-X.shape[0] // 256)
    assert len(recording.readers) >= gm.n_iter_ * n_blocks
    assert all(name.startswith("gaussmix-read") for name in recording.readers)
