"""The ``gaussmix`` command: ``gaussmix fit DATA``, ``predict``, ``sample``, ``info``,
``demo`` (see ``gaussmix --help``); the implementation is :mod:`gaussmix._cli`."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
