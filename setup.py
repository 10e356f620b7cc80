"""Build the compiled core ``gaussmix._gmmcore`` (everything else lives in pyproject.toml).

The Cython sources live in the top-level ``gmmcore/`` folder, which is no importable
package: the only compiled module is private to gaussmix, so nothing named ``gmmcore``
is installed and nothing in a checkout can shadow the installed package.

The kernels call BLAS through ``scipy.linalg.cython_blas`` (function pointers into
SciPy's own BLAS), so no BLAS is linked here.  OpenMP is used when the compiler
supports it; without it the kernels compile to the same serial code.  Set
``GAUSSMIX_NO_OPENMP=1`` to force a serial build.  On macOS the build is serial unless
``GAUSSMIX_OPENMP=1`` (see ``_openmp_flags``).
"""

import os
import sys

# Checked before anything else is imported, so that an old Python fails at once with
# the reason rather than later on an unresolvable dependency.
if sys.version_info < (3, 12):
    sys.exit(
        f"gaussmix needs Python 3.12 or newer (this is Python {sys.version.split()[0]}): "
        "it depends on ArviZ 1.x, which requires Python >= 3.12. Use a newer Python, "
        "e.g. 'make demo', which finds one."
    )

import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
CORE = HERE / "gmmcore"


def _scipy_has_blas_int():
    """SciPy >= 1.18 exports ``blas_int`` from cython_blas; older ones use ``int``."""
    import scipy.linalg

    pxd = Path(scipy.linalg.__file__).parent / "cython_blas.pxd"
    return pxd.exists() and "blas_int" in pxd.read_text()


def _write_config():
    """Generate ``gmmcore/_config.pxi`` for the build-time choices (not committed)."""
    if _scipy_has_blas_int():
        line = "from scipy.linalg.cython_blas cimport blas_int\n"
    else:
        line = "ctypedef int blas_int  # SciPy < 1.18: BLAS integers are C int\n"
    target = CORE / "_config.pxi"
    if not target.exists() or target.read_text() != line:
        target.write_text(line)


def _openmp_flags(compiler):
    """Return (compile_args, link_args) enabling OpenMP, or ([], []) if unsupported."""
    if os.environ.get("GAUSSMIX_NO_OPENMP"):
        return [], []
    ctype = compiler.compiler_type
    if ctype == "msvc":
        candidates = [(["/openmp"], [])]
    elif sys.platform == "darwin":
        # Serial by default: scikit-learn's macOS wheels bundle their own libomp, and two
        # LLVM OpenMP runtimes in one process abort ("OMP: Error #15").  GAUSSMIX_OPENMP=1
        # opts in (Apple clang then needs libomp, e.g. Homebrew's, on its search paths).
        if not os.environ.get("GAUSSMIX_OPENMP"):
            return [], []
        candidates = [(["-Xpreprocessor", "-fopenmp"], ["-lomp"]), (["-fopenmp"], ["-fopenmp"])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    for cflags, lflags in candidates:
        if _compiles_with(compiler, cflags, lflags):
            return cflags, lflags
    print("gaussmix: OpenMP not available, building serial kernels", file=sys.stderr)
    return [], []


def _compiles_with(compiler, cflags, lflags):
    src = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "omp_check.c")
        with open(path, "w") as f:
            f.write(src)
        try:
            objs = compiler.compile([path], output_dir=tmp, extra_postargs=cflags)
            compiler.link_executable(objs, "omp_check", output_dir=tmp, extra_postargs=lflags)
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    def build_extensions(self):
        cflags, lflags = _openmp_flags(self.compiler)
        optimise = [] if self.compiler.compiler_type == "msvc" else ["-O3"]
        for ext in self.extensions:
            ext.extra_compile_args = optimise + cflags
            ext.extra_link_args = lflags
        super().build_extensions()


_write_config()
extensions = [
    Extension(
        "gaussmix._gmmcore",
        ["gmmcore/_gmmcore.pyx"],
        include_dirs=[np.get_include(), str(CORE)],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    ),
]

setup(
    ext_modules=cythonize(
        extensions,
        include_path=[str(CORE)],
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    ),
    cmdclass={"build_ext": BuildExt},
)
