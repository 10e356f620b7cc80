#!/usr/bin/env python
"""ms per EM iteration: gaussmix vs Intel oneDAL (``daal4py.em_gmm``) vs scikit-learn.

The measurement behind issue 11 ("the kernel at the hardware limit").  One process
times the three libraries side by side, from the same start, on the same data::

    cd /work/main && PYTHONPATH=src:. python benchmarks/bench_kernel.py --output benchmarks/results/kernel.md
    python benchmarks/bench_kernel.py --quick --repeats 2          # smoke run (n/50)
    python benchmarks/bench_kernel.py --configs n2e5_d16_k10_full --dtypes float32 \\
        --data overlap --threads 2
    python benchmarks/bench_kernel.py --libs onedal,gaussmix       # skip scikit-learn (the slow part)

``daal4py`` comes with ``pip install scikit-learn-intelex`` (the ``bench`` extra).
Without it the oneDAL column shows ``-``.

Grid
----
* configurations ``n<samples>_d<features>_k<components>_<cov>`` (``--configs``; any such
  name works): n1e6_d2_k5_full, n2e5_d16_k10_full, n2e5_d16_k10_diag,
  n1e5_d64_k16_full, n2e4_d128_k8_full (all three libraries), and n2e5_d16_k10_tied,
  n2e5_d16_k10_spherical (gaussmix only -- oneDAL has only full and diagonal
  covariances; they are compared with gaussmix ``diag`` at the same n, d, k, and
  scikit-learn fits them once, untimed, for the agreement check).  A tied/spherical
  configuration brings its diag sibling along.
* ``--dtypes float64,float32``: X is passed in that dtype.  gaussmix computes in the
  dtype of X, oneDAL gets ``fptype='double'|'float'``, scikit-learn keeps float32 X
  (its parameters are float64).
* ``--data separated,overlap``: ``separated`` is ``bench_em.make_data`` (centres >= 8
  apart, >= ~5 standard deviations); most (row, component) responsibilities are 0, so
  a kernel can skip ``exp`` calls and zero rows.  ``overlap`` (:func:`make_overlap_data`)
  puts the centres ~1.5 within-cluster standard deviations apart and gives all
  components nearly the same covariance, so every row has a non-negligible
  responsibility in two or more components.  The table's ``overlap`` column is the
  fraction of rows (first 50,000) with responsibility > 1e-3 in >= 2 components, at
  the start and after the timed iterations (gaussmix's fitted model); it should be
  ~1 for ``overlap`` and small for ``separated``.
* ``--threads 1,2``: ``threadpoolctl.threadpool_limits(t)`` (BLAS and OpenMP: scikit-learn's
  BLAS, gaussmix's OpenMP team) and ``daal4py.daalinit(t)`` (oneDAL runs on TBB, which
  threadpoolctl does not limit).  ``daal4py.num_threads()`` is read back, and the
  details show each library's CPU time / wall time over the differenced iterations
  (``time.process_time`` counts all threads of the process), so a library that ignores
  the limit shows up as a utilisation above t.

Same start
----------
``bench_em.make_init``: uniform weights, perturbed true means, precision 0.8 I.
scikit-learn and gaussmix get ``weights_init`` / ``means_init`` / ``precisions_init``;
oneDAL gets ``compute(X, weights (1, k), means (k, d), [covariance_j])`` with the inverse
precisions (``(d, d)`` blocks, or ``(1, d)`` rows for ``covarianceStorage='diagonal'``), in
the dtype of X.  None of them runs k-means or ``em_gmm_init``.  ``reg_covar`` defaults to
0 here (``--reg-covar``): oneDAL adds nothing to the covariance diagonal (its
``regularizationFactor`` only acts when a Cholesky factorisation fails), so with 0 all
three compute the same iterates, and the agreement check sees rounding only.

oneDAL's loop (``em_gmm_dense_default_batch_impl.i``)::

    diff = 2 * threshold + 1
    while diff > threshold and iterations < maxIterations:
        E-step with the current parameters (log-likelihood L), M-step
        if iterations > 0: diff = L - L_previous        # signed, not |L - L_previous|
        iterations += 1

So each counted iteration is one E-step + one M-step, as in scikit-learn and gaussmix
(``maxIterations = max_iter``), but ``accuracyThreshold=0`` still stops as soon as the
log-likelihood fails to increase (``diff <= 0``): at convergence, or from rounding of the
float32 objective, after as few as 3-4 iterations on well-separated data.
``result.nIterations`` says how many ran.

Per-iteration time
------------------
For each library, per round: T1 = wall time of a fit/compute with ``max_iter=1``, Tm
with ``max_iter=1+m`` (``tol=0`` / ``accuracyThreshold=0``), and the iteration counts the
library reports (``n_iter_``, ``nIterations``)::

    t_iter = (Tm - T1) / (iterations(Tm) - iterations(T1))

Everything done once per call (validation, conversion of the inputs, building
attributes, scikit-learn's final E-step) cancels.  If oneDAL stopped early, the
denominator is what it really ran (shown in the ``iters`` column as T1/Tm counts); if
it ran no extra iteration at all the cell is ``-``.  One warm-up call per library, then
``--repeats`` rounds; the library order alternates between rounds.  Cells show the median
over rounds and the min-max range; ratios are ratios of medians with the min-max of
the per-round ratios.

Agreement
---------
After the rounds, the last Tm results are compared: ``max over {weights, means,
covariances} of max|a - b| / max|b|``, gaussmix against scikit-learn (both ran 1+m
iterations) and against oneDAL (gaussmix is refitted untimed with ``max_iter`` =
oneDAL's ``nIterations`` when those differ).  Expect ~1e-12 or less in float64, ~1e-4
in float32 (different accumulation orders).  A value above ``--rtol`` (float64) or
``--rtol32`` (float32) is flagged with ``**`` and makes the exit status 1; an O(1)
difference means the libraries did not compute the same thing (wrong start, wrong
covariance layout, different iteration counts).

Tables
------
1. main: config, dtype, data, threads, ms/iter of each library, oneDAL / gaussmix
   (issue 11's target: >= 2), iterations, agreement, overlap fraction;
2. thread scaling: 1 -> t thread speed-up of every library (target for gaussmix: >= 1.8x
   for n >= 1e5);
3. gaussmix tied and spherical against diag at the same n, d, k (target: diag / tied
   and diag / spherical >= 1);
4. ``method="variational"`` (``--no-variational`` skips it): gaussmix
   ``GaussianMixture(method="variational")`` against ``BayesianGaussianMixture`` with
   ``bench_em``'s setup (explicit default priors, ``init_params="random"``, same seed),
   one row per configuration, dtype and data at the largest ``--threads``, next to the
   EM ratio scikit-learn / gaussmix of the same cell (target: VB ratio >= EM ratio).

The header prints the command, date, git describe, CPU model and ISA flags, the BLAS
and OpenMP runtimes (``threadpoolctl.threadpool_info()``), oneDAL's version and thread
count, the load average, and gaussmix's kernel variant (``gaussmix._kernel.KERNEL_VARIANT``
or a "variant" line of ``gaussmix.show_versions()``; ``n/a`` if neither exists).

The machine must be otherwise idle for meaningful numbers; the load average at the start
of each cell is logged.
"""

import argparse
import contextlib
import gc
import io
import math
import os
import platform
import shlex
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_em  # noqa: E402  (imports gaussmix, with bench_em's src/ fallback)
from bench_em import _cpu_model, _fmt_ms, _gmmcore_info, _loadavg, make_data, make_init, parse_config  # noqa: E402

import gaussmix  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
import threadpoolctl  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGaussianMixture  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

try:
    import daal4py as d4p
except ImportError as exc:  # the column shows "-"
    d4p = None
    D4P_ERROR = f"{type(exc).__name__}: {exc}"
else:
    D4P_ERROR = None

DEFAULT_CONFIGS = (
    "n1e6_d2_k5_full",
    "n2e5_d16_k10_full",
    "n2e5_d16_k10_diag",
    "n1e5_d64_k16_full",
    "n2e4_d128_k8_full",
    "n2e5_d16_k10_tied",
    "n2e5_d16_k10_spherical",
)
LIBRARIES = ("sklearn", "onedal", "gaussmix")
ONEDAL_COVS = {"full": "full", "diag": "diagonal"}
DTYPES = {"float64": np.float64, "float32": np.float32}
DATA_KINDS = ("separated", "overlap")
SEED = bench_em.SEED
OVERLAP_ROWS = 50_000
OVERLAP_R = 1e-3


# ------------------------------------------------------------------------ data
def make_overlap_data(cfg, seed=SEED, chunk=65_536, delta=1.0, spread=0.05):
    """Overlapping clusters, float64, filled chunk by chunk.

    All components share the axes Q and scales s in [0.5, 1.5] of one covariance
    A A^T (A = Q diag(s)), each scale perturbed by at most 10 %, so no component is
    told apart by its shape alone (which, summed over d = 128 coordinates, would
    separate them as well as distant means do).  The centres are A w_j with w_j ~
    N(0, I delta^2 / (2 d)): pairwise ~delta whitened standard deviations apart.
    """
    rng = np.random.default_rng(seed + 100)
    n, d, k = cfg.n, cfg.d, cfg.k
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = rng.uniform(0.5, 1.5, d)
    factors = np.stack([q * (s * rng.uniform(1 - spread, 1 + spread, d)) for _ in range(k)])
    w = rng.standard_normal((k, d)) * (delta / math.sqrt(2.0 * d))
    centers = w @ (q * s).T
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


def build_data(cfg, kind):
    return make_data(cfg) if kind == "separated" else make_overlap_data(cfg)


def build_init(cfg, kind, centers, delta=1.0):
    """``bench_em.make_init``; for ``overlap`` the means are perturbed on the scale of the
    centre spacing (delta / sqrt(2 d) per coordinate, half of it) instead of by N(0, 0.5^2),
    which at d = 128 would put the start means further apart than the true ones."""
    init = make_init(cfg, centers)
    if kind == "overlap":
        rng = np.random.default_rng(SEED + 2)
        scale = 0.5 * delta / math.sqrt(2.0 * cfg.d)
        init["means_init"] = centers + rng.normal(0.0, scale, centers.shape)
    return init


def _frac_multi(log_resp_unnorm):
    """Fraction of rows with responsibility > OVERLAP_R in >= 2 components."""
    a = log_resp_unnorm - log_resp_unnorm.max(axis=1, keepdims=True)
    r = np.exp(a)
    r /= r.sum(axis=1, keepdims=True)
    return float(np.mean((r > OVERLAP_R).sum(axis=1) >= 2))


def overlap_at_start(X, init):
    """The fraction under the common start (isotropic precision p I for every type)."""
    x = np.asarray(X[:OVERLAP_ROWS], dtype=np.float64)
    m = init["means_init"]
    p = float(np.ravel(init["precisions_init"])[0])
    sq = (x * x).sum(1)[:, None] - 2.0 * x @ m.T + (m * m).sum(1)[None, :]
    return _frac_multi(np.log(init["weights_init"])[None, :] - 0.5 * p * sq)


def overlap_fitted(est, X):
    return _frac_multi(np.log(np.maximum(est.predict_proba(X[:OVERLAP_ROWS]), 1e-300)))


# --------------------------------------------------------------------- runners
@dataclass
class Call:
    wall: float
    cpu: float
    n_iter: int
    params: dict
    est: object = None


def _params(weights, means, covariances):
    return {"weights": np.asarray(weights, dtype=np.float64).ravel(),
            "means": np.asarray(means, dtype=np.float64),
            "covariances": np.asarray(covariances, dtype=np.float64)}


class Setup:
    """Data, start and estimator factories of one (config, data kind, dtype) cell."""

    def __init__(self, cfg, X, init, reg_covar):
        self.cfg, self.X, self.init, self.reg_covar = cfg, X, init, reg_covar
        self.dtype = X.dtype
        if cfg.cov in ONEDAL_COVS:
            prec = init["precisions_init"]
            if cfg.cov == "full":
                covs = [np.ascontiguousarray(np.linalg.inv(p), dtype=self.dtype) for p in prec]
            else:
                covs = [np.ascontiguousarray((1.0 / p)[None, :], dtype=self.dtype) for p in prec]
            self.onedal_inputs = (
                np.ascontiguousarray(init["weights_init"][None, :], dtype=self.dtype),
                np.ascontiguousarray(init["means_init"], dtype=self.dtype),
                covs,
            )

    def estimator(self, lib, max_iter):
        common = dict(n_components=self.cfg.k, covariance_type=self.cfg.cov, tol=0.0,
                      reg_covar=self.reg_covar, max_iter=max_iter, random_state=SEED,
                      **self.init)
        if lib == "sklearn":
            return SkGaussianMixture(**common)
        return gaussmix.GaussianMixture(method="em", **common)

    def run(self, lib, max_iter):
        gc.collect()
        if lib == "onedal":
            algo = d4p.em_gmm(
                nComponents=self.cfg.k, maxIterations=max_iter, accuracyThreshold=0.0,
                covarianceStorage=ONEDAL_COVS[self.cfg.cov],
                fptype="float" if self.dtype == np.float32 else "double",
                method="defaultDense",
            )
            c0, t0 = time.process_time(), time.perf_counter()
            res = algo.compute(self.X, *self.onedal_inputs)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            covs = np.asarray(res.covariances)
            covs = covs.reshape((self.cfg.k, self.cfg.d) if self.cfg.cov == "diag"
                                else (self.cfg.k, self.cfg.d, self.cfg.d))
            return Call(wall, cpu, int(np.ravel(res.nIterations)[0]),
                        _params(res.weights, res.means, covs))
        est = self.estimator(lib, max_iter)
        c0, t0 = time.process_time(), time.perf_counter()
        est.fit(self.X)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return Call(wall, cpu, int(est.n_iter_),
                    _params(est.weights_, est.means_, est.covariances_), est)


class VBSetup:
    """``bench_em``'s variational setup: explicit default priors, init_params='random'."""

    def __init__(self, cfg, X, X64, prior_type):
        self.cfg, self.X = cfg, X
        self.extra = bench_em.make_priors(cfg, X64, prior_type)
        self.extra.update(init_params="random", random_state=SEED)

    def run(self, lib, max_iter):
        est = bench_em.estimator(lib, self.cfg, "variational", self.extra, max_iter)
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        est.fit(self.X)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return Call(wall, cpu, int(est.n_iter_),
                    _params(est.weights_, est.means_, est.covariances_), est)


@dataclass
class LibTiming:
    per_iter: list = field(default_factory=list)   # seconds, per round (nan if no extra iteration)
    iters: list = field(default_factory=list)      # (n_iter of T1, n_iter of Tm) per round
    cpu: list = field(default_factory=list)        # CPU seconds of the differenced part, per round
    wall: list = field(default_factory=list)       # wall seconds of the differenced part, per round
    last: Call = None
    error: str = None

    @property
    def valid(self):
        return [v for v in self.per_iter if math.isfinite(v)]

    @property
    def utilisation(self):
        """CPU time / wall time summed over the rounds' differenced iterations."""
        wall = sum(self.wall)
        return sum(self.cpu) / wall if wall > 0 else math.nan

    @property
    def median(self):
        v = self.valid
        return float(np.median(v)) if v else math.nan


def time_libs(setup, libs, repeats, iters, log):
    out = {lib: LibTiming() for lib in libs}
    for lib in libs:  # warm-up
        try:
            setup.run(lib, 2)
        except Exception as exc:
            out[lib].error = f"{type(exc).__name__}: {exc}"
            log(f"    {lib}: ERROR {out[lib].error}")
    live = [lib for lib in libs if out[lib].error is None]
    for r in range(repeats):
        for lib in (live if r % 2 == 0 else live[::-1]):
            res = out[lib]
            c1 = setup.run(lib, 1)
            cm = setup.run(lib, 1 + iters)
            dn = cm.n_iter - c1.n_iter
            dt = cm.wall - c1.wall
            res.per_iter.append(dt / dn if dn > 0 else math.nan)
            res.iters.append((c1.n_iter, cm.n_iter))
            res.cpu.append(cm.cpu - c1.cpu)
            res.wall.append(dt)
            res.last = cm
        log("    round %d/%d: " % (r + 1, repeats) + ", ".join(
            f"{lib} {out[lib].per_iter[-1] * 1e3:.2f} ms/iter "
            f"(iters {out[lib].iters[-1][0]}/{out[lib].iters[-1][1]})" for lib in live))
    return out


def rel_diff(a, b):
    """max over the parameters of max|a - b| / max|b| (inf on a shape mismatch)."""
    worst, name = 0.0, None
    for key in ("weights", "means", "covariances"):
        x, y = a[key], b[key]
        if x.shape != y.shape:
            return math.inf, key
        scale = float(np.max(np.abs(y)))
        v = float(np.max(np.abs(x - y))) / scale if scale > 0 else float(np.max(np.abs(x - y)))
        if not v <= worst:  # also catches nan
            worst, name = v, key
    return worst, name


# ---------------------------------------------------------------------- header
def _git(path, *args):
    try:
        return subprocess.run(["git", "-C", path, *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    have = set(line.split(":", 1)[1].split())
                    break
            else:
                return "?"
    except OSError:
        return "?"
    wanted = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl",
              "avx512_vnni", "avx512_bf16", "asimd", "sve")
    found = [f for f in wanted if f in have]
    return " ".join(found) + ("; AVX-512: yes" if "avx512f" in have else "; AVX-512: no")


def kernel_variant():
    try:
        from gaussmix import _kernel
    except Exception as exc:  # being rebuilt?
        return f"n/a ({type(exc).__name__})"
    for name in ("KERNEL_VARIANT", "VARIANT", "kernel_variant"):
        value = getattr(_kernel, name, None)
        if value is not None:
            try:
                return str(value() if callable(value) else value)
            except Exception as exc:
                return f"? ({type(exc).__name__}: {exc})"
    buf = io.StringIO()
    try:
        gaussmix.show_versions(file=buf)
    except Exception:
        return "n/a"
    for line in buf.getvalue().splitlines():
        if "variant" in line.lower():
            return line.strip()
    return "n/a"


def _onedal_version():
    if d4p is None:
        return f"not available ({D4P_ERROR})"
    try:
        from importlib.metadata import version
        sklex = version("scikit-learn-intelex")
    except Exception:
        sklex = "?"
    try:  # a string such as "(2026, 2, 0, '\"P\"')"
        import ast
        v = d4p._get__version__()
        v = ast.literal_eval(v) if isinstance(v, str) else v
        core = ".".join(str(x) for x in v[:3])
    except Exception:
        core = "?"
    return f"daal4py / scikit-learn-intelex {sklex} (oneDAL {core}), default threads {d4p.num_threads()}"


def header_lines(args, command):
    gm_dir = os.path.dirname(os.path.abspath(gaussmix.__file__))
    describe = _git(gm_dir, "describe", "--always", "--dirty", "--tags")
    lines = [
        f"command: cd {shlex.quote(os.getcwd())} && "
        + "".join(f"{k}={shlex.quote(os.environ[k])} " for k in
                  ("PYTHONPATH", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE")
                  if k in os.environ) + command,
        f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"git describe: {describe or '?'}",
        f"load average at start (1/5/15 min): {_loadavg()}",
        f"CPU: {_cpu_model()}, {os.cpu_count()} logical CPUs; flags: {_cpu_flags()}",
        f"system: {platform.system()} {platform.release()}, python {platform.python_version()}",
        f"versions: numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn "
        f"{sklearn.__version__}, gaussmix {gaussmix.__version__}, threadpoolctl "
        f"{threadpoolctl.__version__}",
        f"oneDAL: {_onedal_version()}",
        f"gaussmix from: {gm_dir}; {_gmmcore_info()}",
        f"gaussmix kernel variant: {kernel_variant()}",
        f"grid: threads {args.threads}; dtypes {','.join(args.dtypes)}; data {','.join(args.data)}; "
        f"libs {','.join(args.libs)}; repeats {args.repeats}; iters (m) {args.iters}; "
        f"reg_covar {args.reg_covar:g}; seed {SEED}" + ("; QUICK (n/50)" if args.quick else ""),
    ]
    for lib in threadpool_info():
        lines.append(
            f"{lib['user_api']}: {lib['internal_api']} {lib.get('version') or ''} "
            f"threading={lib.get('threading_layer', '-')} arch={lib.get('architecture', '-')} "
            f"num_threads={lib['num_threads']} ({lib['filepath']})")
    return lines


# ----------------------------------------------------------------------- cells
def _ms(res):
    if res is None or res.error:
        return "error" if res is not None else "-"
    v = res.valid
    if not v:
        return "-"

    def plain(x):  # the range may include <= 0 (noise larger than the m iterations)
        return f"{x * 1e3:.3g}"

    return f"{_fmt_ms(float(np.median(v)))} ({plain(min(v))} to {plain(max(v))})"


def _ratio(num, den):
    """Ratio of the medians and min-max of the per-round ratios."""
    if num is None or den is None or num.error or den.error:
        return "-"
    pr = [a / b for a, b in zip(num.per_iter, den.per_iter)
          if math.isfinite(a) and math.isfinite(b) and b > 0 and a > 0]
    if not pr or not (num.median > 0 and den.median > 0):
        return "-"
    return f"{num.median / den.median:.2f}x ({min(pr):.2f}-{max(pr):.2f})"


def _iters(res):
    if res is None or res.error or not res.iters:
        return "-"
    pairs = sorted(set(res.iters))
    return ",".join(f"{a}/{b}" for a, b in pairs)


def _diff(v):
    if v is None:
        return "-"
    value, name, rtol = v
    flag = " **" if not value <= rtol else ""
    return f"{value:.1e}{f' ({name})' if name else ''}{flag}"


# ------------------------------------------------------------------------ main
def build_parser():
    p = argparse.ArgumentParser(
        description="ms per EM iteration: gaussmix vs oneDAL (daal4py.em_gmm) vs scikit-learn.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                   help="comma-separated n<samples>_d<features>_k<components>_<cov> names")
    p.add_argument("--dtypes", default="float64,float32", help="float64,float32 (subset)")
    p.add_argument("--data", default=",".join(DATA_KINDS), help="separated,overlap (subset)")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--libs", default=",".join(LIBRARIES), help="sklearn,onedal,gaussmix (subset)")
    p.add_argument("--repeats", type=int, default=5, help="timing rounds per cell (median reported)")
    p.add_argument("--iters", type=int, default=5, help="m: T(max_iter=1+m) - T(max_iter=1)")
    p.add_argument("--reg-covar", type=float, default=0.0,
                   help="reg_covar of scikit-learn and gaussmix (oneDAL has none; default 0)")
    p.add_argument("--no-variational", action="store_true",
                   help="skip the method='variational' vs BayesianGaussianMixture table")
    p.add_argument("--prior-type", choices=("dirichlet_process", "dirichlet_distribution"),
                   default="dirichlet_process", help="variational weight_concentration_prior_type")
    p.add_argument("--quick", action="store_true", help="smoke run: n/50 (>= 5,000)")
    p.add_argument("--rtol", type=float, default=1e-6, help="agreement flag, float64")
    p.add_argument("--rtol32", type=float, default=1e-3, help="agreement flag, float32")
    p.add_argument("--output", metavar="FILE", help="also write header and tables as markdown")
    return p


def _split(value, allowed, what, parser):
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        parser.error(f"--{what}: expected a subset of {','.join(allowed)}, got {value!r}")
    return items


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    args.dtypes = _split(args.dtypes, tuple(DTYPES), "dtypes", parser)
    args.data = _split(args.data, DATA_KINDS, "data", parser)
    args.libs = _split(args.libs, LIBRARIES, "libs", parser)
    try:
        args.threads = sorted({int(t) for t in args.threads.split(",") if t.strip()})
    except ValueError:
        parser.error("--threads: comma-separated integers")
    if not args.threads or min(args.threads) < 1 or args.repeats < 1 or args.iters < 1:
        parser.error("--threads, --repeats and --iters must be >= 1")
    if "onedal" in args.libs and d4p is None:
        print(f"daal4py not importable ({D4P_ERROR}): oneDAL column skipped "
              "(pip install scikit-learn-intelex, or the 'bench' extra)")
        args.libs = [lib for lib in args.libs if lib != "onedal"]

    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    for name in list(names):  # tied/spherical are compared with diag: bring it along
        cfg = parse_config(name)
        if cfg.cov in ("tied", "spherical"):
            sib = name.rsplit("_", 1)[0] + "_diag"
            if sib not in names:
                names.append(sib)
    configs = [parse_config(c, args.quick) for c in names]

    command = shlex.join([sys.executable] + (sys.argv if argv is None else [sys.argv[0], *argv]))
    started = time.perf_counter()
    header = header_lines(args, command)
    print("\n".join(header) + "\n", flush=True)

    def log(msg):
        print(msg, flush=True)

    cells = {}      # (cfg.name, dtype, data, threads) -> {lib: LibTiming}
    diffs = {}      # (cfg.name, dtype, data, threads) -> {"sklearn"|"onedal": (value, name, rtol)}
    overlap = {}    # (cfg.name, dtype, data) -> (start fraction, fitted fraction)
    vb_cells = {}   # (cfg.name, dtype, data) -> {lib: LibTiming}
    vb_diffs = {}
    util_lines = []
    failed = False
    top = max(args.threads)
    for cfg in configs:
        libs = [lib for lib in args.libs
                if lib == "gaussmix" or (cfg.cov in ONEDAL_COVS)]
        for kind in args.data:
            X64, centers = build_data(cfg, kind)
            init = build_init(cfg, kind, centers)
            for dname in args.dtypes:
                X = X64 if dname == "float64" else X64.astype(DTYPES[dname])
                rtol = args.rtol if dname == "float64" else args.rtol32
                setup = Setup(cfg, X, init, args.reg_covar)
                for t in args.threads:
                    key = (cfg.name, dname, kind, t)
                    log(f"== {cfg.name} (n={cfg.n:,}) {dname} {kind} threads={t} "
                        f"(load average {_loadavg()})")
                    with threadpool_limits(limits=t):
                        if d4p is not None:
                            d4p.daalinit(t)
                            if d4p.num_threads() != t:
                                log(f"    WARNING: daal4py.num_threads() = {d4p.num_threads()} "
                                    f"after daalinit({t})")
                        res = time_libs(setup, libs, args.repeats, args.iters, log)
                        cells[key] = res
                        gm = res.get("gaussmix")
                        d = {}
                        if gm is not None and gm.last is not None:
                            if "sklearn" in args.libs and "sklearn" not in libs:
                                # tied/spherical: scikit-learn once, untimed, for the check
                                try:
                                    ref = setup.run("sklearn", 1 + args.iters)
                                except Exception as exc:
                                    ref = None
                                    log(f"    sklearn check fit: ERROR {exc}")
                            else:
                                ref = res["sklearn"].last if "sklearn" in res else None
                            if ref is not None:
                                d["sklearn"] = (*rel_diff(gm.last.params, ref.params), rtol)
                            od = res.get("onedal")
                            if od is not None and od.last is not None:
                                n_od = od.last.n_iter
                                mine = gm.last if gm.last.n_iter == n_od else setup.run("gaussmix", n_od)
                                d["onedal"] = (*rel_diff(mine.params, od.last.params), rtol)
                            if (cfg.name, dname, kind) not in overlap:
                                overlap[(cfg.name, dname, kind)] = (
                                    overlap_at_start(X, init), overlap_fitted(gm.last.est, X))
                        diffs[key] = d
                        for lib, (value, name, _) in d.items():
                            flag = "" if value <= rtol else f"  ** above {rtol:g} **"
                            log(f"    max rel diff gaussmix vs {lib}: {value:.2e} ({name}){flag}")
                            failed |= not value <= rtol
                        for lib in libs:
                            r = res[lib]
                            failed |= r.error is not None
                            if r.wall:
                                u = r.utilisation
                                util_lines.append(
                                    f"{cfg.name} {dname} {kind} threads={t} {lib}: CPU/wall "
                                    f"{u:.2f} over {sum(r.wall):.3f} s"
                                    + (" ** above the thread limit **" if u > t + 0.35 else ""))
                        if (cfg.name, dname, kind) in overlap:
                            s0, s1 = overlap[(cfg.name, dname, kind)]
                            log(f"    rows with r > {OVERLAP_R:g} in >= 2 components: "
                                f"{s0:.3f} at the start, {s1:.3f} after {1 + args.iters} iterations")
                        if (not args.no_variational and t == top
                                and {"sklearn", "gaussmix"} <= set(args.libs)):
                            log("    variational: gaussmix method='variational' vs BayesianGaussianMixture")
                            vb = VBSetup(cfg, X, X64, args.prior_type)
                            vres = time_libs(vb, ["sklearn", "gaussmix"], args.repeats, args.iters, log)
                            vb_cells[(cfg.name, dname, kind)] = vres
                            if vres["sklearn"].last and vres["gaussmix"].last:
                                vd = rel_diff(vres["gaussmix"].last.params, vres["sklearn"].last.params)
                                vb_diffs[(cfg.name, dname, kind)] = (*vd, rtol)
                                log(f"    variational max rel diff: {vd[0]:.2e} ({vd[1]})")
                                failed |= not vd[0] <= rtol
                            failed |= any(r.error for r in vres.values())
                del setup
                if X is not X64:
                    del X
                gc.collect()
            del X64
            gc.collect()
    if d4p is not None:
        d4p.daalinit(os.cpu_count() or 1)

    # ----------------------------------------------------------------- tables
    by_name = {c.name: c for c in configs}
    main_t = ["| config | dtype | data | threads | sklearn ms | oneDAL ms | gaussmix ms "
              "| oneDAL/gaussmix | iters sk / oneDAL / gm | rel diff gm-sk | rel diff gm-oneDAL "
              "| overlap start/fit |",
              "|" + "---|" * 12]
    for key, res in cells.items():
        name, dname, kind, t = key
        if by_name[name].cov not in ONEDAL_COVS:
            continue
        ov = overlap.get((name, dname, kind))
        main_t.append(
            f"| {name} | {dname} | {kind} | {t} | {_ms(res.get('sklearn'))} "
            f"| {_ms(res.get('onedal'))} | {_ms(res.get('gaussmix'))} "
            f"| {_ratio(res.get('onedal'), res.get('gaussmix'))} "
            f"| {_iters(res.get('sklearn'))} / {_iters(res.get('onedal'))} / {_iters(res.get('gaussmix'))} "
            f"| {_diff(diffs[key].get('sklearn'))} | {_diff(diffs[key].get('onedal'))} "
            f"| {f'{ov[0]:.3f}/{ov[1]:.3f}' if ov else '-'} |")

    scale_t = []
    base = min(args.threads)
    if len(args.threads) > 1:
        scale_t = ["| config | dtype | data | threads | gaussmix speed-up | target >= 1.8x (n >= 1e5) "
                   "| oneDAL speed-up | sklearn speed-up |", "|" + "---|" * 8]
        for key, res in cells.items():
            name, dname, kind, t = key
            if t == base or (name, dname, kind, base) not in cells:
                continue
            one = cells[(name, dname, kind, base)]
            cfg = by_name[name]
            sp = {lib: _ratio(one.get(lib), res.get(lib)) for lib in LIBRARIES}
            gm1, gmt = one.get("gaussmix"), res.get("gaussmix")
            target = "-"
            if cfg.n >= 100_000 and gm1 is not None and gmt is not None and gmt.median > 0:
                target = "yes" if gm1.median / gmt.median >= 1.8 else "**no**"
            scale_t.append(f"| {name} | {dname} | {kind} | {base}->{t} | {sp['gaussmix']} | {target} "
                           f"| {sp['onedal']} | {sp['sklearn']} |")

    tied_t = ["| config | dtype | data | threads | gaussmix ms | diag ms | diag / this (target >= 1) "
              "| rel diff gm-sk |", "|" + "---|" * 8]
    for key, res in cells.items():
        name, dname, kind, t = key
        if by_name[name].cov not in ("tied", "spherical"):
            continue
        sib = name.rsplit("_", 1)[0] + "_diag"
        dres = cells.get((sib, dname, kind, t), {}).get("gaussmix")
        tied_t.append(f"| {name} | {dname} | {kind} | {t} | {_ms(res.get('gaussmix'))} | {_ms(dres)} "
                      f"| {_ratio(dres, res.get('gaussmix'))} | {_diff(diffs[key].get('sklearn'))} |")
    if len(tied_t) == 2:
        tied_t = []

    vb_t = []
    if vb_cells:
        vb_t = ["| config | dtype | data | threads | BayesianGM ms | gaussmix VB ms | VB ratio sk/gm "
                "| EM ratio sk/gm | VB ratio >= EM ratio | iters sk / gm | rel diff |", "|" + "---|" * 11]
        for (name, dname, kind), vres in vb_cells.items():
            em = cells.get((name, dname, kind, top), {})
            vr = _ratio(vres["sklearn"], vres["gaussmix"])
            er = _ratio(em.get("sklearn"), em.get("gaussmix"))
            ok = "-"
            if vr != "-" and er != "-":
                ok = "yes" if (vres["sklearn"].median / vres["gaussmix"].median
                               >= em["sklearn"].median / em["gaussmix"].median) else "**no**"
            vb_t.append(f"| {name} | {dname} | {kind} | {top} | {_ms(vres['sklearn'])} "
                        f"| {_ms(vres['gaussmix'])} | {vr} | {er} | {ok} "
                        f"| {_iters(vres['sklearn'])} / {_iters(vres['gaussmix'])} "
                        f"| {_diff(vb_diffs.get((name, dname, kind)))} |")

    elapsed = time.perf_counter() - started
    notes = (
        f"ms: median over {args.repeats} rounds of (T(max_iter={1 + args.iters}) - T(max_iter=1)) / "
        f"(iterations actually run), min-max in brackets. oneDAL/gaussmix: ratio of medians "
        f"(issue 11's target >= 2), min-max of per-round ratios. iters: T1/Tm iteration counts "
        f"as reported (n_iter_, nIterations); oneDAL stops when its log-likelihood stops "
        f"increasing even with accuracyThreshold=0. rel diff: max|a-b|/max|b| over weights, "
        f"means, covariances after the same number of iterations (** above --rtol "
        f"{args.rtol:g} / --rtol32 {args.rtol32:g}). overlap: fraction of rows (first "
        f"{OVERLAP_ROWS:,}) with responsibility > {OVERLAP_R:g} in >= 2 components, at the "
        f"start / under gaussmix's fitted model.\n"
        f"total runtime: {elapsed:.0f} s; load average at end (1/5/15 min): {_loadavg()}"
    )
    sections = [("EM: ms per iteration", main_t),
                (f"Thread scaling ({base} -> t threads, ratio of medians)", scale_t),
                ("gaussmix tied / spherical against diag (same n, d, k, data)", tied_t),
                ("method='variational' vs BayesianGaussianMixture", vb_t)]
    print()
    for title, tab in sections:
        if tab:
            print(f"## {title}\n\n" + "\n".join(tab) + "\n")
    print(notes)
    print("\nCPU time / wall time, summed over the rounds' differenced iterations (threads "
          "actually busy; unreliable when the wall time is tiny):")
    print("\n".join(util_lines))
    if args.output:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w") as fh:
            fh.write("# EM kernel: gaussmix vs oneDAL vs scikit-learn\n\n")
            fh.write("```\n" + "\n".join(header) + "\n```\n\n")
            for title, tab in sections:
                if tab:
                    fh.write(f"## {title}\n\n" + "\n".join(tab) + "\n\n")
            fh.write(notes.replace("\n", "\n\n") + "\n\n")
            fh.write("CPU time / wall time:\n\n```\n" + "\n".join(util_lines) + "\n```\n")
        print(f"wrote {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
