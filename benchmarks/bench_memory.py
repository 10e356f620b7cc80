"""Peak memory of the whole workflow, relative to the data: init, fit, predict, score.

The reliability issue's target: beyond the data itself, a fit (k-means initialisation
included), ``predict``, ``score_samples`` and ``score`` allocate O(chunk x k) plus
what they return, and ``predict_proba`` only the responsibilities it returns.  Each
step runs in a fresh subprocess; the peak is tracemalloc's (NumPy registers its
allocations with it), with the data allocated before tracing starts.

    python benchmarks/bench_memory.py [--n 2000000] [--d 8] [--k 5]
"""

import argparse
import json
import subprocess
import sys

STEP = r"""
import json, sys, tracemalloc, warnings
import numpy as np
from gaussmix import GaussianMixture
n, d, k, step = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.normal(size=(n, d)) + 4.0 * rng.integers(0, k, size=(n, 1))
gm = GaussianMixture(k, max_iter=10, random_state=0)
if step != "fit":
    gm.fit(X)
tracemalloc.start()
if step == "fit":
    gm.fit(X)
else:
    out = getattr(gm, step)(X)
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"peak": peak, "data": X.nbytes}))
"""

OUTPUT_BYTES = {"fit": 0, "predict": 8, "score_samples": 8, "score": 0}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--d", type=int, default=8)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"n={args.n} d={args.d} k={args.k} float64; init_params='kmeans' (default "
          "init_max_samples); max_iter=10")
    print("\n| step | peak MiB | data MiB | peak / data | returned MiB | peak beyond output / data |")
    print("|---|---|---|---|---|---|")
    for step in ("fit", "predict", "score_samples", "score", "predict_proba"):
        result = subprocess.run([sys.executable, "-c", STEP, str(args.n), str(args.d),
                                 str(args.k), step], capture_output=True, text=True, check=True)
        m = json.loads(result.stdout.strip().splitlines()[-1])
        per_row = 8 * args.k if step == "predict_proba" else OUTPUT_BYTES[step]
        out = per_row * args.n
        mib = 2**20
        print(f"| {step} | {m['peak'] / mib:.1f} | {m['data'] / mib:.1f} | "
              f"{m['peak'] / m['data']:.2f} | {out / mib:.1f} | "
              f"{(m['peak'] - out) / m['data']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
