"""The one error type of the command line: a bad argument or file, exit status 2."""

__all__ = ["EXIT_USAGE", "UsageError", "one_line"]

#: Exit status of a bad argument or input file (argparse's own).
EXIT_USAGE = 2


def one_line(message) -> str:
    """``message`` as one line: its lines and runs of blanks joined by single spaces."""
    return " ".join(str(message).split())


class UsageError(Exception):
    """A bad argument or input file: ``main`` prints ``gaussmix: error: <message>``
    on one line of standard error and exits with status 2, without a traceback."""

    def __str__(self):
        return one_line(super().__str__())
