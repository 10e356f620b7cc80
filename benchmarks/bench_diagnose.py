"""What a convergence report costs, relative to the fit it reports on.

The diagnostics issue's target: ``diagnose(X)`` at default settings costs at most 3x
the fit, on n=20000, d=4, k=2, n_init=4.  Each round fits and diagnoses in a fresh
subprocess-free loop (imports are warmed up first, so their one-time cost is not
counted), and the ratio of medians is reported for EM and variational fits, on
well-separated and on overlapping clusters.

    python benchmarks/bench_diagnose.py [--repeats 5] [--threads N]
"""

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits


def _data(kind, n=20000, d=4, seed=0):
    rng = np.random.default_rng(seed)
    shift = 6.0 if kind == "separated" else 1.0
    half = n // 2
    return np.vstack([rng.normal(0.0, 1.0, (half, d)), rng.normal(shift, 1.0, (n - half, d))])


def _time(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        import gaussmix
    except ImportError:
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
        import gaussmix
    from gaussmix import GaussianMixture

    warnings.simplefilter("ignore")
    limits = threadpool_limits(args.threads) if args.threads else None
    blas = [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
            for i in threadpool_info() if i["user_api"] == "blas"]
    print(f"gaussmix {gaussmix.__version__} at {os.path.dirname(gaussmix.__file__)}")
    print(f"numpy {np.__version__}; BLAS {', '.join(blas)}; cpus {os.cpu_count()}; "
          f"threads {args.threads or 'default'}; repeats {args.repeats} (medians)")
    # Warm up the lazy imports (xarray, arviz) so that they are not timed.
    X0 = _data("separated", n=500)
    GaussianMixture(2, method="variational", random_state=0).fit(X0).diagnose(X0)
    print("\n| data | method | fit s | diagnose(X) s | ratio | target |")
    print("|---|---|---|---|---|---|")
    for kind in ("separated", "overlapping"):
        X = _data(kind)
        for method in ("em", "variational"):
            fits, reports = [], []
            for r in range(args.repeats):
                t_fit, gm = _time(lambda: GaussianMixture(
                    2, method=method, n_init=4, random_state=r).fit(X))
                t_diag, _ = _time(lambda: gm.diagnose(X))
                fits.append(t_fit)
                reports.append(t_diag)
            fit, diag = statistics.median(fits), statistics.median(reports)
            ratio = diag / fit
            print(f"| {kind} | {method} | {fit:.3f} | {diag:.3f} | {ratio:.2f} | "
                  f"{'<= 3: met' if ratio <= 3 else '<= 3: MISSED'} |")
    if limits is not None:
        limits.restore_original_limits()
    return 0


if __name__ == "__main__":
    sys.exit(main())
