#!/usr/bin/env python
"""Per-iteration time and peak memory of gaussmix against scikit-learn.

Run (from a checkout with the extension built in place, or with gaussmix installed)::

    cd /work/main && PYTHONPATH=src:. python benchmarks/bench_em.py --threads 2
    python benchmarks/bench_em.py --quick                       # smoke run, small n
    python benchmarks/bench_em.py --configs n2e5_d16_k10_diag,n1e5_d64_k16_full
    python benchmarks/bench_em.py --method variational          # vs BayesianGaussianMixture
    python benchmarks/bench_em.py --threads 2 --output benchmarks/results/em.md

OpenBLAS tuning variables.  Some machines export ``OPENBLAS_CORETYPE`` and/or
``OPENBLAS_L2_SIZE``; they override OpenBLAS's own detection of the CPU (kernel
choice, cache size) and slow numpy's BLAS (and therefore mostly scikit-learn, whose E-
and M-steps are BLAS calls; gaussmix holds BLAS to one thread on small blocks).  The header warns when they are set and prints threadpoolctl's BLAS
info (internal_api, num_threads, architecture).  For numbers comparable across
machines run with them unset::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=src:. \\
        python benchmarks/bench_em.py --threads 2

What is measured
----------------
Data: synthetic, well-separated Gaussian clusters (fixed seed, float64), one set per
configuration ``n<samples>_d<features>_k<components>_<covariance_type>``, e.g.
``n2e5_d16_k10_tied``.  The defaults are

    n1e6_d2_k5_full, n2e5_d16_k10_{full,tied,diag,spherical}, n1e5_d64_k16_full

(any name of that form is accepted by ``--configs``).

Initialisation: ``--method em`` (default) compares ``sklearn.mixture.GaussianMixture``
with ``gaussmix.GaussianMixture``; both get the *same* ``weights_init``,
``means_init`` and ``precisions_init`` (perturbed true means, uniform weights, a
scaled identity precision), so neither runs k-means and both start from the same
parameters.  ``--method variational`` compares
``sklearn.mixture.BayesianGaussianMixture`` with
``gaussmix.GaussianMixture(method="variational")``, both given the same explicit priors
(scikit-learn's data-dependent defaults, computed once: weight_concentration_prior =
1/k, mean_precision_prior = 1, mean_prior = mean of X, degrees_of_freedom_prior = d,
covariance_prior = empirical covariance of X in the shape of the covariance type) and
the same ``init_params`` (``--vb-init``, default ``"random"``) and ``random_state``
(BayesianGaussianMixture takes no ``*_init`` arrays; gaussmix draws its initialisation
from scikit-learn's random stream, and the parameter check below shows it if the starts
differ).  ``"random"`` is cheap and its responsibilities sum to one per sample.  Avoid
``random_from_data`` / ``k-means++`` with ``tied``: scikit-learn's tied covariance
estimate uses ``X.T @ X`` over *all* samples, which is only right when every row of the
responsibilities sums to one, so its start differs from gaussmix's there (the
parameter check then reports O(1) differences).

Per-iteration time, by differencing:

    t_iter = (T(max_iter = 1 + m) - T(max_iter = 1)) / m          (tol = 0, m = --iters)

where T is the wall time of one ``fit`` from the same initialisation.  Everything that
happens once per ``fit`` -- input validation, initialisation, scikit-learn's extra final
E-step (``fit_predict`` always runs one more E-step after the loop), building the
fitted attributes -- is in both terms and cancels, leaving m EM (or VB) iterations
(E-step, M-step, lower bound).  Timing warm-started ``max_iter=1`` calls instead would
charge scikit-learn two E-steps per iteration and both libraries the per-call
validation, so it is not used.  ``tol=0`` guarantees exactly ``max_iter`` iterations;
``ConvergenceWarning`` is silenced.  Per configuration: one warm-up fit per library,
then ``--repeats`` rounds, each timing T(1) and T(1+m) for both libraries (the library
order alternates between rounds so drift on a noisy machine hits both alike).  The
table shows the median of the per-round t_iter, the ratio of the medians
(scikit-learn / gaussmix: >1 means gaussmix is faster) and the range of the per-round
ratios as a noise indicator.  All timing runs in this one process.

Agreement: after the timed fits (1 + m iterations from the same start) the fitted
``weights_``, ``means_``, ``covariances_``, ``precisions_cholesky_`` (and, for
variational, ``weight_concentration_``, ``mean_precision_``, ``degrees_of_freedom_``)
and ``lower_bound_`` of the two libraries are compared; the table shows the largest
normwise relative difference max|a - b| / max|b| over them (and which attribute).
For variational, ``lower_bound_`` is not compared: gaussmix reports the complete
evidence lower bound (with every constant), scikit-learn drops constants.

Cross-check: the timed fits run with ``verbose=2, verbose_interval=1`` (output
captured), so both libraries also report their own wall time between consecutive
iterations ("time lapse").  The details list the median of those lapses over
iterations 2..1+m of every round (iteration 1's lapse includes the initialisation and
is dropped); it should agree with the differenced estimate, and is less sensitive to
one slow round on a loaded machine.  It is only a cross-check (it depends on the
libraries' verbose messages; one print per iteration costs microseconds); the table
uses the differenced time.  If a library's verbose output itself fails (scikit-learn
1.9.1's BayesianGaussianMixture with ``tied`` formats a 1-element array with ``%f``),
the cross-check is switched off for it and the fits run with ``verbose=0``.

Peak memory: each (library, configuration) fit also runs in a fresh subprocess (this
script with a hidden ``--_memory-worker`` flag).  The worker builds the same data,
does a small warm-up fit on 2,000 rows (so lazy imports and code pages are not
charged to the fit), then records its current RSS (``VmRSS``), resets the kernel's
RSS high-water mark (writes 5 to ``/proc/self/clear_refs``), fits with ``max_iter=2``
and reports

    peak RSS increase = VmHWM (after fit) - VmRSS (before fit)        (/proc/self/status)

``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is deliberately not used: on Linux a
process started by fork+exec inherits its parent's high-water mark in ``ru_maxrss``
(here: the benchmark process, which just held the largest data set) and clear_refs
does not reset that part, so it over-reports.  If clear_refs is not permitted, the
baseline is VmHWM before the fit (shown in the details), which can under-report.
This counts every allocation (numpy arrays, OpenMP thread stacks, BLAS buffers,
malloc in compiled code) but is page-granular.  The worker runs with
``MALLOC_MMAP_THRESHOLD_=131072`` so that large freed arrays go back to the OS and
the baseline is not inflated by reusable freed memory.  A second fit in the same
worker under ``tracemalloc`` gives the traced peak (numpy reports its data buffers to
tracemalloc), and a third, warm-started fit (``warm_start=True``: no initialisation,
just the iterations plus per-call overhead) gives the peak RSS increase of the
iterations alone; both are shown in the details.  With ``--method em`` the two
agree (all ``*_init`` are given, so initialisation allocates nothing of size n); with
``--method variational`` the from-scratch fit includes the (n, k) initial
responsibilities of ``init_params``.  The table lists the peak RSS increase next to
the size of X (X itself is part of the baseline, not of the increase).

Options: ``--threads N`` wraps everything in ``threadpoolctl.threadpool_limits(N)``
(BLAS and OpenMP, i.e. scikit-learn's BLAS threads and gaussmix's OpenMP threads) and
is passed to the memory workers; ``--quick`` shrinks n (n/50, at least 5,000) and the
repeats for a smoke run; ``--output FILE`` writes the header and table as markdown;
``--no-memory`` skips the subprocesses.  The exact command, the date, versions and
threadpool information are printed first so a table can be reproduced.
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
import subprocess
import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

try:
    import gaussmix
except ImportError:  # optional fallback: a source checkout with the extension built in place
    _ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:0] = [os.path.join(_ROOT, "src"), _ROOT]
    import gaussmix

import scipy
import sklearn
import threadpoolctl
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from threadpoolctl import threadpool_info, threadpool_limits

DEFAULT_CONFIGS = (
    "n1e6_d2_k5_full",
    "n2e5_d16_k10_full",
    "n2e5_d16_k10_tied",
    "n2e5_d16_k10_diag",
    "n2e5_d16_k10_spherical",
    "n1e5_d64_k16_full",
)
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
LIBRARIES = ("sklearn", "gaussmix")
SEED = 0
REG_COVAR = 1e-6
MEMORY_MAX_ITER = 2
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}


# --------------------------------------------------------------------- configs
@dataclass(frozen=True)
class Config:
    name: str
    n: int
    d: int
    k: int
    cov: str


_CONFIG_RE = re.compile(r"^n([0-9.eE+]+)_d(\d+)_k(\d+)_(full|tied|diag|spherical)$")


def parse_config(name, quick=False):
    m = _CONFIG_RE.match(name)
    if m is None:
        raise argparse.ArgumentTypeError(
            f"bad config {name!r}: expected n<samples>_d<features>_k<components>_<cov>, "
            f"e.g. n2e5_d16_k10_full"
        )
    n, d, k = int(float(m.group(1))), int(m.group(2)), int(m.group(3))
    if quick:
        n = max(5_000, n // 50)
    return Config(name, n, d, k, m.group(4))


# ------------------------------------------------------------------------ data
def make_data(cfg, seed=SEED, chunk=65_536):
    """Well-separated clusters, float64, filled chunk by chunk (no transient copy of X).

    Centres are uniform in a cube, resampled until every pair is >= 8 apart; each
    cluster has covariance A A^T with A = Q diag(s), Q random orthogonal, s in
    [0.5, 1.5], so the nearest centres are >= ~5 standard deviations apart.
    """
    rng = np.random.default_rng(seed)
    n, d, k = cfg.n, cfg.d, cfg.k
    half = 10.0 * k ** (1.0 / d)
    for _ in range(1000):
        centers = rng.uniform(-half, half, (k, d))
        dist = np.sqrt(((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1))
        dist[np.diag_indices(k)] = np.inf
        if dist.min() >= 8.0:
            break
    else:
        raise RuntimeError("could not place well-separated centres")
    factors = np.empty((k, d, d))
    for j in range(k):
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        factors[j] = q * rng.uniform(0.5, 1.5, d)
    weights = 0.5 / k + 0.5 * rng.dirichlet(np.full(k, 5.0))
    X = np.empty((n, d))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        labels = rng.choice(k, size=stop - start, p=weights)
        z = rng.standard_normal((stop - start, d))
        block = X[start:stop]
        for j in range(k):
            rows = labels == j
            block[rows] = z[rows] @ factors[j].T + centers[j]
    return X, centers


def make_init(cfg, centers, seed=SEED):
    """Same start for both libraries: perturbed true means, uniform weights, 0.8 I."""
    rng = np.random.default_rng(seed + 1)
    k, d = cfg.k, cfg.d
    means = centers + rng.normal(0.0, 0.5, centers.shape)
    weights = np.full(k, 1.0 / k)
    p = 0.8
    precisions = {
        "full": np.tile(p * np.eye(d), (k, 1, 1)),
        "tied": p * np.eye(d),
        "diag": np.full((k, d), p),
        "spherical": np.full(k, p),
    }[cfg.cov]
    return {"weights_init": weights, "means_init": means, "precisions_init": precisions}


def chunked_mean_cov(X, chunk=65_536):
    """Mean and unbiased covariance of X without a centred copy of X."""
    n, d = X.shape
    mean = X.mean(axis=0)
    scatter = np.zeros((d, d))
    for start in range(0, n, chunk):
        diff = X[start:start + chunk] - mean
        scatter += diff.T @ diff
    return mean, scatter / (n - 1)


def make_priors(cfg, X, prior_type):
    """scikit-learn's default priors for BayesianGaussianMixture, made explicit."""
    mean, cov = chunked_mean_cov(X)
    var = np.diag(cov).copy()
    covariance_prior = {
        "full": cov, "tied": cov, "diag": var, "spherical": float(var.mean()),
    }[cfg.cov]
    return {
        "weight_concentration_prior_type": prior_type,
        "weight_concentration_prior": 1.0 / cfg.k,
        "mean_precision_prior": 1.0,
        "mean_prior": mean,
        "degrees_of_freedom_prior": float(cfg.d),
        "covariance_prior": covariance_prior,
    }


def make_setup(cfg, method, prior_type, vb_init="random"):
    X, centers = make_data(cfg)
    if method == "em":
        extra = make_init(cfg, centers)
    else:
        extra = make_priors(cfg, X, prior_type)
        extra.update(init_params=vb_init, random_state=SEED)
    return X, extra


def estimator(lib, cfg, method, extra, max_iter):
    common = dict(
        n_components=cfg.k, covariance_type=cfg.cov, tol=0.0, reg_covar=REG_COVAR,
        max_iter=max_iter, **extra,
    )
    if method == "em":
        if lib == "sklearn":
            return SkGaussianMixture(random_state=SEED, **common)
        return gaussmix.GaussianMixture(method="em", random_state=SEED, **common)
    if lib == "sklearn":
        return BayesianGaussianMixture(**common)
    # init_params on all rows, as scikit-learn does (gaussmix's default draws its start
    # from a subsample of init_max_samples rows when n is larger)
    return gaussmix.GaussianMixture(method="variational", init_max_samples=None, **common)


# ---------------------------------------------------------------------- timing
_LAPSE_RE = re.compile(r"time lapse\s+([0-9.eE+-]+)s")


def timed_fit(lib, cfg, method, extra, X, max_iter, verbose=True):
    """Wall time of one fit, the estimator, and the per-iteration lapses it printed."""
    est = estimator(lib, cfg, method, extra, max_iter)
    if verbose:
        est.set_params(verbose=2, verbose_interval=1)
    out = io.StringIO()
    gc.collect()
    with contextlib.redirect_stdout(out):
        t0 = time.perf_counter()
        est.fit(X)
        elapsed = time.perf_counter() - t0
    lapses = [float(v) for v in _LAPSE_RE.findall(out.getvalue())]
    return elapsed, est, lapses[1:]  # the first lapse includes the initialisation


@dataclass
class LibResult:
    per_iter: list = field(default_factory=list)  # seconds, one per round
    t1: list = field(default_factory=list)
    lapses: list = field(default_factory=list)  # verbose per-iteration lapses, seconds
    tm: list = field(default_factory=list)
    est: object = None
    error: str = None
    verbose: bool = True  # False if the library's verbose messages fail
    memory: dict = None

    @property
    def median(self):
        return float(np.median(self.per_iter)) if self.per_iter else math.nan


def time_config(cfg, method, extra, X, repeats, iters, log):
    results = {lib: LibResult() for lib in LIBRARIES}
    for lib in LIBRARIES:  # warm-up
        try:
            timed_fit(lib, cfg, method, extra, X, 2)
        except Exception as exc:
            try:  # the verbose messages themselves can fail (scikit-learn 1.9,
                # BayesianGaussianMixture 'tied': a 1-element array formatted with %f)
                timed_fit(lib, cfg, method, extra, X, 2, verbose=False)
            except Exception as exc:  # e.g. method="variational" not in this gaussmix
                results[lib].error = f"{type(exc).__name__}: {exc}"
                log(f"  {lib}: ERROR {results[lib].error}")
            else:
                results[lib].verbose = False
                log(f"  {lib}: verbose=2 fails ({type(exc).__name__}: {exc}); "
                    f"lapse cross-check disabled")
    live = [lib for lib in LIBRARIES if results[lib].error is None]
    for r in range(repeats):
        order = live if r % 2 == 0 else live[::-1]
        for lib in order:
            res = results[lib]
            t1, _, _ = timed_fit(lib, cfg, method, extra, X, 1, res.verbose)
            tm, est, lapses = timed_fit(lib, cfg, method, extra, X, 1 + iters, res.verbose)
            res.lapses.extend(lapses)
            res.t1.append(t1)
            res.tm.append(tm)
            res.per_iter.append((tm - t1) / iters)
            res.est = est
        log(
            f"  round {r + 1}/{repeats}: "
            + ", ".join(
                f"{lib} {results[lib].per_iter[-1] * 1e3:.1f} ms/iter "
                f"(T1 {results[lib].t1[-1]:.3f}s, T{1 + iters} {results[lib].tm[-1]:.3f}s)"
                for lib in live
            )
        )
    return results


# ------------------------------------------------------------------- agreement
COMPARED = (
    "weights_", "means_", "covariances_", "precisions_cholesky_",
    "weight_concentration_", "mean_precision_", "degrees_of_freedom_", "lower_bound_",
)


def compare_params(reference, other, method="em"):
    """{attribute: max|a - b| / max|b|} for the attributes both estimators have.

    For ``method="variational"`` ``lower_bound_`` is left out: gaussmix reports the
    complete evidence lower bound (every constant kept), scikit-learn drops constants.
    """
    out = {}
    for name in COMPARED:
        if method == "variational" and name == "lower_bound_":
            continue
        if not (hasattr(reference, name) and hasattr(other, name)):
            continue
        a, b = getattr(other, name), getattr(reference, name)
        if isinstance(b, tuple):  # dirichlet_process weight_concentration_
            a, b = np.concatenate([np.ravel(x) for x in a]), np.concatenate([np.ravel(x) for x in b])
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            out[name] = math.inf
            continue
        scale = np.max(np.abs(b)) if b.size else 0.0
        diff = np.max(np.abs(a - b)) if b.size else 0.0
        out[name] = float(diff / scale) if scale > 0 else float(diff)
    return out


# ---------------------------------------------------------------------- memory
def _status_kb(key):
    with open("/proc/self/status") as fh:
        m = re.search(rf"^{key}:\s+(\d+)\s+kB", fh.read(), re.MULTILINE)
    return int(m.group(1)) if m else None


def _reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def memory_worker(args):
    """Runs in a fresh process: one fit of one library, peak RSS increase and traced peak."""
    cfg = parse_config(args.configs, args.quick)
    lib = args._memory_worker
    with _thread_limits(args.threads):
        X, extra = make_setup(cfg, args.method, args.prior_type, args.vb_init)
        small = X[: min(cfg.n, 2_000)].copy()
        estimator(lib, cfg, args.method, extra, MEMORY_MAX_ITER).fit(small)  # warm-up
        del small
        gc.collect()
        rss_before = _status_kb("VmRSS")
        reset = _reset_peak_rss()
        baseline = rss_before if reset else _status_kb("VmHWM")
        estimator(lib, cfg, args.method, extra, MEMORY_MAX_ITER).fit(X)
        hwm_after = _status_kb("VmHWM")
        gc.collect()
        tracemalloc.start()
        est = estimator(lib, cfg, args.method, extra, MEMORY_MAX_ITER).fit(X)
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # the iterations alone: continue the last fit warm-started (no initialisation)
        est.set_params(warm_start=True)
        gc.collect()
        rss_warm = _status_kb("VmRSS")
        reset_warm = _reset_peak_rss()
        base_warm = rss_warm if reset_warm else _status_kb("VmHWM")
        est.fit(X)
        warm_increase = max(0, _status_kb("VmHWM") - base_warm) / 1024.0
    print(json.dumps({
        "warm_increase_mb": warm_increase,
        "peak_increase_mb": max(0, hwm_after - baseline) / 1024.0,
        "rss_before_mb": rss_before / 1024.0 if rss_before else None,
        "traced_peak_mb": traced_peak / 2**20,
        "x_mb": X.nbytes / 2**20,
        "baseline": "VmRSS, high-water mark reset" if reset else "VmHWM before fit (no reset)",
    }))


def run_memory(lib, cfg, args):
    cmd = [
        sys.executable, os.path.abspath(__file__), "--_memory-worker", lib,
        "--configs", cfg.name, "--method", args.method, "--prior-type", args.prior_type,
        "--vb-init", args.vb_init,
    ]
    if args.threads is not None:
        cmd += ["--threads", str(args.threads)]
    if args.quick:
        cmd.append("--quick")
    env = dict(os.environ, **MALLOC_ENV)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- header
def _thread_limits(threads):
    return threadpool_limits(limits=threads) if threads is not None else contextlib.nullcontext()


def _git_describe(path):
    try:
        root = subprocess.run(
            ["git", "-C", path, "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", path, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True,
        ).stdout.split("\n")
        modified = [line[3:] for line in dirty if line.strip()]
        if not modified:
            return root
        return f"{root}-dirty, modified: {', '.join(modified)}"
    except (OSError, subprocess.CalledProcessError):
        return None


def _gmmcore_info():
    """Where the compiled core was loaded from, when it was built, and a digest."""
    try:
        import hashlib

        import gaussmix._gmmcore as core

        path = core.__file__
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()[:12]
        built = datetime.fromtimestamp(os.path.getmtime(path), timezone.utc)
        return f"gaussmix._gmmcore: {path} (built {built:%Y-%m-%d %H:%M UTC}, sha256 {digest})"
    except Exception as exc:  # informative only
        return f"gaussmix._gmmcore: ? ({exc})"


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _loadavg():
    try:
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def header_lines(args, command):
    lines = []
    env_prefix = " ".join(
        f"{k}={shlex.quote(v)}" for k, v in sorted(os.environ.items())
        if k in ("PYTHONPATH", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    )
    lines.append(f"command: cd {shlex.quote(os.getcwd())} && {env_prefix + ' ' if env_prefix else ''}{command}")
    lines.append(f"date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    lines.append("load average at start (1/5/15 min): " + _loadavg())
    lines.append(
        f"machine: {_cpu_model()}, {os.cpu_count()} logical CPUs, {platform.system()} "
        f"{platform.release()}"
    )
    gm_dir = os.path.dirname(os.path.abspath(gaussmix.__file__))
    git = _git_describe(gm_dir)
    lines.append(
        f"versions: python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
        f"gaussmix {gaussmix.__version__}{f' (git {git})' if git else ''}, "
        f"threadpoolctl {threadpoolctl.__version__}"
    )
    lines.append(f"gaussmix from: {gm_dir}; " + _gmmcore_info())
    lines.append(
        f"method: {args.method}"
        + (f" (weight_concentration_prior_type={args.prior_type}, init_params={args.vb_init})"
           if args.method == "variational" else "")
        + f"; threads: {args.threads if args.threads is not None else 'library defaults'}"
        f"; repeats: {args.repeats}; iters (m): {args.iters}; seed: {SEED}"
        + ("; QUICK (n/50)" if args.quick else "")
    )
    with _thread_limits(args.threads):
        info = threadpool_info()
    for lib in info:
        if lib["user_api"] == "blas":
            lines.append(
                f"BLAS: internal_api={lib['internal_api']} num_threads={lib['num_threads']} "
                f"architecture={lib.get('architecture')} version={lib.get('version')} "
                f"({os.path.basename(lib['filepath'])})"
            )
        else:
            lines.append(
                f"{lib['user_api']}: internal_api={lib['internal_api']} "
                f"num_threads={lib['num_threads']} ({os.path.basename(lib['filepath'])})"
            )
    set_vars = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ]
    if set_vars:
        lines.append(
            "WARNING: " + ", ".join(f"{v}={os.environ[v]}" for v in set_vars)
            + " is set; it slows numpy's BLAS (mostly scikit-learn's side). For comparable "
            "numbers rerun with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ...`."
        )
    else:
        lines.append("OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: not set")
    return lines


# ----------------------------------------------------------------------- table
def _fmt_ms(seconds):
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds <= 0:  # T(1+m) - T(1) drowned in noise: raise --iters / --repeats
        return "<=0 (noise)"
    ms = seconds * 1e3
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}"


def _fmt_mb(mem, key):
    if mem is None:
        return "-"
    if "error" in mem:
        return "error"
    return f"{mem[key]:.0f}" if mem[key] >= 10 else f"{mem[key]:.1f}"


def table_rows(rows):
    head = (
        "| config | n | d | k | cov | X MB | sklearn ms/iter | gaussmix ms/iter "
        "| ratio sk/gm | ratio range | sklearn peak MB | gaussmix peak MB | max rel diff |"
    )
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for cfg, res, diff, x_mb in rows:
        sk, gm = res["sklearn"], res["gaussmix"]
        if sk.error or gm.error:
            ratio = rng = "-"
        else:
            ratio = f"{sk.median / gm.median:.1f}x" if gm.median > 0 and sk.median > 0 else "-"
            per_round = [a / b for a, b in zip(sk.per_iter, gm.per_iter) if b > 0]
            rng = f"{min(per_round):.1f}-{max(per_round):.1f}" if per_round else "-"
        if diff:
            name, value = max(diff.items(), key=lambda kv: kv[1])
            diff_s = f"{value:.1e} ({name.rstrip('_')})"
        else:
            diff_s = "-"
        sk_t = "error" if sk.error else _fmt_ms(sk.median)
        gm_t = "error" if gm.error else _fmt_ms(gm.median)
        out.append(
            f"| {cfg.name} | {cfg.n:,} | {cfg.d} | {cfg.k} | {cfg.cov} | {x_mb:.0f} "
            f"| {sk_t} | {gm_t} | {ratio} | {rng} "
            f"| {_fmt_mb(sk.memory, 'peak_increase_mb')} | {_fmt_mb(gm.memory, 'peak_increase_mb')} "
            f"| {diff_s} |"
        )
    return out


def detail_lines(rows, iters):
    out = []
    for cfg, res, diff, _ in rows:
        out.append(f"{cfg.name}:")
        for lib in LIBRARIES:
            r = res[lib]
            if r.error:
                out.append(f"  {lib}: ERROR {r.error}")
                continue
            q = np.percentile(r.per_iter, [0, 25, 50, 75, 100]) * 1e3
            out.append(
                f"  {lib}: ms/iter min/q1/median/q3/max = "
                + "/".join(f"{v:.2f}" for v in q)
                + f"; median T1 = {np.median(r.t1):.3f}s, T{1 + iters} = {np.median(r.tm):.3f}s"
            )
            if r.lapses:
                q = np.percentile(r.lapses, [25, 50, 75]) * 1e3
                out.append(
                    f"    cross-check, verbose per-iteration lapses ({len(r.lapses)}): "
                    f"median {q[1]:.2f} ms (q1 {q[0]:.2f}, q3 {q[2]:.2f})"
                )
            if r.memory:
                if "error" in r.memory:
                    out.append(f"    memory: ERROR {r.memory['error']}")
                else:
                    out.append(
                        f"    memory: peak RSS increase {r.memory['peak_increase_mb']:.1f} MB "
                        f"(baseline {r.memory['baseline']}, RSS before fit "
                        f"{r.memory['rss_before_mb']:.0f} MB), tracemalloc peak "
                        f"{r.memory['traced_peak_mb']:.1f} MB"
                        + (f"; warm-started fit (iterations only, no initialisation): "
                           f"+{r.memory['warm_increase_mb']:.1f} MB"
                           if "warm_increase_mb" in r.memory else "")
                    )
        if diff:
            out.append("  rel diff: " + ", ".join(f"{k.rstrip('_')} {v:.1e}" for k, v in diff.items()))
    return out


# ------------------------------------------------------------------------ main
def build_parser():
    p = argparse.ArgumentParser(
        description="Per-iteration time and peak memory: gaussmix vs scikit-learn.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--configs", default=",".join(DEFAULT_CONFIGS),
        help="comma-separated n<samples>_d<features>_k<components>_<cov> names "
             "(default: all six standard configurations)",
    )
    p.add_argument("--repeats", type=int, default=5, help="timing rounds per configuration (median reported)")
    p.add_argument("--iters", type=int, default=5, help="m: iterations differenced per round, T(1+m) - T(1)")
    p.add_argument("--threads", type=int, default=None,
                   help="threadpoolctl.threadpool_limits for BLAS and OpenMP (both libraries)")
    p.add_argument("--method", choices=("em", "variational"), default="em")
    p.add_argument("--prior-type", choices=("dirichlet_process", "dirichlet_distribution"),
                   default="dirichlet_process",
                   help="weight_concentration_prior_type for --method variational")
    p.add_argument("--vb-init", choices=("random", "kmeans", "k-means++", "random_from_data"),
                   default="random", help="init_params for --method variational (same seed for both)")
    p.add_argument("--quick", action="store_true", help="smoke run: n/50 (>= 5,000), 3 repeats, 3 iters")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--rtol", type=float, default=1e-6,
                   help="flag configurations whose parameters differ by more than this")
    p.add_argument("--output", metavar="FILE", help="also write header and table as markdown")
    p.add_argument("--_memory-worker", choices=LIBRARIES, help=argparse.SUPPRESS)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args._memory_worker:
        return memory_worker(args)
    if args.quick:
        if "--repeats" not in sys.argv:
            args.repeats = 3
        if "--iters" not in sys.argv:
            args.iters = 3
    if args.repeats < 1 or args.iters < 1:
        parser.error("--repeats and --iters must be >= 1")
    configs = [parse_config(name.strip(), args.quick) for name in args.configs.split(",") if name.strip()]

    command = shlex.join([sys.executable] + sys.argv)
    started = time.perf_counter()
    header = header_lines(args, command)
    for line in header:
        print(line)
    print(flush=True)

    def log(msg):
        print(msg, flush=True)

    rows = []
    failed = False
    for cfg in configs:
        log(f"== {cfg.name}: n={cfg.n:,} d={cfg.d} k={cfg.k} {cfg.cov} (load average {_loadavg()})")
        with _thread_limits(args.threads):
            X, extra = make_setup(cfg, args.method, args.prior_type, args.vb_init)
            res = time_config(cfg, args.method, extra, X, args.repeats, args.iters, log)
        diff = {}
        if res["sklearn"].est is not None and res["gaussmix"].est is not None:
            diff = compare_params(res["sklearn"].est, res["gaussmix"].est, args.method)
            worst = max(diff.values()) if diff else 0.0
            log(f"  max rel diff of parameters after {1 + args.iters} iterations: {worst:.2e}"
                + ("" if worst <= args.rtol else f"  ** above --rtol {args.rtol:g} **"))
            failed |= not worst <= args.rtol
        x_mb = X.nbytes / 2**20
        for r in res.values():
            r.est = None
        del X, extra
        gc.collect()
        if not args.no_memory:
            for lib in LIBRARIES:
                if res[lib].error:
                    continue
                res[lib].memory = run_memory(lib, cfg, args)
                m = res[lib].memory
                log(f"  memory {lib}: " + (
                    f"ERROR {m['error']}" if "error" in m else
                    f"peak RSS +{m['peak_increase_mb']:.1f} MB, traced peak {m['traced_peak_mb']:.1f} MB"
                ))
        failed |= any(r.error for r in res.values())
        rows.append((cfg, res, diff, x_mb))

    elapsed = time.perf_counter() - started
    table = table_rows(rows)
    details = detail_lines(rows, args.iters)
    footer = (
        f"ms/iter: median over {args.repeats} rounds of (T(max_iter={1 + args.iters}) - "
        f"T(max_iter=1)) / {args.iters}; ratio = sklearn / gaussmix (>1: gaussmix faster); "
        f"ratio range = min-max of per-round ratios; peak MB = peak RSS increase during one "
        f"fit (max_iter={MEMORY_MAX_ITER}) in a fresh process; max rel diff = largest "
        f"max|a-b|/max|b| over the fitted parameters after {1 + args.iters} iterations.\n"
        f"total runtime: {elapsed:.0f} s; load average at end (1/5/15 min): {_loadavg()}"
    )
    print()
    print("\n".join(table))
    print()
    print("\n".join(details))
    print()
    print(footer)
    if args.output:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w") as fh:
            fh.write("# gaussmix vs scikit-learn: per-iteration time and peak memory\n\n")
            fh.write("```\n" + "\n".join(header) + "\n```\n\n")
            fh.write("\n".join(table) + "\n\n")
            fh.write(footer.replace("\n", "\n\n") + "\n\n")
            fh.write("Details:\n\n```\n" + "\n".join(details) + "\n```\n")
        print(f"wrote {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
