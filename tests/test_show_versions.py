"""gaussmix.show_versions() and the compiled core's build facts.

The BLAS that ``show_versions`` marks as the core's is checked against references
that do not go through its own lookup: the libraries the dynamic linker resolves for
``scipy.linalg.cython_blas`` (``ldd``, on Linux) and the BLAS version SciPy records in
its build configuration.
"""

import doctest
import importlib
import io
import os
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest
import scipy
from threadpoolctl import threadpool_info

import gaussmix
from gaussmix import _gmmcore
from gaussmix import _kernel as kernel

sv = importlib.import_module("gaussmix._show_versions")

USED = "used by gaussmix._gmmcore"
DEPENDENCIES = ("numpy", "scipy", "scikit-learn", "threadpoolctl", "arviz",
                "arviz-base", "arviz-stats", "arviz-plots", "xarray", "matplotlib",
                "h5netcdf")


def _output():
    buf = io.StringIO()
    gaussmix.show_versions(file=buf)
    return buf.getvalue()


def _native_entries(out):
    """(description line, file path) of each library in the "Native libraries" section."""
    lines = out.split("\n\nNative libraries (threadpoolctl):\n", 1)[1].splitlines()
    entries = []
    for line, next_line in zip(lines, lines[1:]):
        if line.startswith("  ") and not line.startswith("    ") and next_line.startswith("    "):
            entries.append((line, next_line.strip()))
    return entries


def _marked_blas(out):
    return [path for line, path in _native_entries(out)
            if line.startswith("  blas:") and USED in line]


def _ldd(path):
    """Real paths of the shared libraries the dynamic linker resolves for ``path``."""
    if not sys.platform.startswith("linux") or shutil.which("ldd") is None:
        pytest.skip("needs ldd (Linux)")
    listing = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    return {os.path.realpath(line.split("=>", 1)[1].split("(")[0].strip())
            for line in listing.splitlines()
            if "=>" in line and "/" in line.split("=>", 1)[1]}


def _cython_blas_file():
    from scipy.linalg import cython_blas

    return cython_blas.__file__


def _loaded_blas():
    return [os.path.realpath(lib["filepath"]) for lib in threadpool_info()
            if lib["user_api"] == "blas"]


# ------------------------------------------------------------------ versions
def test_show_versions_names_the_versions():
    out = _output()
    assert out.startswith(f"gaussmix: {gaussmix.__version__}\n")
    assert np.__version__ in out
    for dist in DEPENDENCIES:
        try:
            expected = metadata.version(dist)
        except metadata.PackageNotFoundError:
            expected = "not installed"
        assert re.search(rf"^ *{re.escape(dist)}: {re.escape(expected)}$", out, re.M), dist
    assert platform.python_version() in out
    assert platform.platform() in out


def test_missing_packages_are_reported_as_not_installed(monkeypatch):
    real_version = metadata.version

    def version(dist):
        if dist in ("matplotlib", "h5netcdf"):
            raise metadata.PackageNotFoundError(dist)
        return real_version(dist)

    monkeypatch.setattr(metadata, "version", version)
    out = _output()
    assert re.search(r"^ *matplotlib: not installed$", out, re.M)
    assert re.search(r"^ *h5netcdf: not installed$", out, re.M)
    assert re.search(rf"^ *scipy: {re.escape(real_version('scipy'))}$", out, re.M)


def test_versions_are_read_without_importing_the_packages():
    # Reading a version must not import matplotlib, xarray or arviz (slow, and
    # matplotlib may pick a GUI backend).
    code = (
        "import sys, io, gaussmix\n"
        "heavy = ('matplotlib', 'xarray', 'arviz', 'arviz_base', 'arviz_stats',"
        " 'arviz_plots', 'h5netcdf')\n"
        "before = {m for m in heavy if m in sys.modules}\n"
        "gaussmix.show_versions(file=io.StringIO())\n"
        "print(sorted({m for m in heavy if m in sys.modules} - before))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_show_versions_prints_to_stdout_by_default(capsys):
    assert gaussmix.show_versions() is None
    assert capsys.readouterr().out.startswith(f"gaussmix: {gaussmix.__version__}\n")


def test_show_versions_is_exported():
    assert "show_versions" in gaussmix.__all__


# ------------------------------------------------------------------ compiled core
def test_show_versions_reports_the_core():
    out = _output()
    assert "\ngaussmix._gmmcore (compiled core):\n" in out
    assert f"built with OpenMP: {kernel.OPENMP_ENABLED}\n" in out
    assert f"OpenMP max threads: {kernel.openmp_max_threads()}\n" in out
    assert "gmmcore:" not in out.replace("gaussmix._gmmcore", "")


def test_core_location_is_the_installed_extension():
    out = _output()
    location = _gmmcore.__file__
    assert location.endswith((".so", ".pyd"))
    assert os.path.dirname(location) == os.path.dirname(gaussmix.__file__)
    assert f" location: {location}\n" in out


def test_tests_use_the_installed_core():
    # The checkout's gmmcore/ holds sources only; the tests must see the built one.
    assert _gmmcore.__file__.endswith((".so", ".pyd"))
    assert kernel._gmmcore is _gmmcore


@pytest.mark.skipif(
    os.environ.get("GAUSSMIX_EXPECT_OPENMP") not in ("0", "1"),
    reason="set GAUSSMIX_EXPECT_OPENMP=1 (or 0) where the build's OpenMP choice is known",
)
def test_openmp_build_matches_expectation():
    # Wheel builders set this so a silently serial build (OpenMP not detected) fails.
    expected = os.environ["GAUSSMIX_EXPECT_OPENMP"] == "1"
    assert _gmmcore.OPENMP_ENABLED is expected, (sys.platform, _gmmcore.OPENMP_ENABLED)
    assert kernel.OPENMP_ENABLED is expected


def test_core_openmp_runtime_is_the_one_it_links():
    if not kernel.OPENMP_ENABLED:
        pytest.skip("serial build")
    linked = _ldd(_gmmcore.__file__)
    marked = [path for line, path in _native_entries(_output())
              if line.startswith("  openmp:") and USED in line]
    assert len(marked) == 1
    assert os.path.realpath(marked[0]) in linked


# ------------------------------------------------------------------ BLAS
def test_exactly_one_blas_is_marked_as_the_cores():
    out = _output()
    marked = _marked_blas(out)
    assert len(marked) == 1, out
    assert os.path.realpath(marked[0]) in _loaded_blas()
    # The core section names the same file.
    assert f" BLAS: {marked[0]} (SciPy's" in out
    assert "SciPy's, used by gmmcore" not in out


def test_core_blas_is_the_library_scipys_cython_blas_links():
    # ldd resolves cython_blas's NEEDED entries independently of the running process.
    (marked,) = _marked_blas(_output())
    assert os.path.realpath(marked) in _ldd(_cython_blas_file())


def test_core_blas_version_is_scipys_build_blas():
    try:
        build = scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (TypeError, KeyError):
        pytest.skip("SciPy does not record its build configuration")
    (marked,) = _marked_blas(_output())
    (lib,) = [lib for lib in threadpool_info()
              if os.path.realpath(lib["filepath"]) == os.path.realpath(marked)]
    if not build.get("version") or not lib.get("version"):
        pytest.skip("no BLAS version to compare")
    assert lib["version"] == build["version"]
    if "openblas" in build["name"]:
        assert lib["internal_api"] == "openblas"


def test_numpys_blas_is_not_marked_as_the_cores():
    numpy_core = importlib.import_module("numpy._core._multiarray_umath").__file__
    numpy_links = _ldd(numpy_core)
    scipy_links = _ldd(_cython_blas_file())
    numpy_blas = [path for path in _loaded_blas()
                  if path in numpy_links and path not in scipy_links]
    if not numpy_blas:
        pytest.skip("numpy and SciPy share one BLAS library here")
    entries = {os.path.realpath(path): line for line, path in _native_entries(_output())}
    for path in numpy_blas:
        assert USED not in entries[path]
        assert "numpy's" in entries[path]


def test_fallbacks_never_mark_a_wrong_blas(monkeypatch):
    # Without the dynamic loader (as on Windows) the marked BLAS, if any, is still
    # SciPy's; otherwise the output says it could not tell.
    monkeypatch.setattr(sv, "_blas_from_loader", lambda: [])
    out = _output()
    marked = _marked_blas(out)
    if not marked:
        assert "file not determined" in out
        return
    assert len(marked) == 1
    assert "BLAS found by: threadpoolctl" in out
    assert os.path.realpath(marked[0]) in _ldd(_cython_blas_file())


# ------------------------------------------------------------------ OpenMP runtimes
def _openmp(path, prefix="libgomp"):
    return {"user_api": "openmp", "internal_api": "openmp", "prefix": prefix,
            "filepath": path, "version": None, "num_threads": 4}


BLAS = {"user_api": "blas", "internal_api": "openblas", "prefix": "libopenblas",
        "filepath": "/site/scipy.libs/libopenblas.so", "version": "0.3.27",
        "num_threads": 4, "threading_layer": "pthreads", "architecture": "Haswell"}


def test_two_openmp_runtimes_are_warned_about():
    libs = [_openmp("/usr/lib/libgomp.so.1"), BLAS,
            _openmp("/opt/llvm/lib/libomp.dylib", prefix="libomp")]
    warning = sv._openmp_runtimes_warning(libs)
    assert warning is not None
    assert warning.startswith("WARNING: 2 OpenMP runtimes")
    assert "/usr/lib/libgomp.so.1" in warning and "/opt/llvm/lib/libomp.dylib" in warning
    assert "oversubscribe" in warning and "crash" in warning


def test_two_copies_of_one_openmp_runtime_are_warned_about():
    libs = [_openmp("/usr/lib/libgomp.so.1"),
            _openmp("/site/scikit_learn.libs/libgomp-e985bcbb.so.1.0.0")]
    assert "2 OpenMP runtimes" in sv._openmp_runtimes_warning(libs)


@pytest.mark.parametrize("libs", [
    [],
    [BLAS],
    [_openmp("/usr/lib/libgomp.so.1"), BLAS],
    [_openmp("/usr/lib/libgomp.so.1"), _openmp("/usr/lib/libgomp.so.1")],
])
def test_one_openmp_runtime_is_not_warned_about(libs):
    assert sv._openmp_runtimes_warning(libs) is None


@pytest.mark.parametrize("n_runtimes", [1, 2])
def test_show_versions_prints_the_openmp_warning(monkeypatch, n_runtimes):
    libs = [BLAS, _openmp("/usr/lib/libgomp.so.1"), _openmp("/opt/lib/libomp.so", "libomp")]
    monkeypatch.setattr(sv, "_native_libraries", lambda: libs[:1 + n_runtimes])
    out = _output()
    assert ("\nWARNING: 2 OpenMP runtimes are loaded" in out) is (n_runtimes == 2)


# ------------------------------------------------------------------ docstring
def test_docstring_examples_run():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    (test,) = finder.find(gaussmix.show_versions, "show_versions", globs={})
    result = runner.run(test, out=lambda text: None)
    assert result.attempted >= 4
    assert result.failed == 0


def test_docstring_is_valid_numpydoc():
    validate = pytest.importorskip("numpydoc.validate")
    errors = validate.validate("gaussmix.show_versions")["errors"]
    assert errors == [], errors
