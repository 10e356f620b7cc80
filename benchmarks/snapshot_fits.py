"""Snapshot fitted models, to show a refactor changes no bit of any result.

    python benchmarks/snapshot_fits.py save before.pkl     # on the old code
    python benchmarks/snapshot_fits.py save after.pkl      # on the new code
    python benchmarks/snapshot_fits.py compare before.pkl after.pkl

Covers EM, MAP EM and variational Bayes, the four covariance types, float32 and
float64, with and without sample weights, n_init=2, and warm starts.  ``compare``
exits 1 unless every array and scalar is identical (same dtype, same bits).
"""

import pickle
import sys
import warnings

import numpy as np


def _fits():
    from gaussmix import GaussianMixture

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-3, 1, (700, 3)), rng.normal(2, 0.5, (600, 3)),
                   rng.normal([0, 5, 0], 1, (500, 3))])
    w = rng.integers(0, 3, X.shape[0]).astype(float)
    out = {}
    warnings.simplefilter("ignore")
    for method in ("em", "variational"):
        for cov in ("full", "tied", "diag", "spherical"):
            for extra in ({}, {"mean_precision_prior": 0.5}):
                if method == "variational" and extra:
                    continue
                for dtype in (np.float64, np.float32):
                    for sw in (None, w):
                        gm = GaussianMixture(3, covariance_type=cov, method=method, n_init=2,
                                             random_state=1, max_iter=40, **extra)
                        gm.fit(X.astype(dtype), sample_weight=sw)
                        key = (method, cov, bool(extra), dtype.__name__, sw is None)
                        out[key] = (gm.means_, gm.covariances_, gm.weights_, gm.lower_bound_,
                                    list(gm.lower_bounds_), gm.n_iter_, gm.converged_,
                                    [r.lower_bound for r in gm.restarts_])
                        if "working_memory" in gm.get_params():  # per-row outputs in blocks
                            gm.set_params(working_memory=0.001)
                        Xd = X.astype(dtype)
                        out[key + ("rows",)] = (gm.predict(Xd), gm.predict_proba(Xd),
                                                gm.score_samples(Xd), gm.score(Xd))
            gm = GaussianMixture(3, covariance_type=cov, method=method, warm_start=True,
                                 max_iter=5, random_state=0).fit(X)
            gm.fit(X)
            out[(method, cov, "warm")] = (gm.means_, gm.lower_bound_, gm.n_iter_)
    return out


def _compare(a, b):
    if a.keys() != b.keys():
        print("different configurations")
        return 1
    differences = 0
    for key in a:
        for x, y in zip(a[key], b[key]):
            same = (x.dtype == y.dtype and np.array_equal(x, y)) if isinstance(x, np.ndarray) \
                else x == y
            if not same:
                differences += 1
                print("differs:", key)
    print(f"{len(a)} configurations, {differences} differences")
    return 1 if differences else 0


def main(argv):
    if argv[:1] == ["save"] and len(argv) == 2:
        with open(argv[1], "wb") as fh:
            pickle.dump(_fits(), fh)
        return 0
    if argv[:1] == ["compare"] and len(argv) == 3:
        with open(argv[1], "rb") as fa, open(argv[2], "rb") as fb:
            return _compare(pickle.load(fa), pickle.load(fb))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
