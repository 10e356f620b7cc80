"""Command line: ``python -m gaussmix demo``.

Fits a Gaussian mixture to the bundled Old Faithful data and prints the fitted model,
how the fit converged and its diagnostics report; ``--plot PATH`` also writes the
diagnostic plots (objective per restart, weights) to a PNG when matplotlib is installed.
"""

import argparse
import sys

import numpy as np

from . import GaussianMixture, __version__
from .datasets import load_faithful


def demo(n_components=3, covariance_type="full", n_init=10, seed=0, out=sys.stdout, plot=None):
    """Fit Old Faithful; print the model, its convergence, diagnostics and a BIC comparison.

    ``plot``: path of a PNG for :meth:`GaussianMixture.plot_diagnostics` (skipped, with a
    message, when matplotlib is missing).
    """
    X, names = load_faithful()
    print(f"gaussmix {__version__}: Old Faithful, {X.shape[0]} eruptions x "
          f"{X.shape[1]} features ({', '.join(names)})", file=out)
    gm = GaussianMixture(
        n_components, covariance_type=covariance_type, n_init=n_init, tol=1e-8,
        max_iter=1000, random_state=seed,
    ).fit(X)
    print(f"\nGaussianMixture(n_components={n_components}, covariance_type="
          f"{covariance_type!r}), best of n_init={n_init}", file=out)
    order = np.argsort(gm.means_[:, 0])
    for j in order:
        sd = np.sqrt(np.diag(_component_cov(gm, j)))
        print(f"  component {j}: weight {gm.weights_[j]:.3f}  mean "
              f"[{', '.join(f'{m:8.3f}' for m in gm.means_[j])}]  sd "
              f"[{', '.join(f'{s:6.3f}' for s in sd)}]", file=out)
    print("\nconvergence", file=out)
    print(f"  converged: {gm.converged_} after {gm.n_iter_} iterations (tol=1e-8)", file=out)
    print(f"  mean log-likelihood per sample: {gm.lower_bound_:.6f}", file=out)
    print(f"  total log-likelihood: {gm.score(X) * X.shape[0]:.4f}", file=out)
    trace = np.asarray(gm.lower_bounds_)
    steps = np.diff(trace)
    print(f"  objective monotone: {bool(np.all(steps >= -1e-10))} "
          f"(largest decrease {max(0.0, -steps.min()) if steps.size else 0.0:.2e})", file=out)
    shown = trace[:: max(1, len(trace) // 8)]
    print("  trace: " + "  ".join(f"{v:.5f}" for v in shown), file=out)
    print(f"\ndiagnostics over the n_init={n_init} restarts", file=out)
    print(gm.diagnose(X), file=out)
    if plot is not None:
        try:
            path = gm.plot_diagnostics(plot)
        except ImportError as exc:
            print(f"\nno plot: {exc}", file=out)
        else:
            print(f"\ndiagnostic plots written to {path}", file=out)
    print("\nmodel selection (BIC, lower is better)", file=out)
    for k in range(1, 6):
        bic = GaussianMixture(k, covariance_type=covariance_type, n_init=n_init,
                              random_state=seed).fit(X).bic(X)
        print(f"  n_components={k}: {bic:10.2f}", file=out)
    return gm


def _component_cov(gm, j):
    """Covariance matrix of component j whatever the covariance type."""
    cov = gm._covariance
    canonical = cov.from_public(np.asarray(gm.covariances_, dtype=float), gm.means_.shape[1])
    block = canonical[cov.factor_index(j)]
    return block if block.ndim == 2 else np.diag(block)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="gaussmix", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="fit Old Faithful and print the model and its convergence")
    p.add_argument("--n-components", type=int, default=3)
    p.add_argument("--covariance-type", default="full",
                   choices=["full", "tied", "diag", "spherical"])
    p.add_argument("--n-init", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="PATH", default=None,
                   help="also write the diagnostic plots to this PNG (needs matplotlib)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.n_components, args.covariance_type, args.n_init, args.seed, plot=args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
