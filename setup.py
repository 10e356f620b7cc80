"""Build the compiled core ``gaussmix._gmmcore`` (everything else lives in pyproject.toml).

The Cython sources live in the top-level ``gmmcore/`` folder, which is no importable
package: the only compiled module is private to gaussmix, so nothing named ``gmmcore``
is installed and nothing in a checkout can shadow the installed package.

The kernels call BLAS through ``scipy.linalg.cython_blas`` (function pointers into
SciPy's own BLAS), so no BLAS is linked here.  OpenMP is used when the compiler
supports it; without it the kernels compile to the same serial code.  Set
``GAUSSMIX_NO_OPENMP=1`` to force a serial build.  On macOS the build is serial unless
``GAUSSMIX_OPENMP=1`` (see ``_openmp_flags``).

The chunk loops of ``gmmcore/simd/`` are compiled once per instruction set the compiler
supports (x86-64: baseline, x86-64-v3, x86-64-v4; elsewhere the baseline) and chosen at
import; ``GAUSSMIX_BASELINE_ONLY=1`` builds the baseline alone.
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


_OMP_CHECK = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"


def _compiles_with(compiler, cflags, lflags=None, src=_OMP_CHECK):
    """Whether ``src`` compiles with ``cflags`` (and links with ``lflags`` unless None)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "check.c")
        with open(path, "w") as f:
            f.write(src)
        try:
            objs = compiler.compile([path], output_dir=tmp, extra_postargs=cflags)
            if lflags is not None:
                compiler.link_executable(objs, "check", output_dir=tmp, extra_postargs=lflags)
        except Exception:
            return False
    return True


# The chunk loops (gmmcore/simd/variant.c) are compiled once per instruction set and
# linked into the one extension; gmmcore/simd/dispatch.c picks one at import from the
# CPU's features.  (identifier, name, vector bytes, flags); the baseline uses the
# compiler's default target (x86-64: SSE2; aarch64: NEON).
_X86_VARIANTS = (
    ("x86_64_v3", "x86-64-v3", 32, ["-march=x86-64-v3"]),
    ("x86_64_v4", "x86-64-v4", 64, ["-march=x86-64-v4", "-mprefer-vector-width=512"]),
)
SIMD = CORE / "simd"


def _is_x86_64():
    import platform

    return platform.machine().lower() in ("x86_64", "amd64")


class BuildExt(build_ext):
    def build_extensions(self):
        cflags, lflags = _openmp_flags(self.compiler)
        msvc = self.compiler.compiler_type == "msvc"
        # -fno-trapping-math lets the compiler if-convert the (branch-free) selects of
        # the vector exp; the loops never rely on floating-point exceptions.
        optimise = ["/O2"] if msvc else ["-O3", "-fno-trapping-math"]
        # GCC notes that wide vector arguments of the (static, inlined) helpers would
        # pass differently with other flags: irrelevant inside one object
        self._quiet = [] if msvc or self.compiler.compiler_type != "unix" else ["-Wno-psabi"]
        variants = [("baseline", "baseline", 16, [])]
        if not msvc and _is_x86_64() and not os.environ.get("GAUSSMIX_BASELINE_ONLY"):
            variants += [v for v in _X86_VARIANTS
                         if _compiles_with(self.compiler, v[3], src="int main(void){return 0;}\n")]
        for ext in self.extensions:
            ext.extra_compile_args = optimise + cflags
            ext.extra_link_args = lflags
            ext.define_macros = list(ext.define_macros) + [
                (f"GMM_HAVE_{ident.upper()}", "1") for ident, *_ in variants[1:]]
            ext.extra_objects = list(ext.extra_objects or []) + [
                self._compile_variant(optimise, *v) for v in variants]
        super().build_extensions()

    def _compile_variant(self, optimise, ident, name, vec_bytes, flags):
        out = os.path.join(self.build_temp, "simd", ident)
        macros = [("GMM_VARIANT", ident), ("GMM_VARIANT_NAME", f'"{name}"'),
                  ("GMM_VEC_BYTES", str(vec_bytes))]
        (obj,) = self.compiler.compile(
            [str((SIMD / "variant.c").relative_to(HERE))], output_dir=out, macros=macros,
            include_dirs=[str(SIMD)], extra_postargs=optimise + flags + self._quiet)
        return obj


_write_config()
extensions = [
    Extension(
        "gaussmix._gmmcore",
        ["gmmcore/_gmmcore.pyx", "gmmcore/simd/dispatch.c"],
        include_dirs=[np.get_include(), str(CORE)],
        depends=[str(p.relative_to(HERE)) for p in sorted(SIMD.glob("*"))],
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
