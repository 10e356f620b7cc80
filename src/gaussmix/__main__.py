"""Command line: ``python -m gaussmix demo``.

Chooses a Gaussian mixture for the bundled Old Faithful data by BIC, fits it, and
prints the chosen model and its diagnostics report; ``--plot PATH`` also saves the
diagnostics figure (restarts' objectives and weights) when matplotlib is installed.
"""

import argparse
import sys

import numpy as np

from . import GaussianMixture, __version__
from .datasets import load_faithful

CANDIDATES = range(1, 6)


def demo(n_components=None, covariance_type="full", n_init=10, seed=0, out=sys.stdout,
         plot=None, verbose=False):
    """Choose n_components by BIC on Old Faithful, fit it, print it and its diagnostics.

    ``n_components=None`` takes the BIC's choice; a number overrides it (the table
    still shows what BIC prefers).  ``plot``: where to save the figure of
    :meth:`GaussianMixture.plot_diagnostics` (skipped, with a message, without
    matplotlib).  ``verbose`` adds the objective trace.
    """
    X, names = load_faithful()
    print(f"gaussmix {__version__}: Old Faithful, {X.shape[0]} eruptions x "
          f"{X.shape[1]} features ({', '.join(names)})", file=out)
    fits = {k: GaussianMixture(k, covariance_type=covariance_type, n_init=n_init, tol=1e-8,
                               max_iter=1000, random_state=seed).fit(X)
            for k in CANDIDATES}
    bics = {k: gm.bic(X) for k, gm in fits.items()}
    preferred = min(bics, key=bics.get)
    print(f"\nmodel selection: BIC of covariance_type={covariance_type!r} (lower is better)",
          file=out)
    for k, bic in bics.items():
        mark = "  <- lowest" if k == preferred else ""
        print(f"  n_components={k}: {bic:10.2f}{mark}", file=out)
    chosen = preferred if n_components is None else n_components
    gm = fits[chosen] if chosen in fits else GaussianMixture(
        chosen, covariance_type=covariance_type, n_init=n_init, tol=1e-8, max_iter=1000,
        random_state=seed).fit(X)
    why = ("chosen by BIC" if n_components is None else
           f"as asked (--n-components); BIC prefers {preferred}")
    print(f"\nGaussianMixture(n_components={chosen}, covariance_type={covariance_type!r}): "
          f"{why}, best of n_init={n_init}", file=out)
    for j in np.argsort(gm.means_[:, 0]):
        sd = np.sqrt(np.diag(_component_cov(gm, j)))
        print(f"  component {j}: weight {gm.weights_[j]:.3f}  mean "
              f"[{', '.join(f'{m:8.3f}' for m in gm.means_[j])}]  sd "
              f"[{', '.join(f'{s:6.3f}' for s in sd)}]", file=out)
    print(f"  total log-likelihood {gm.score(X) * X.shape[0]:.2f}", file=out)
    if verbose:
        trace = np.asarray(gm.lower_bounds_)
        shown = trace[:: max(1, len(trace) // 8)]
        print("  objective trace: " + "  ".join(f"{v:.5f}" for v in shown), file=out)
    print("", file=out)
    print(gm.diagnose(X), file=out)
    if plot is not None:
        try:
            gm.plot_diagnostics(plot)
        except ImportError as exc:
            print(f"\nno plot: {exc}", file=out)
        else:
            print(f"\ndiagnostics figure saved to {plot}", file=out)
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
    p.add_argument("--n-components", type=int, default=None,
                   help="number of components (default: the one BIC chooses among 1-5)")
    p.add_argument("--covariance-type", default="full",
                   choices=["full", "tied", "diag", "spherical"])
    p.add_argument("--n-init", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="PATH", default=None,
                   help="also save the diagnostics figure there, e.g. fit.png (needs "
                        "matplotlib)")
    p.add_argument("--verbose", action="store_true", help="also print the objective trace")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.n_components, args.covariance_type, args.n_init, args.seed, plot=args.plot,
             verbose=args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
