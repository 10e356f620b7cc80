"""The argument parser of the ``gaussmix`` command and its value types.

Plain-text help with every default shown; a parse error is one line on standard
error (``gaussmix: error: ...``, exit status 2), never the usage block.
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from .._selection import MCLUST_MODELS, SKLEARN_MODELS
from .._version import __version__
from ._errors import EXIT_USAGE, one_line

__all__ = ["build_parser", "covariance_types", "n_components"]

METHODS = ("em", "variational")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data", "hc")
#: Default numbers of components tried by ``gaussmix fit`` (mclust's 1 to 9).
DEFAULT_N_COMPONENTS = "1-9"

DESCRIPTION = """\
Fit Gaussian mixtures from the command line and look at the result.

  gaussmix fit data.csv --out results      choose and fit a mixture, write labels,
                                           the model and report.html into results/
  gaussmix predict results/model.npz new.csv     label new rows
  gaussmix sample results/model.npz 100          draw rows from the fitted mixture
  gaussmix info results/model.npz                describe a saved model
  gaussmix demo                                  fit on the bundled Old Faithful data

Run "gaussmix COMMAND --help" for the options of a command.  Bad arguments or
files end with one line on standard error and exit status 2.
"""

FIT_DESCRIPTION = """\
Fit Gaussian mixtures to DATA for every number of components and covariance type
given, choose one by the criterion (BIC by default; lower is better), and write into
--out: labels.csv (row, label, probability of that label, uncertainty = 1 - that
probability), probabilities.csv (with --probabilities), model.npz (gaussmix's safe
format: gaussmix.load reads it), preprocessing.json (the columns and, with
--standardize, their centre and scale, which "gaussmix predict" applies) and
report.html (one self-contained page with the tables and figures).  A summary is
printed on standard output.

DATA is a CSV file (a header row is detected: a first row with a non-numeric cell),
"-" for CSV on standard input, a .npy array or a .parquet file (needs pyarrow).
Rows are numbered from 1, the first data row.
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter,
                    argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions as written, and "(default: ...)" on every option that has one."""

    def _get_help_string(self, action):
        flag = action.nargs == 0   # store_true and friends: the default says nothing
        if (flag or action.default is None or action.default is argparse.SUPPRESS
                or "%(default)" in (action.help or "")):
            return action.help
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with its errors on one line and no usage block."""

    def error(self, message):
        sys.stderr.write(f"gaussmix: error: {one_line(message)} (see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


def n_components(text: str) -> list[int]:
    """Numbers of components: ``3``, a range ``1-9`` or a comma list of these."""
    values = []
    for part in text.split(","):
        part = part.strip()
        low, sep, high = part.partition("-")
        try:
            low = int(low)
            high = int(high) if sep else low
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number of components, a range such as 1-9 or a list "
                "such as 2,3,5") from None
        if low < 1:
            raise argparse.ArgumentTypeError(f"{text!r}: numbers of components start at 1")
        if high < low:
            raise argparse.ArgumentTypeError(f"{text!r}: the range {low}-{high} is empty "
                                             f"(write {high}-{low})")
        values.extend(range(low, high + 1))
    return sorted(set(values))


def covariance_types(text: str) -> list[str] | str:
    """One covariance type, a comma-separated list, or ``all``."""
    if text.strip().lower() == "all":
        return "all"
    known = {name.lower(): name for name in (*SKLEARN_MODELS, *MCLUST_MODELS)}
    names = []
    for part in text.split(","):
        name = known.get(part.strip().lower())
        if name is None:
            raise argparse.ArgumentTypeError(
                f"unknown covariance type {part.strip()!r}: choose from "
                f"{', '.join(SKLEARN_MODELS)}, mclust's {', '.join(MCLUST_MODELS)}, "
                "or all")
        if name in names:
            raise argparse.ArgumentTypeError(f"{text!r} lists {name} twice")
        names.append(name)
    return names


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 0")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number >= 0")
    return value


def _column_list(text: str) -> list[str]:
    columns = [c.strip() for c in text.split(",") if c.strip()]
    if not columns:
        raise argparse.ArgumentTypeError("give at least one column")
    return columns


def _add_fit_options(p, *, n_components_default, covariance_default, n_init_default,
                     out_default, data=True):
    """The options of ``fit`` (and of ``demo``, which has other defaults)."""
    if data:
        p.add_argument("data", metavar="DATA",
                       help='CSV file, "-" for CSV on standard input, .npy or .parquet')
    model = p.add_argument_group("model")
    model.add_argument("-k", "--n-components", type=n_components, metavar="K",
                       default=n_components_default,
                       help="numbers of components to try: a number, a range such as 1-9, "
                            "or a list such as 2,3,5")
    model.add_argument("-c", "--covariance-type", type=covariance_types, metavar="TYPES",
                       default=covariance_default,
                       help="covariance types to try: full, tied, diag, spherical, mclust's "
                            "EII ... VVV, a comma-separated list, or all (mclust's 14; "
                            "scikit-learn's 4 with --method variational)")
    model.add_argument("--method", choices=METHODS, default="em",
                       help="em: maximum likelihood; variational: variational Bayes")
    model.add_argument("--criterion", choices=("bic", "icl", "elbo"), default=None,
                       help="how the model is chosen, lower is better: bic or icl for "
                            "--method em (default bic), elbo (-2 x the evidence lower "
                            "bound) for --method variational (its default)")
    model.add_argument("--init-params", choices=INIT_PARAMS, default="kmeans",
                       help="initialisation of every fit (hc: mclust's hierarchical start)")
    model.add_argument("--n-init", type=_positive_int, default=n_init_default, metavar="N",
                       help="initialisations per fit; the best is kept")
    model.add_argument("--tol", type=_non_negative_float, default=1e-3,
                       help="convergence threshold on the change of the objective")
    model.add_argument("--max-iter", type=_non_negative_int, default=100, metavar="N",
                       help="iterations per initialisation")
    model.add_argument("--seed", type=int, default=0,
                       help="random seed of the initialisations (random_state)")
    data_group = p.add_argument_group("data")
    data_group.add_argument("--columns", type=_column_list, metavar="COLS", default=None,
                            help="comma-separated columns to use, by name or position "
                                 "(0 is the first; x0, x1, ... in a file without "
                                 "header); default: all")
    data_group.add_argument("--standardize", action="store_true",
                            help="centre and scale every column to unit variance before "
                                 "fitting")
    run = p.add_argument_group("output and running")
    run.add_argument("-o", "--out", metavar="DIR", default=out_default,
                     help="directory for labels.csv, model.npz, report.html "
                          "(created if needed)")
    run.add_argument("--probabilities", action="store_true",
                     help="also write probabilities.csv (one column per component)")
    run.add_argument("--no-report", dest="report", action="store_false",
                     help="do not write report.html")
    run.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                     help="threads of the compiled kernels (default: all cores, or "
                          "OMP_NUM_THREADS)")
    run.add_argument("-q", "--quiet", action="store_true",
                     help="print nothing but errors: no summary, no progress bar")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="also print the full convergence report and the objective trace")


def build_parser() -> argparse.ArgumentParser:
    """The ``gaussmix`` parser with its subcommands fit, predict, sample, info, demo."""
    parser = ArgumentParser(prog="gaussmix", description=DESCRIPTION,
                            formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"gaussmix {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, help, description=None):
        description = description or help
        if "\n" not in description:   # one paragraph: wrapped here (kept as is below)
            description = textwrap.fill(description, width=79)
        return sub.add_parser(name, help=help, description=description,
                              formatter_class=HelpFormatter)

    p = add("fit", "fit and choose a Gaussian mixture for DATA", FIT_DESCRIPTION)
    _add_fit_options(p, n_components_default=DEFAULT_N_COMPONENTS,
                     covariance_default="full", n_init_default=3,
                     out_default="gaussmix-fit")

    p = add("demo", "the fit command on the bundled Old Faithful data (272 eruptions: "
                    "duration and waiting time), printing its convergence report",
            "Run \"gaussmix fit\" on the bundled Old Faithful data (R's datasets::faithful) "
            "and print the summary and the full convergence report.  Nothing is written "
            "unless --out is given.")
    _add_fit_options(p, n_components_default="1-5",
                     covariance_default="full", n_init_default=10, out_default=None,
                     data=False)
    p.add_argument("--plot", metavar="PATH", default=None,
                   help="also save the diagnostics figure there, e.g. fit.png (needs "
                        "matplotlib)")

    p = add("predict", "label the rows of DATA with a saved model",
            "Label the rows of DATA with a saved model: a CSV with row, label, the "
            "probability of that label and the uncertainty (with --probabilities, one "
            "column per component too).  preprocessing.json beside the model (written "
            "by \"gaussmix fit\") chooses the columns by name and standardizes them as "
            "in the fit.")
    p.add_argument("model", metavar="MODEL",
                   help="model file (model.npz) or the --out directory of a fit")
    p.add_argument("data", metavar="DATA",
                   help='CSV file, "-" for CSV on standard input, .npy or .parquet')
    p.add_argument("--columns", type=_column_list, metavar="COLS", default=None,
                   help="columns to use, by name or 0-based position (default: the fit's "
                        "columns, or all)")
    p.add_argument("--probabilities", action="store_true",
                   help="add the probability of every component")
    p.add_argument("-o", "--out", metavar="FILE", default=None,
                   help="write the CSV there instead of standard output")

    p = add("sample", "draw N rows from a saved model, as CSV on standard output",
            "Draw N rows from a saved model: a CSV of the features (in the data's units) "
            "and the component each row was drawn from.")
    p.add_argument("model", metavar="MODEL",
                   help="model file (model.npz) or the --out directory of a fit")
    p.add_argument("n_samples", metavar="N", type=_positive_int, help="number of rows")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed (default: the model's random_state)")
    p.add_argument("-o", "--out", metavar="FILE", default=None,
                   help="write the CSV there instead of standard output")

    p = add("info", "describe a saved model")
    p.add_argument("model", metavar="MODEL",
                   help="model file (model.npz) or the --out directory of a fit")
    return parser
