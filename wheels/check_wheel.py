"""Check a built gaussmix wheel's contents: what must be there and what must not.

    python wheels/check_wheel.py dist/gaussmix-*.whl [--max-mb 2]

Fails (exit 1) when the wheel ships Cython/C sources or generated C, bundles a BLAS or
LAPACK library (gaussmix._gmmcore calls SciPy's BLAS through scipy.linalg.cython_blas, so a BLAS
in the wheel would be dead weight, or worse, a second BLAS), lacks the compiled core or
the package data, installs any top-level name but ``gaussmix`` (and its
dist-info and vendored-library folder), or is too large.  An OpenMP
runtime vendored by auditwheel/delocate/delvewheel (libgomp, libomp, vcomp) is fine.
"""

import argparse
import os
import re
import sys
import zipfile
from pathlib import PurePosixPath

SOURCE_SUFFIXES = {".c", ".cpp", ".h", ".pyx", ".pxd", ".pxi", ".o", ".obj"}
BLAS_NAME = re.compile(
    r"(open_?blas|scipy_openblas|libblas|libcblas|liblapack|mkl_|libmkl|flexiblas|"
    r"libgfortran|libquadmath|accelerate)",
    re.IGNORECASE,
)
OPENMP_NAME = re.compile(r"(libgomp|libomp|libiomp|vcomp)", re.IGNORECASE)
EXTENSION = re.compile(r"^gaussmix/_gmmcore\.[^/]*(\.so|\.pyd)$")
REQUIRED = ("gaussmix/__init__.py", "gaussmix/_show_versions.py", "gaussmix/data/faithful.csv",
            "gaussmix/py.typed")


def check(path, max_mb):
    problems, notes = [], []
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    size_mb = os.path.getsize(path) / 2**20

    top_level = {name.split("/", 1)[0] for name in names}
    # the one package, its metadata, and the folder where auditwheel/delvewheel put
    # vendored libraries (delocate uses gaussmix/.dylibs/ inside the package)
    allowed_top = re.compile(r"^(gaussmix|gaussmix\.libs|gaussmix-[^/]+\.dist-info)$")
    for top in sorted(top_level):
        if not allowed_top.match(top):
            problems.append(f"unexpected top-level entry {top!r}")

    for name in names:
        p = PurePosixPath(name)
        if p.suffix in SOURCE_SUFFIXES:
            problems.append(f"source/generated file in wheel: {name}")
        if BLAS_NAME.search(p.name):
            problems.append(f"bundled BLAS/LAPACK library: {name}")
        if OPENMP_NAME.search(p.name) and p.suffix != ".py":
            notes.append(f"vendored OpenMP runtime (fine): {name}")

    if not any(EXTENSION.match(name) for name in names):
        problems.append("compiled extension gaussmix/_gmmcore.* missing")
    for required in REQUIRED:
        if required not in names:
            problems.append(f"missing {required}")
    if size_mb >= max_mb:
        problems.append(f"wheel is {size_mb:.2f} MB (limit {max_mb} MB)")
    return size_mb, problems, notes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheels", nargs="+")
    parser.add_argument("--max-mb", type=float, default=2.0)
    args = parser.parse_args(argv)
    failed = False
    for wheel in args.wheels:
        size_mb, problems, notes = check(wheel, args.max_mb)
        print(f"check_wheel: {PurePosixPath(wheel).name}: {size_mb:.2f} MB")
        for note in notes:
            print(f"  note: {note}")
        for problem in problems:
            print(f"  FAIL: {problem}")
        failed |= bool(problems)
    if not failed:
        print("check_wheel: contents ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
