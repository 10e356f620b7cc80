#!/usr/bin/env python
"""Out-of-core and Dask fits against in-memory fits: time per iteration and memory.

Run (gaussmix installed, or from a checkout with the extension built in place)::

    python benchmarks/bench_scale.py --quick                  # smoke run, ~1e6 rows, a few minutes
    python benchmarks/bench_scale.py                          # 1e8 x 16 on disk, 1e7 for h5py and Dask
    python benchmarks/bench_scale.py --only disk --keep       # keep the data files for a rerun
    python benchmarks/bench_scale.py --only dask --output benchmarks/results/scale.md

What is measured (d = 16 features, k = 10 components, ``covariance_type="full"``)
-------------------------------------------------------------------------------
1. ``npy``: an ``n_disk x 16`` float32 ``.npy`` file (default 1e8 rows, 6.4 GB) opened
   with ``np.load(path, mmap_mode="r")`` (an ``np.memmap``) and fitted through the
   block reader (``working_memory`` MiB per block, read ahead in a thread), against the
   same fit of an in-memory ndarray of ``n_ref`` rows (default 1e7, the first ``n_ref``
   rows of the same data), scaled per row to ``n_disk``.  Targets: on-disk time per
   iteration <= 1.3x the in-memory one with the file in the page cache, and peak
   *anonymous* memory of the on-disk fit < 256 MB.
2. ``h5py``: the same comparison for an ``h5py.Dataset`` of ``n_h5`` rows (default 1e7,
   chunked by rows, no compression), whose blocks are real copies (h5py reads into new
   arrays), against the in-memory array of the same rows.  Same targets.
3. ``dask``: a ``distributed.LocalCluster`` with 2 worker processes x 1 thread,
   ``n_dask`` rows (default 1e7, float32, row chunks of ``--dask-chunk`` rows, default
   1e6) generated on the workers and persisted there (``X.persist(); wait(X)``) before
   timing, against the same rows as an ndarray in the client process (2 OpenMP
   threads).  Target: <= 1.5x.  The cluster is started and closed by the script.

Data: two kinds, generated blockwise from a fixed seed (blocks of 1e6 rows, each from
its own ``default_rng([seed, kind, block])`` stream, so any row range is reproducible
and the big file is written block by block, never held in memory):

* ``separated``: centres uniform in a cube, every pair >= 8 apart, each cluster with
  covariance A A^T, A = Q diag(s), Q random orthogonal, s in [0.5, 1.5];
* ``overlapping``: the same covariances, centres 0.5 x random unit vectors (pairwise
  distances ~0.7, below one standard deviation), so every point has non-negligible
  responsibility in several components.

For each kind the header reports, at the true parameters on 1e5 rows, the fraction of
points whose largest responsibility is below 0.99 (overlapping: should be ~1) and
above 1 - 1e-6 (separated: should be ~1).

Start: every fit gets the same ``means_init`` (true centres + N(0, 0.1^2)),
``weights_init`` (uniform) and ``precisions_init`` (0.8 I), so no k-means runs and all
sources start from the same parameters.

Time per iteration: ``(T(max_iter=b) - T(max_iter=a)) / (b - a)`` with ``tol=0``
(``--iters a,b``, default 2,5) for every source; everything done once per fit cancels.
Each repeat times both the in-memory and the other source (order alternating between
repeats); the table shows the medians over ``--repeats`` (default 3), their ratio and
the range of per-repeat ratios.  On-disk fits open the file anew for every fit (a fresh
mapping / h5py.File), as a user would.  Before timing, the page cache is warmed by
reading the file once sequentially (the time and ``fincore`` residency are reported).

Peak anonymous memory: the on-disk fit (``max_iter`` = 2) runs in a fresh subprocess
(after a small in-memory warm-up fit that starts the OpenMP threads):

(a) a sampling thread reads ``RssAnon`` from /proc/self/status every 10 ms; the table
    shows max(RssAnon) - RssAnon just before the fit.  Total RSS and VmHWM are not used:
    they count the mapped file's page-cache pages (RssFile, shown in the details only).
(b) a second fit under ``tracemalloc`` (numpy reports its buffers): the traced peak,
    and the top allocations (by traceback) of a snapshot taken when the traced memory
    reached its peak.

Reading vs kernel: for the block sources the details also give the time of one pass of
the block reader alone (gaussmix's ``BlockSource.blocks()``: slicing, copy where the
source copies, NaN check; no kernel), to judge whether the read-ahead overlaps the
kernel: with overlap the on-disk iteration is ~max(kernel, read) plus the reader's CPU
share on a 2-core machine, without it ~kernel + read.

Options: ``--quick`` (n_disk = n_ref = n_h5 = n_dask = 1e6, dask chunks 2.5e5, 2
repeats), ``--repeats``, ``--iters a,b``, ``--dir`` (data files; default
/tmp/gaussmix_bench_scale), ``--keep`` (keep the data files; a later run with the same
parameters reuses them), ``--only disk|dask``, ``--no-h5``, ``--kinds``, ``--n-disk``,
``--n-ref``, ``--n-h5``, ``--n-dask``, ``--dask-chunk``, ``--threads`` (default 2:
threadpoolctl limit for OpenMP and BLAS in this process and the memory subprocesses),
``--output FILE`` (markdown).  Exit status 1 if a target is missed or a step failed.
"""

import argparse
import contextlib
import gc
import io
import json
import math
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial

import numpy as np

try:
    import gaussmix
except ImportError:  # a source checkout with the extension built in place
    _ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:0] = [os.path.join(_ROOT, "src"), _ROOT]
    import gaussmix

import threadpoolctl
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

D, K, COV = 16, 10, "full"
DTYPE = np.float32
SEED = 0
GEN_BLOCK = 1_000_000
KINDS = ("separated", "overlapping")
KIND_ID = {"separated": 1, "overlapping": 2}
H5_CHUNK_ROWS = 65_536
MEMORY_MAX_ITER = 2
SAMPLE_INTERVAL = 0.010
TARGET_DISK_RATIO = 1.3
TARGET_DISK_ANON_MB = 256
TARGET_DASK_RATIO = 1.5
DATA_VERSION = 1  # bump when the generator changes (invalidates kept files)

FULL = {"n_disk": 100_000_000, "n_ref": 10_000_000, "n_h5": 10_000_000,
        "n_dask": 10_000_000, "dask_chunk": 1_000_000}
QUICK = {"n_disk": 1_000_000, "n_ref": 1_000_000, "n_h5": 1_000_000, "n_dask": 1_000_000,
         "dask_chunk": 250_000}


def log(msg):
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


# ------------------------------------------------------------------------ data
@dataclass
class Model:
    kind: str
    centers: np.ndarray   # (k, d)
    factors: np.ndarray   # (k, d, d): covariance_j = factors_j @ factors_j.T
    scales: np.ndarray    # (k, d): singular values of factors_j
    rotations: np.ndarray  # (k, d, d)
    weights: np.ndarray   # (k,)


def make_model(kind, seed=SEED, d=D, k=K):
    rng = np.random.default_rng([seed, KIND_ID[kind], 0])
    rotations = np.empty((k, d, d))
    scales = np.empty((k, d))
    for j in range(k):
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        rotations[j] = q
        scales[j] = rng.uniform(0.5, 1.5, d)
    factors = rotations * scales[:, None, :]
    weights = 0.5 / k + 0.5 * rng.dirichlet(np.full(k, 5.0))
    if kind == "separated":
        half = 10.0 * k ** (1.0 / d)
        for _ in range(1000):
            centers = rng.uniform(-half, half, (k, d))
            dist = _pairwise(centers)
            if dist.min() >= 8.0:
                break
        else:
            raise RuntimeError("could not place well-separated centres")
    else:
        u = rng.standard_normal((k, d))
        centers = 0.5 * u / np.linalg.norm(u, axis=1, keepdims=True)
    return Model(kind, centers, factors, scales, rotations, weights)


def _pairwise(centers):
    dist = np.sqrt(((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1))
    dist[np.diag_indices(len(centers))] = np.inf
    return dist


def gen_block(model, b):
    """Rows [b * GEN_BLOCK, (b + 1) * GEN_BLOCK) of the infinite stream of ``model``."""
    rng = np.random.default_rng([SEED, KIND_ID[model.kind], 1, b])
    labels = rng.choice(len(model.weights), size=GEN_BLOCK, p=model.weights)
    z = rng.standard_normal((GEN_BLOCK, model.centers.shape[1]), dtype=np.float32)
    out = np.empty_like(z)
    for j in range(len(model.weights)):
        rows = labels == j
        out[rows] = z[rows] @ model.factors[j].T.astype(np.float32) + model.centers[j].astype(
            np.float32)
    return out


def gen_rows(model, start, stop, dtype=DTYPE):
    """Rows [start, stop) as a new (stop - start, d) array, blockwise."""
    out = np.empty((stop - start, model.centers.shape[1]), dtype=dtype)
    for b in range(start // GEN_BLOCK, (stop - 1) // GEN_BLOCK + 1):
        lo, hi = max(start, b * GEN_BLOCK), min(stop, (b + 1) * GEN_BLOCK)
        out[lo - start:hi - start] = gen_block(model, b)[lo - b * GEN_BLOCK:hi - b * GEN_BLOCK]
    return out


def make_init(model, seed=SEED):
    rng = np.random.default_rng([seed, KIND_ID[model.kind], 2])
    k, d = model.centers.shape
    return {
        "means_init": model.centers + rng.normal(0.0, 0.1, (k, d)),
        "weights_init": np.full(k, 1.0 / k),
        "precisions_init": np.tile(0.8 * np.eye(d), (k, 1, 1)),
    }


def responsibility_summary(model, n=100_000):
    """Responsibilities at the true parameters on the first n rows."""
    X = gen_rows(model, 0, n).astype(np.float64)
    k = len(model.weights)
    logp = np.empty((n, k))
    d = X.shape[1]
    for j in range(k):
        y = ((X - model.centers[j]) @ model.rotations[j]) / model.scales[j]
        logp[:, j] = (np.log(model.weights[j]) - np.log(model.scales[j]).sum()
                      - 0.5 * d * np.log(2 * np.pi) - 0.5 * (y * y).sum(1))
    logp -= logp.max(1, keepdims=True)
    resp = np.exp(logp)
    resp /= resp.sum(1, keepdims=True)
    top = np.sort(resp, axis=1)[:, ::-1]
    dist = _pairwise(model.centers)
    finite = dist[np.isfinite(dist)]
    return {
        "frac_max_below_0.99": float(np.mean(top[:, 0] < 0.99)),
        "frac_max_above_1-1e-6": float(np.mean(top[:, 0] > 1 - 1e-6)),
        "median_second_resp": float(np.median(top[:, 1])),
        "median_n_resp_above_0.01": float(np.median((resp > 0.01).sum(1))),
        "centre_dist_min": float(finite.min()),
        "centre_dist_max": float(finite.max()),
    }


# ----------------------------------------------------------------- data files
def _meta(kind, n, fmt):
    return {"kind": kind, "n": n, "d": D, "dtype": np.dtype(DTYPE).str, "seed": SEED,
            "format": fmt, "gen_block": GEN_BLOCK, "version": DATA_VERSION,
            "h5_chunk_rows": H5_CHUNK_ROWS if fmt == "h5" else None}


def _reusable(path, meta):
    try:
        with open(path + ".json") as fh:
            return json.load(fh) == meta and os.path.exists(path)
    except (OSError, ValueError):
        return False


def write_npy(model, n, path):
    """The .npy file written block by block (at most one generator block in memory)."""
    meta = _meta(model.kind, n, "npy")
    if _reusable(path, meta):
        log(f"  reusing {path}")
        return 0.0, True
    t0 = time.perf_counter()
    tmp = path + ".part"
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(DTYPE)), "fortran_order": False,
              "shape": (n, D)}
    with open(tmp, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        for start in range(0, n, GEN_BLOCK):
            gen_rows(model, start, min(n, start + GEN_BLOCK)).tofile(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    with open(path + ".json", "w") as fh:
        json.dump(meta, fh)
    return time.perf_counter() - t0, False


def write_h5(model, n, path):
    import h5py

    meta = _meta(model.kind, n, "h5")
    if _reusable(path, meta):
        log(f"  reusing {path}")
        return 0.0, True
    t0 = time.perf_counter()
    tmp = path + ".part"
    with h5py.File(tmp, "w") as f:
        dset = f.create_dataset("X", shape=(n, D), dtype=DTYPE,
                                chunks=(min(H5_CHUNK_ROWS, n), D))
        for start in range(0, n, GEN_BLOCK):
            stop = min(n, start + GEN_BLOCK)
            dset[start:stop] = gen_rows(model, start, stop)
    os.replace(tmp, path)
    with open(path + ".json", "w") as fh:
        json.dump(meta, fh)
    return time.perf_counter() - t0, False


def warm_page_cache(path, buffer_mb=64):
    """Read the file once sequentially; return (seconds, GB/s, fincore residency)."""
    buf = bytearray(buffer_mb * 2**20)
    view = memoryview(buf)
    total = 0
    t0 = time.perf_counter()
    with open(path, "rb", buffering=0) as fh:
        while True:
            got = fh.readinto(view)
            if not got:
                break
            total += got
    dt = time.perf_counter() - t0
    return dt, total / dt / 1e9, fincore(path)


def fincore(path):
    if shutil.which("fincore") is None:
        return "fincore not available"
    try:
        out = subprocess.run(["fincore", "-b", "-n", "-o", "RES,SIZE", path],
                             capture_output=True, text=True, check=True).stdout.split()
        res, size = int(out[0]), int(out[1])
        return f"{100.0 * res / max(size, 1):.1f}% of {size / 1e9:.2f} GB in page cache"
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError) as exc:
        return f"fincore failed: {exc}"


def remove_data(path):
    for p in (path, path + ".json", path + ".part"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(p)


# --------------------------------------------------------------------- fitting
def estimator(init, max_iter, working_memory):
    return gaussmix.GaussianMixture(K, covariance_type=COV, max_iter=max_iter, tol=0,
                                    working_memory=working_memory, **init)


_LAPSE_RE = re.compile(r"Iteration (\d+)\s+time lapse ([0-9.]+)s")


def timed_fit(open_X, init, max_iter, working_memory):
    """(wall s, CPU s of this process, [lapses of iterations 2..]) of one fit.

    ``open_X`` is a context manager factory giving X.  The fit runs with ``verbose=2``
    (output captured): its own per-iteration "time lapse" lines are a cross-check of the
    differenced time that is less sensitive to one disturbed fit.
    """
    with open_X() as X:
        gm = estimator(init, max_iter, working_memory)
        gm.set_params(verbose=2, verbose_interval=1)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            c0, t0 = time.process_time(), time.perf_counter()
            gm.fit(X)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
    if gm.n_iter_ != max_iter:
        raise RuntimeError(f"fit ran {gm.n_iter_} iterations, expected {max_iter}")
    lapses = [float(m.group(2)) for m in _LAPSE_RE.finditer(out.getvalue())
              if int(m.group(1)) >= 2]
    return dt, dc, lapses


@dataclass
class Timing:
    name: str
    n: int
    t_a: list = field(default_factory=list)
    t_b: list = field(default_factory=list)
    per_iter: list = field(default_factory=list)
    cpu_per_iter: list = field(default_factory=list)  # this process's CPU s, differenced
    lapses: list = field(default_factory=list)  # verbose lapses of iterations >= 2
    load: list = field(default_factory=list)  # 1-min load average after each repeat

    @property
    def median(self):
        return float(np.median(self.per_iter)) if self.per_iter else math.nan


def compare(sources, init, iters, repeats, working_memory):
    """Differenced per-iteration times of every (name, n, open_X) in ``sources``."""
    a, b = iters
    timings = {name: Timing(name, n) for name, n, _ in sources}
    for r in range(repeats):
        order = sources if r % 2 == 0 else sources[::-1]
        for name, n, open_X in order:
            ta, ca, la = timed_fit(open_X, init, a, working_memory)
            tb, cb, lb = timed_fit(open_X, init, b, working_memory)
            t = timings[name]
            t.t_a.append(ta)
            t.t_b.append(tb)
            t.per_iter.append((tb - ta) / (b - a))
            t.cpu_per_iter.append((cb - ca) / (b - a))
            t.lapses.extend(la + lb)
            t.load.append(os.getloadavg()[0])
            log(f"    repeat {r + 1}/{repeats} {name:>9}: T({a}) {ta:7.2f} s, T({b}) {tb:7.2f} s,"
                f" {1e3 * t.per_iter[-1]:9.1f} ms/iter (load {t.load[-1]:.2f})")
    return timings


@contextlib.contextmanager
def _given(X):
    yield X


def open_npy(path):
    @contextlib.contextmanager
    def opener():
        yield np.load(path, mmap_mode="r")  # unmapped when the last reference goes
    return opener


def open_h5(path):
    @contextlib.contextmanager
    def opener():
        import h5py

        with h5py.File(path, "r") as f:
            yield f["X"]
    return opener


def reader_pass(open_X, working_memory, threads):
    """Seconds of two passes of gaussmix's block reader alone (no kernel), one opening.

    The first pass on a fresh memmap also takes the page faults that map the file's
    cached pages into the process; the second is what later EM iterations see.
    """
    from gaussmix._fit._sources import BlockSource

    times = []
    with open_X() as X:
        src = BlockSource(X, None, threads, working_memory, "GaussianMixture", DTYPE)
        for _ in range(2):
            t0 = time.perf_counter()
            rows = 0
            for _, block, _ in src.blocks():
                rows += block.shape[0]
            times.append(time.perf_counter() - t0)
            assert rows == src.n_samples
    return times, src.block_rows


# ---------------------------------------------------------------------- memory
def _status_kb(*keys):
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            name, _, rest = line.partition(":")
            if name in keys:
                out[name] = int(rest.split()[0])
    return out


class Sampler(threading.Thread):
    """Max of RssAnon / RssFile, every SAMPLE_INTERVAL seconds, until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop_event = threading.Event()
        self.max_anon = 0
        self.max_file = 0
        self.samples = 0

    def run(self):
        while not self.stop_event.is_set():
            s = _status_kb("RssAnon", "RssFile")
            self.max_anon = max(self.max_anon, s["RssAnon"])
            self.max_file = max(self.max_file, s["RssFile"])
            self.samples += 1
            self.stop_event.wait(SAMPLE_INTERVAL)

    def stop(self):
        self.stop_event.set()
        self.join()


class TracePeak(threading.Thread):
    """Snapshot of tracemalloc whenever the traced memory reaches a new high (> +1 MiB)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop_event = threading.Event()
        self.best = 0
        self.snapshot = None

    def run(self):
        while not self.stop_event.is_set():
            current, _ = tracemalloc.get_traced_memory()
            if current > self.best + 2**20:
                self.best = current
                self.snapshot = tracemalloc.take_snapshot()
            self.stop_event.wait(SAMPLE_INTERVAL)

    def stop(self):
        self.stop_event.set()
        self.join()


def _short_path(filename):
    """gaussmix/... for the package's files, the base name for others."""
    parts = filename.replace(os.sep, "/").split("/")
    if "gaussmix" in parts[:-1]:
        i = len(parts) - 1 - parts[::-1].index("gaussmix")
        return "/".join(parts[i:])
    return os.path.basename(filename)


def _top_stats(snapshot, limit=6):
    if snapshot is None:
        return []
    snapshot = snapshot.filter_traces([
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, threading.__file__),
    ])
    out = []
    for stat in snapshot.statistics("traceback")[:limit]:
        frames = [f"{_short_path(f.filename)}:{f.lineno}" for f in list(stat.traceback)[-4:]]
        out.append({"mb": stat.size / 2**20, "count": stat.count, "where": " <- ".join(reversed(frames))})
    return out


class _RowBlocks:
    """An in-memory array seen through the block reader (``shape``, ``dtype``, slicing)."""

    def __init__(self, X):
        self.X, self.shape, self.dtype = X, X.shape, X.dtype

    def __getitem__(self, key):
        return self.X[key]


def memory_worker(spec):
    """In a fresh process: peak RssAnon increase and tracemalloc peak of one fit."""
    spec = json.loads(spec)
    warnings.simplefilter("ignore", ConvergenceWarning)
    model = make_model(spec["kind"])
    init = make_init(model)
    opener = open_npy(spec["path"]) if spec["format"] == "npy" else open_h5(spec["path"])
    with threadpool_limits(limits=spec["threads"]):
        small = gen_rows(model, 0, 20_000)
        estimator(init, 1, spec["working_memory"]).fit(small)  # OpenMP threads, imports
        # the block path once on tiny data (imports, reader thread, block buffers)
        estimator(init, 1, spec["working_memory"]).fit(_RowBlocks(small))
        del small
        gc.collect()
        with opener() as X:
            sampler = Sampler()
            sampler.start()
            time.sleep(0.05)
            before = _status_kb("RssAnon", "RssFile")
            t0 = time.perf_counter()
            estimator(init, MEMORY_MAX_ITER, spec["working_memory"]).fit(X)
            fit_s = time.perf_counter() - t0
            sampler.stop()
            after = _status_kb("RssAnon", "RssFile")
        gc.collect()
        tracemalloc.start(12)
        with opener() as X:
            tracer = TracePeak()
            tracer.start()
            estimator(init, MEMORY_MAX_ITER, spec["working_memory"]).fit(X)
            tracer.stop()
            _, traced_peak = tracemalloc.get_traced_memory()
        top = _top_stats(tracer.snapshot)
        tracemalloc.stop()
    print(json.dumps({
        "anon_before_mb": before["RssAnon"] / 1024,
        "anon_peak_increase_mb": max(0, sampler.max_anon - before["RssAnon"]) / 1024,
        "anon_after_increase_mb": (after["RssAnon"] - before["RssAnon"]) / 1024,
        "file_before_mb": before["RssFile"] / 1024,
        "file_peak_mb": sampler.max_file / 1024,
        "samples": sampler.samples,
        "fit_s": fit_s,
        "traced_peak_mb": traced_peak / 2**20,
        "traced_snapshot_mb": tracer.best / 2**20,
        "top": top,
    }))
    return 0


def run_memory(fmt, path, kind, args):
    spec = json.dumps({"format": fmt, "path": path, "kind": kind, "threads": args.threads,
                       "working_memory": args.working_memory})
    cmd = [sys.executable, os.path.abspath(__file__), "--_memory-worker", spec]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last, "stderr": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- header
def _git_describe(path):
    try:
        head = subprocess.run(["git", "-C", path, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", path, "status", "--porcelain",
                                 "--untracked-files=no"],
                                capture_output=True, text=True, check=True).stdout.splitlines()
        modified = [line[3:] for line in status if line.strip()]
        return head + (f"-dirty, modified: {', '.join(modified)}" if modified else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def _package_digest(gm_dir):
    """sha256 of the package's .py sources and of the compiled core, with its build time.

    Identifies the measured code also when it runs from an exported snapshot (no git).
    """
    import hashlib

    h = hashlib.sha256()
    for root, dirs, files in sorted(os.walk(gm_dir)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                h.update(os.path.relpath(path, gm_dir).encode())
                with open(path, "rb") as fh:
                    h.update(fh.read())
    try:
        import gaussmix._gmmcore as core

        with open(core.__file__, "rb") as fh:
            so = hashlib.sha256(fh.read()).hexdigest()[:12]
        built = datetime.fromtimestamp(os.path.getmtime(core.__file__), timezone.utc)
        core_s = f"_gmmcore sha256 {so} (built {built:%Y-%m-%d %H:%M UTC})"
    except Exception as exc:  # noqa: BLE001 -- informative only
        core_s = f"_gmmcore: ? ({exc})"
    return f"sources sha256 {h.hexdigest()[:12]}, {core_s}"


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _mem_total_gib():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return math.nan


def _loadavg():
    try:
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def header_lines(args, command, sizes, kind_info):
    import dask
    import distributed
    import h5py
    import scipy
    import sklearn

    try:
        import zarr
        zarr_v = zarr.__version__
    except ImportError:
        zarr_v = "not installed"
    gm_dir = os.path.dirname(os.path.abspath(gaussmix.__file__))
    git = _git_describe(gm_dir)
    env_prefix = "".join(f"{k}={shlex.quote(os.environ[k])} " for k in
                         ("PYTHONPATH", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
                         if k in os.environ)
    lines = [
        f"command: cd {shlex.quote(os.getcwd())} && {env_prefix}{command}",
        f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"load average at start (1/5/15 min): {_loadavg()}",
        f"machine: {_cpu_model()}, {os.cpu_count()} logical CPUs, {_mem_total_gib():.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}; data dir {args.dir} "
        f"({shutil.disk_usage(args.dir).free / 1e9:.0f} GB free)",
        f"gaussmix {gaussmix.__version__} from {gm_dir} "
        f"({f'git {git}' if git else 'not a git checkout'}); {_package_digest(gm_dir)}",
        f"versions: python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, dask {dask.__version__}, "
        f"distributed {distributed.__version__}, h5py {h5py.__version__} (HDF5 "
        f"{h5py.version.hdf5_version}), zarr {zarr_v}, threadpoolctl {threadpoolctl.__version__}",
    ]
    with threadpool_limits(limits=args.threads):
        from gaussmix import _kernel

        lines.append(f"threads: threadpool_limits({args.threads}); gaussmix OpenMP threads "
                     f"(in-memory and block fits) = {_kernel.effective_n_threads()}; "
                     f"Dask: 2 workers x 1 thread")
        for lib in threadpool_info():
            lines.append(
                f"{lib['user_api']}: internal_api={lib['internal_api']} "
                f"num_threads={lib['num_threads']} architecture={lib.get('architecture', '-')} "
                f"version={lib.get('version')} ({os.path.basename(lib['filepath'])})"
            )
    lines.append(
        f"problem: d={D}, k={K}, covariance_type={COV!r}, float32 everywhere (Dask too), "
        f"working_memory={args.working_memory} MiB per block, iterations differenced: "
        f"T({args.iters[0]}) vs T({args.iters[1]}), tol=0, repeats={args.repeats} (median), "
        f"seed={SEED}" + ("; QUICK" if args.quick else "")
    )
    lines.append(
        f"sizes: on-disk npy n={sizes['n_disk']:,} ({sizes['n_disk'] * D * 4 / 1e9:.2f} GB), "
        f"in-memory reference n={sizes['n_ref']:,}, h5py n={sizes['n_h5']:,} (chunks "
        f"{H5_CHUNK_ROWS} rows), Dask n={sizes['n_dask']:,} (chunks {sizes['dask_chunk']:,} rows)"
    )
    for kind, info in kind_info.items():
        lines.append(
            f"data {kind}: centre distances {info['centre_dist_min']:.2f}..{info['centre_dist_max']:.2f} "
            f"(component sd 0.5..1.5); at the true parameters (1e5 rows): "
            f"max responsibility < 0.99 for {100 * info['frac_max_below_0.99']:.1f}% of points, "
            f"> 1-1e-6 for {100 * info['frac_max_above_1-1e-6']:.1f}%; median 2nd responsibility "
            f"{info['median_second_resp']:.2g}; median #components with resp > 0.01: "
            f"{info['median_n_resp_above_0.01']:.0f}"
        )
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE", "MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX"):
        if var in os.environ:
            lines.append(f"env: {var}={os.environ[var]}")
    return lines


# ----------------------------------------------------------------------- table
@dataclass
class Row:
    config: str
    kind: str
    ref: Timing
    other: Timing
    target_ratio: float
    memory: dict = None
    target_anon: float = None
    notes: list = field(default_factory=list)
    error: str = None

    def scale(self):
        return self.other.n / self.ref.n

    def ratio(self):
        return self.other.median / (self.ref.median * self.scale())

    def ratio_range(self):
        rs = [o / (r * self.scale()) for o, r in zip(self.other.per_iter, self.ref.per_iter)
              if r > 0]
        return (min(rs), max(rs)) if rs else (math.nan, math.nan)

    def anon(self):
        if self.memory is None or "error" in self.memory:
            return None
        return self.memory["anon_peak_increase_mb"]

    def verdict(self):
        if self.error:
            return "ERROR"
        fails = []
        if not self.ratio() <= self.target_ratio:
            fails.append("time")
        if self.target_anon is not None:
            anon = self.anon()
            if anon is None:
                fails.append("memory not measured")
            elif not anon < self.target_anon:
                fails.append("memory")
        return "pass" if not fails else "FAIL (" + ", ".join(fails) + ")"


def _ms(seconds):
    if seconds is None or not math.isfinite(seconds):
        return "-"
    ms = seconds * 1e3
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.1f}"


def table_lines(rows):
    head = ("| config | data | in-memory ms/iter (scaled to n) | on-disk / Dask ms/iter | ratio "
            "| ratio range | peak anon MB (tracemalloc MB) | target | result |")
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for row in rows:
        if row.error:
            out.append(f"| {row.config} | {row.kind} | - | - | - | - | - | - | ERROR: {row.error} |")
            continue
        lo, hi = row.ratio_range()
        if row.memory is None:
            mem = "-"
        elif "error" in row.memory:
            mem = "error"
        else:
            mem = f"{row.memory['anon_peak_increase_mb']:.1f} ({row.memory['traced_peak_mb']:.1f})"
        target = f"ratio <= {row.target_ratio}"
        if row.target_anon is not None:
            target += f", anon < {row.target_anon} MB"
        out.append(
            f"| {row.config} | {row.kind} | {_ms(row.ref.median * row.scale())} "
            f"| {_ms(row.other.median)} | {row.ratio():.2f} | {lo:.2f}-{hi:.2f} | {mem} "
            f"| {target} | {row.verdict()} |"
        )
    return out


def detail_lines(rows):
    out = []
    for row in rows:
        out.append(f"{row.config}, {row.kind}:")
        if row.error:
            out.append(f"  ERROR {row.error}")
            continue
        for t in (row.ref, row.other):
            out.append(
                f"  {t.name} (n={t.n:,}): ms/iter per repeat "
                + ", ".join(f"{1e3 * v:,.1f}" for v in t.per_iter)
                + f"; median {1e3 * t.median:,.1f} ms/iter = {1e9 * t.median / t.n:.1f} ns/row; "
                f"median T(a) {np.median(t.t_a):.2f} s, T(b) {np.median(t.t_b):.2f} s; "
                f"1-min load average after each repeat "
                + ", ".join(f"{v:.2f}" for v in t.load)
            )
        sc = row.scale()
        r, o = row.ref, row.other
        checks = [f"ratio of the minima over repeats {min(o.per_iter) / (min(r.per_iter) * sc):.2f}",
                  f"ratio of the medians of the fits' own per-iteration lapses "
                  f"{np.median(o.lapses) / (np.median(r.lapses) * sc):.2f} "
                  f"({1e3 * np.median(r.lapses):,.0f} vs {1e3 * np.median(o.lapses):,.0f} ms, "
                  f"{len(r.lapses)} and {len(o.lapses)} lapses)"]
        if not row.config.startswith("dask"):
            checks.append(f"ratio of this process's CPU time per iteration "
                          f"{np.median(o.cpu_per_iter) / (np.median(r.cpu_per_iter) * sc):.2f} "
                          f"({np.median(r.cpu_per_iter):.2f} vs {np.median(o.cpu_per_iter):.2f} "
                          f"CPU s/iter; insensitive to other processes' load)")
        out.append("  cross-checks: " + "; ".join(checks))
        m = row.memory
        if m is not None:
            if "error" in m:
                out.append(f"  memory: ERROR {m['error']}")
            else:
                out.append(
                    f"  memory (subprocess, max_iter={MEMORY_MAX_ITER}, fit {m['fit_s']:.1f} s): "
                    f"RssAnon before {m['anon_before_mb']:.0f} MB, peak +{m['anon_peak_increase_mb']:.1f} MB "
                    f"({m['samples']} samples), after +{m['anon_after_increase_mb']:.1f} MB; "
                    f"RssFile {m['file_before_mb']:.0f} -> max {m['file_peak_mb']:.0f} MB (mapped page "
                    f"cache, not counted); tracemalloc peak {m['traced_peak_mb']:.1f} MB"
                )
                if m["top"]:
                    out.append(f"  tracemalloc top allocations at the traced high "
                               f"({m['traced_snapshot_mb']:.1f} MB):")
                    for s in m["top"]:
                        out.append(f"    {s['mb']:8.2f} MB in {s['count']:4d} blocks: {s['where']}")
        out.extend("  " + note for note in row.notes)
    return out


# ------------------------------------------------------------------- sections
def run_disk(args, sizes, kinds, refs, rows, cleanup):
    os.makedirs(args.dir, exist_ok=True)
    do_npy = args.only in (None, "disk", "npy")
    do_h5 = args.only in (None, "disk", "h5") and not args.no_h5
    n_disk, n_h5 = sizes["n_disk"], sizes["n_h5"]
    need = (n_disk * D * 4 if do_npy else 0) + (n_h5 * D * 4 if do_h5 else 0)
    free = shutil.disk_usage(args.dir).free
    if free < need * 1.1:
        raise SystemExit(f"not enough free space in {args.dir}: need {need / 1e9:.1f} GB, "
                         f"have {free / 1e9:.1f} GB")
    for kind in kinds:
        if do_npy:
            rows.append(run_npy(args, kind, n_disk, refs, cleanup))
        if do_h5:
            rows.append(run_h5(args, kind, n_h5, refs, cleanup))


def _memory_row(row, fmt, path, kind, args):
    log("  memory subprocess ...")
    row.memory = run_memory(fmt, path, kind, args)
    log("  memory: " + (row.memory.get("error") or
                        f"anon peak +{row.memory['anon_peak_increase_mb']:.1f} MB, "
                        f"traced {row.memory['traced_peak_mb']:.1f} MB"))


def run_npy(args, kind, n_disk, refs, cleanup):
    model = make_model(kind)
    init = make_init(model)
    ref, n_ref = refs[kind]
    config = f"npy memmap n={n_disk:.0e}"
    path = os.path.join(args.dir, f"scale_{kind}_n{n_disk}_d{D}_f32.npy")
    log(f"== npy memmap, {kind}: writing {path} ({n_disk * D * 4 / 1e9:.2f} GB)")
    cleanup.append(path)
    try:
        load0 = _loadavg()
        wt, reused = write_npy(model, n_disk, path)
        if not reused:
            log(f"  written in {wt:.0f} s ({n_disk * D * 4 / 1e9 / wt:.2f} GB/s incl. generation)")
        rt, gbs, res = warm_page_cache(path)
        log(f"  page cache warmed: read once in {rt:.1f} s ({gbs:.2f} GB/s); {res}")
        opener = open_npy(path)
        timings = compare([("in-memory", n_ref, partial(_given, ref)), ("npy", n_disk, opener)],
                          init, args.iters, args.repeats, args.working_memory)
        row = Row(config, kind, timings["in-memory"], timings["npy"], TARGET_DISK_RATIO,
                  target_anon=TARGET_DISK_ANON_MB)
        row.notes.append(f"data file: {n_disk * D * 4 / 1e9:.2f} GB"
                         + (" (reused)" if reused else f", written in {wt:.0f} s")
                         + f"; page cache warmed by one sequential read: {rt:.1f} s "
                         f"({gbs:.2f} GB/s), {res}; after timing: {fincore(path)}")
        reads = [reader_pass(opener, args.working_memory, refs["threads"]) for _ in range(2)]
        row.notes.append(_read_note(row, reads))
        log(f"  {row.notes[-1]}")
        _memory_row(row, "npy", path, kind, args)
        row.notes.append(f"load average (1/5/15 min) at start {load0}, at end {_loadavg()}")
    except Exception as exc:  # noqa: BLE001 -- report and go on with the other rows
        log(f"  ERROR {exc!r}")
        row = Row(config, kind, None, None, TARGET_DISK_RATIO, error=repr(exc))
    if not args.keep:
        remove_data(path)
    return row


def run_h5(args, kind, n_h5, refs, cleanup):
    model = make_model(kind)
    init = make_init(model)
    ref, n_ref = refs[kind]
    config = f"h5py n={n_h5:.0e}"
    path = os.path.join(args.dir, f"scale_{kind}_n{n_h5}_d{D}_f32.h5")
    log(f"== h5py, {kind}: writing {path} ({n_h5 * D * 4 / 1e9:.2f} GB)")
    cleanup.append(path)
    try:
        load0 = _loadavg()
        write_h5(model, n_h5, path)
        rt, gbs, res = warm_page_cache(path)
        log(f"  page cache warmed: read once in {rt:.1f} s ({gbs:.2f} GB/s); {res}")
        opener = open_h5(path)
        h5_ref = ref if n_h5 == n_ref else gen_rows(model, 0, n_h5)
        timings = compare([("in-memory", n_h5, partial(_given, h5_ref)), ("h5py", n_h5, opener)],
                          init, args.iters, args.repeats, args.working_memory)
        row = Row(config, kind, timings["in-memory"], timings["h5py"], TARGET_DISK_RATIO,
                  target_anon=TARGET_DISK_ANON_MB)
        row.notes.append(f"data file: {os.path.getsize(path) / 1e9:.2f} GB, chunks "
                         f"({H5_CHUNK_ROWS}, {D}), no compression; page cache warmed by "
                         f"one read: {rt:.1f} s ({gbs:.2f} GB/s), {res}")
        reads = [reader_pass(opener, args.working_memory, refs["threads"]) for _ in range(2)]
        row.notes.append(_read_note(row, reads))
        log(f"  {row.notes[-1]}")
        _memory_row(row, "h5", path, kind, args)
        row.notes.append(f"load average (1/5/15 min) at start {load0}, at end {_loadavg()}")
    except Exception as exc:  # noqa: BLE001
        log(f"  ERROR {exc!r}")
        row = Row(config, kind, None, None, TARGET_DISK_RATIO, error=repr(exc))
    if not args.keep:
        remove_data(path)
    return row


def _read_note(row, reads):
    first = float(np.median([r[0][0] for r in reads]))
    again = float(np.median([r[0][1] for r in reads]))
    block_rows = reads[0][1]
    kernel = row.ref.median * row.scale()
    other = row.other.median
    return (f"reader alone (BlockSource.blocks(): slicing, copies, NaN check; no kernel; "
            f"{block_rows:,} rows = {block_rows * D * 4 / 2**20:.0f} MiB per block): "
            f"{1e3 * first:,.0f} ms for a first pass after opening, {1e3 * again:,.0f} ms for "
            f"a second (median of {len(reads)}); in-memory kernel {1e3 * kernel:,.0f} ms/iter; "
            f"on-disk {1e3 * other:,.0f} ms/iter = kernel {1e3 * (other - kernel):+,.0f} ms "
            f"(without overlap expect about kernel + {1e3 * again:,.0f} ms)")


def run_dask(args, sizes, kinds, refs, rows):
    import dask
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    n, chunk = sizes["n_dask"], sizes["dask_chunk"]
    log("== Dask: starting LocalCluster(n_workers=2, threads_per_worker=1, processes=True)")
    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        log(f"  cluster up in {time.perf_counter() - t0:.1f} s: {client}")
        workers = client.scheduler_info()["workers"]
        worker_env = client.run(lambda: {v: os.environ.get(v) for v in
                                         ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")})
        for kind in kinds:
            model = make_model(kind)
            init = make_init(model)
            ref, n_ref = refs[kind]
            dask_ref = ref if n == n_ref else gen_rows(model, 0, n)
            try:
                starts = list(range(0, n, chunk))
                parts = [da.from_delayed(dask.delayed(gen_rows, pure=True)(model, s, min(n, s + chunk)),
                                         shape=(min(n, s + chunk) - s, D), dtype=DTYPE)
                         for s in starts]
                X = da.concatenate(parts, axis=0)
                t1 = time.perf_counter()
                X = X.persist()
                wait(X)
                gen_s = time.perf_counter() - t1
                who = client.who_has(X)
                per_worker = {}
                for holders in who.values():
                    for h in holders:
                        per_worker[h] = per_worker.get(h, 0) + 1
                same = bool(np.array_equal(X[:1000].compute(), dask_ref[:1000])
                            and np.array_equal(X[-1000:].compute(), dask_ref[-1000:]))
                log(f"  {kind}: generated and persisted on the workers in {gen_s:.1f} s; "
                    f"chunks per worker {sorted(per_worker.values())}; equals the ndarray: {same}")
                timings = compare([("in-memory", n, partial(_given, dask_ref)),
                                   ("dask", n, partial(_given, X))],
                                  init, args.iters, args.repeats, args.working_memory)
                row = Row(f"dask 2x1 n={n:.0e}", kind, timings["in-memory"], timings["dask"],
                          TARGET_DASK_RATIO)
                row.notes.append(f"load average (1/5/15 min) at end {_loadavg()}")
                row.notes.append(
                    f"Dask array: float32, {len(starts)} row chunks of {chunk:,} rows "
                    f"({chunk * D * 4 / 2**20:.0f} MiB), persisted: chunks per worker "
                    f"{sorted(per_worker.values())}; first/last 1000 rows equal the ndarray's: "
                    f"{same}; workers' env {min(worker_env.values(), key=str)}"
                )
                client.cancel(X)
                del X, parts
            except Exception as exc:  # noqa: BLE001
                log(f"  ERROR {exc!r}")
                row = Row(f"dask 2x1 n={n:.0e}", kind, None, None, TARGET_DASK_RATIO,
                          error=repr(exc))
            rows.append(row)
            del dask_ref
        log(f"  closing the cluster ({len(workers)} workers)")


# ------------------------------------------------------------------------ main
def build_parser():
    p = argparse.ArgumentParser(
        description="gaussmix out-of-core (.npy memmap, h5py) and Dask fits against in-memory fits.",
    )
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1e6 rows everywhere, Dask chunks 2.5e5, 2 repeats")
    p.add_argument("--repeats", type=int, default=None, help="timing repeats, median (default 3)")
    p.add_argument("--iters", default="2,5",
                   help="a,b: per-iteration time = (T(max_iter=b) - T(max_iter=a)) / (b - a)")
    p.add_argument("--dir", default=os.path.join("/tmp", "gaussmix_bench_scale"),
                   help="directory for the data files (default /tmp/gaussmix_bench_scale)")
    p.add_argument("--keep", action="store_true",
                   help="keep the data files (a later run with the same sizes reuses them)")
    p.add_argument("--only", choices=("disk", "dask", "npy", "h5"),
                   help="run only one part: disk (= npy and h5), dask, npy or h5")
    p.add_argument("--no-h5", action="store_true", help="skip the h5py comparison")
    p.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of "
                   + ",".join(KINDS))
    for name in ("n_disk", "n_ref", "n_h5", "n_dask", "dask_chunk"):
        p.add_argument("--" + name.replace("_", "-"), type=lambda s: int(float(s)), default=None)
    p.add_argument("--working-memory", type=float, default=32,
                   help="GaussianMixture(working_memory=...) MiB per block (default 32)")
    p.add_argument("--threads", type=int, default=2,
                   help="threadpool_limits for OpenMP and BLAS (default 2)")
    p.add_argument("--output", metavar="FILE", help="also write the results as markdown")
    p.add_argument("--_memory-worker", metavar="SPEC", help=argparse.SUPPRESS)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args._memory_worker:
        return memory_worker(args._memory_worker)
    sizes = dict(QUICK if args.quick else FULL)
    for name in sizes:
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    if args.repeats is None:
        args.repeats = 2 if args.quick else 3
    try:
        args.iters = tuple(int(v) for v in args.iters.split(","))
        assert len(args.iters) == 2 and 1 <= args.iters[0] < args.iters[1]
    except (ValueError, AssertionError):
        parser.error("--iters must be a,b with 1 <= a < b")
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not kinds or any(k not in KINDS for k in kinds):
        parser.error(f"--kinds: choose from {', '.join(KINDS)}")
    os.makedirs(args.dir, exist_ok=True)

    started = time.perf_counter()
    command = shlex.join([sys.executable] + sys.argv)
    kind_info = {kind: responsibility_summary(make_model(kind)) for kind in kinds}
    header = header_lines(args, command, sizes, kind_info)
    print("\n".join(header) + "\n", flush=True)

    rows, cleanup = [], []
    try:
        with threadpool_limits(limits=args.threads):
            refs = {"threads": args.threads}
            n_ref = sizes["n_ref"] if args.only != "dask" else sizes["n_dask"]
            for kind in kinds:
                model = make_model(kind)
                t0 = time.perf_counter()
                refs[kind] = (gen_rows(model, 0, n_ref), n_ref)
                log(f"in-memory reference {kind}: {n_ref:,} x {D} float32 "
                    f"({n_ref * D * 4 / 1e9:.2f} GB) generated in {time.perf_counter() - t0:.1f} s")
                # warm-up: OpenMP threads, imports, first-touch of the array
                estimator(make_init(model), 1, args.working_memory).fit(refs[kind][0])
            if args.only in (None, "disk", "npy", "h5"):
                run_disk(args, sizes, kinds, refs, rows, cleanup)
            if args.only in (None, "dask"):
                run_dask(args, sizes, kinds, refs, rows)
    finally:
        if not args.keep:
            for path in cleanup:
                remove_data(path)
            with contextlib.suppress(OSError):
                os.rmdir(args.dir)  # only if empty

    elapsed = time.perf_counter() - started
    table = table_lines(rows)
    details = detail_lines(rows)
    a, b = args.iters
    footer = [
        f"ms/iter: median over {args.repeats} repeats of (T(max_iter={b}) - T(max_iter={a})) / "
        f"{b - a}, tol=0. in-memory = the same fit of an in-memory float32 ndarray of the first "
        f"n_ref rows (2 OpenMP threads), scaled per row to the row count of the compared source. "
        f"ratio = on-disk (or Dask) ms/iter / scaled in-memory ms/iter; ratio range = per-repeat "
        f"ratios. peak anon MB = max RssAnon (sampled every {SAMPLE_INTERVAL * 1e3:.0f} ms) minus "
        f"RssAnon before the fit, one on-disk fit (max_iter={MEMORY_MAX_ITER}) in a fresh "
        f"process; in parentheses the tracemalloc peak of a second such fit.",
        (f"total runtime: {elapsed / 60:.1f} min; load average at end (1/5/15 min): "
         f"{_loadavg()}" + ("" if args.keep else "; data files deleted")),
    ]
    print()
    print("\n".join(table))
    print()
    print("\n".join(details))
    print()
    print("\n".join(footer))
    if args.output:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w") as fh:
            fh.write("# gaussmix at scale: out-of-core and Dask fits vs in-memory\n\n")
            fh.write("```\n" + "\n".join(header) + "\n```\n\n")
            fh.write("\n".join(table) + "\n\n")
            fh.write("\n\n".join(footer) + "\n\n")
            fh.write("Details:\n\n```\n" + "\n".join(details) + "\n```\n")
        print(f"wrote {args.output}")
    return 0 if rows and all(r.verdict() == "pass" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
