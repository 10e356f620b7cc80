"""Fit a few fixed models with the installed gaussmix, and compare two such runs.

    python wheels/compare_fits.py fit OUT.npz       # in one environment (e.g. OpenMP)
    python wheels/compare_fits.py compare A.npz B.npz

Used by wheels/build_and_test.sh to check that a serial build (GAUSSMIX_NO_OPENMP=1)
gives the same models as the OpenMP build: the kernels reduce thread-local statistics
in a different order, so the two agree to rounding, not bit for bit.
"""

import sys

import numpy as np

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def _data():
    rng = np.random.default_rng(12345)
    # 3 blobs in 3-d, 9000 rows: 35 chunks of 256 rows, enough that the kernels split
    # the pass over two threads (they keep small data on one thread).
    centers = np.array([[-6.0, 0.0, 2.0], [0.0, 5.0, -1.0], [7.0, -3.0, 0.5]])
    scales = np.array([1.0, 0.6, 1.5])
    X = np.vstack([rng.normal(c, s, size=(3000, 3)) for c, s in zip(centers, scales)])
    weights = rng.integers(1, 4, size=X.shape[0]).astype(float)
    return X, weights


def fit(out):
    import gaussmix
    from gaussmix import _kernel

    X, weights = _data()
    results = {}
    for cov in COVARIANCE_TYPES:
        for weighted in (False, True):
            gm = gaussmix.GaussianMixture(
                n_components=3, covariance_type=cov, tol=1e-10, max_iter=500, random_state=0
            ).fit(X, sample_weight=weights if weighted else None)
            key = f"{cov}_{'w' if weighted else 'u'}"
            order = np.argsort(gm.means_[:, 0])  # label order is arbitrary; sort it
            results[f"{key}_means"] = gm.means_[order]
            results[f"{key}_weights"] = gm.weights_[order]
            results[f"{key}_lower_bound"] = np.array(gm.lower_bound_)
            results[f"{key}_score"] = np.array(gm.score(X))
            results[f"{key}_labels"] = np.argsort(order)[gm.predict(X)]
    np.savez(out, **results)
    print(f"compare_fits: {len(COVARIANCE_TYPES) * 2} fits written to {out} "
          f"(gaussmix {gaussmix.__version__}, OpenMP {_kernel.OPENMP_ENABLED}, "
          f"{_kernel.openmp_max_threads()} thread(s))")


def compare(a_path, b_path, rtol=1e-7, atol=1e-9):
    a, b = np.load(a_path), np.load(b_path)
    assert sorted(a.files) == sorted(b.files), "different fits"
    worst, failed = 0.0, []
    for name in sorted(a.files):
        x, y = a[name], b[name]
        if name.endswith("_labels"):
            if not np.array_equal(x, y):
                failed.append(f"{name}: {np.sum(x != y)} labels differ")
            continue
        diff = float(np.max(np.abs(x - y) / (atol + rtol * np.abs(y))))
        worst = max(worst, float(np.max(np.abs(x - y))))
        if diff > 1:
            failed.append(f"{name}: max abs diff {np.max(np.abs(x - y)):.3g}")
    for line in failed:
        print(f"compare_fits: MISMATCH {line}")
    print(f"compare_fits: {len(a.files)} arrays compared, largest absolute difference "
          f"{worst:.3g} (rtol={rtol}, atol={atol})")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "fit":
        fit(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
