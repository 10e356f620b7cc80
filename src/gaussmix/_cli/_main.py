"""``main``: parse the arguments, run the subcommand, turn bad input into exit 2."""

from __future__ import annotations

import sys

from ._errors import EXIT_USAGE, UsageError, one_line
from ._parser import build_parser

__all__ = ["main"]


def _demo(args, command):
    """``gaussmix demo``: ``fit`` on Old Faithful, then its convergence report."""
    from ..datasets import load_faithful
    from ._commands import fit_command
    from ._data import Table, select_columns

    X, names = load_faithful()
    positions = select_columns(names, args.columns, "Old Faithful")
    table = Table(X[:, positions], [names[j] for j in positions],
                  "Old Faithful (bundled, R's datasets::faithful)", has_header=True)
    run = fit_command(args, table=table, command=command)
    if args.quiet:
        return
    if not args.verbose:   # the verbose summary has the report already
        print("", file=sys.stdout)
        print(run.model.diagnose(run.X), file=sys.stdout)
    if args.plot is not None:
        try:
            run.model.plot_diagnostics(args.plot)
        except ImportError as exc:
            print(f"\nno plot: {exc}")
        except OSError as exc:
            raise UsageError(f"--plot {args.plot}: cannot write it: "
                             f"{exc.strerror or exc}") from None
        else:
            print(f"\ndiagnostics figure saved to {args.plot}")
    if args.out is None:
        print("\n(gaussmix demo --out DIR also writes labels.csv, model.npz and "
              "report.html there)")


def main(argv: list[str] | None = None) -> int:
    """Run the ``gaussmix`` command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        The arguments after the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for a bad argument or input file (after one
        line ``gaussmix: error: ...`` on standard error), 130 when interrupted.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:   # --help, --version, or a parse error (already printed)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    command = ["gaussmix", *argv]
    from . import _commands

    try:
        if args.command == "fit":
            _commands.fit_command(args, command=command)
        elif args.command == "demo":
            _demo(args, command)
        elif args.command == "predict":
            _commands.predict_command(args)
        elif args.command == "sample":
            _commands.sample_command(args)
        elif args.command == "info":
            _commands.info_command(args)
    except UsageError as exc:
        print(f"gaussmix: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:   # writing an output failed after the checks (disk full, ...)
        if isinstance(exc, BrokenPipeError):   # "gaussmix predict ... | head"
            return 0
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"gaussmix: error: {where}{one_line(exc.strerror or exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gaussmix: interrupted", file=sys.stderr)
        return 130
    return 0
