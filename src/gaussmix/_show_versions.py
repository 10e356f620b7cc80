"""``gaussmix.show_versions()``: what a bug report needs to say about the install.

Versions come from the installed distributions' metadata (nothing heavy is imported
just to read a version); the build facts come from the compiled core itself, and the
native libraries actually loaded (BLAS, OpenMP) from threadpoolctl.

The compiled core ``gaussmix._gmmcore`` calls BLAS through
``scipy.linalg.cython_blas``, i.e. SciPy's BLAS, whatever numpy uses.  Which shared
library that is, is asked of the dynamic loader where it can answer (Linux, macOS):
the core is bound to the function pointers exported by ``cython_blas``; ``dladdr``
names the file holding them, and the routines they call are looked up in that file's
own dependency scope and located with ``dladdr`` again.  Elsewhere (Windows), or if
that fails, the BLAS that threadpoolctl finds inside SciPy's installation is taken,
then the one whose version matches SciPy's build configuration.
"""

import ctypes
import os
import platform
import sys
import typing
from importlib import metadata

# Distribution names, in the order they are printed: the core's dependencies, then
# those of the diagnostics (arviz-*, xarray) and the optional extras (plot, netcdf).
_DEPENDENCIES = (
    "numpy", "scipy", "scikit-learn", "threadpoolctl",
    "arviz", "arviz-base", "arviz-stats", "arviz-plots", "xarray",
    "matplotlib", "h5netcdf",
)

# The BLAS routines the core cimports from scipy.linalg.cython_blas
# (gmmcore/_gmmcore_linalg.pxd).
_CORE_BLAS_ROUTINES = ("dsyrk", "dtrmm", "ssyrk", "strmm")

# How BLAS builds spell a Fortran routine's symbol: scipy-openblas wheels, plain
# Fortran (OpenBLAS, MKL, reference), ILP64 suffixes, Accelerate's new LAPACK.
_SYMBOL_PATTERNS = (
    "scipy_{}_", "{}_", "scipy_{}64_", "{}64_", "{}_64", "{}$NEWLAPACK", "{}",
)

_CORE = "gaussmix._gmmcore"
_USED_BY_CORE = f"used by {_CORE}"

_OPENMP_WARNING = (
    "WARNING: {n} OpenMP runtimes are loaded in this process: {paths}. Loading "
    "two OpenMP runtimes in one process is undefined behaviour: each keeps its own "
    "thread pool, so together they can oversubscribe the CPU, and incompatible ones "
    "(e.g. libgomp + libomp) can crash or deadlock. See "
    "https://github.com/joblib/threadpoolctl/blob/master/multiple_openmp.md"
)


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _system_info():
    return {
        "python": sys.version.replace("\n", " "),
        "executable": sys.executable,
        "machine": platform.platform(),
    }


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


# ------------------------------------------------------------- the dynamic loader
class _DlInfo(ctypes.Structure):
    _fields_ = [
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    ]


def _dladdr():
    """The C ``dladdr`` function, or None where there is none (Windows)."""
    if os.name != "posix":
        return None
    for name in (None, "libdl.so.2"):  # glibc < 2.34 keeps dladdr in libdl
        try:
            dladdr = ctypes.CDLL(name).dladdr
        except (OSError, AttributeError):
            continue
        dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
        dladdr.restype = ctypes.c_int
        return dladdr
    return None


def _file_of_address(address, dladdr):
    """The shared object containing ``address`` (real path), or None."""
    info = _DlInfo()
    if not address or not dladdr(address, ctypes.byref(info)) or not info.dli_fname:
        return None
    return os.path.realpath(os.fsdecode(info.dli_fname))


def _loaded_library(path):
    """A ctypes handle on the already loaded shared object ``path`` (nothing is loaded)."""
    return ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | os.RTLD_LOCAL)


def _symbol_providers(path, symbols, dladdr):
    """The files defining the first of ``symbols`` found from ``path``'s lookup scope.

    ``dlsym`` on a handle searches the object and then its dependencies, the scope
    in which the loader bound the object's undefined references (a library loaded
    with ``RTLD_GLOBAL`` or ``LD_PRELOAD`` could still take precedence).
    """
    library = _loaded_library(path)
    for symbol in symbols:
        try:
            function = getattr(library, symbol)
        except AttributeError:
            continue
        found = _file_of_address(ctypes.cast(function, ctypes.c_void_p).value, dladdr)
        if found is not None:
            return found
    return None


def _capsule_address(capsule):
    api = ctypes.pythonapi
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    return api.PyCapsule_GetPointer(capsule, api.PyCapsule_GetName(capsule))


def _blas_from_loader():
    """Files holding the BLAS routines the core calls, per the dynamic loader.

    The core is bound to the function pointers ``scipy.linalg.cython_blas`` exports
    (its ``__pyx_capi__``); those are thin wrappers, so the file holding them is
    found first, then the files of the BLAS symbols it calls.  Empty when the loader
    cannot say.
    """
    dladdr = _dladdr()
    if dladdr is None:
        return []
    try:
        from scipy.linalg import cython_blas

        files = set()
        for routine in _CORE_BLAS_ROUTINES:
            wrapper = _file_of_address(
                _capsule_address(cython_blas.__pyx_capi__[routine]), dladdr
            )
            if wrapper is None:
                return []
            symbols = [pattern.format(routine) for pattern in _SYMBOL_PATTERNS]
            provider = _symbol_providers(wrapper, symbols, dladdr)
            if provider is None:
                return []
            files.add(provider)
    except Exception:  # noqa: BLE001 - a diagnostic must not fail; fall back
        return []
    return sorted(files)


def _blas_from_scipy_install(libraries):
    """Loaded BLAS libraries living inside SciPy's installation (e.g. ``scipy.libs``)."""
    import scipy

    site = os.path.dirname(os.path.dirname(os.path.realpath(scipy.__file__)))
    found = []
    for lib in libraries:
        if lib.get("user_api") != "blas" or not lib.get("filepath"):
            continue
        path = os.path.realpath(lib["filepath"])
        relative = os.path.relpath(path, site) if _same_drive(path, site) else os.pardir
        top = relative.split(os.sep)[0]
        if top != os.pardir and top.lower().startswith("scipy"):
            found.append(path)
    return found


def _same_drive(a, b):
    return os.path.splitdrive(a)[0].lower() == os.path.splitdrive(b)[0].lower()


def _scipy_build_blas():
    """SciPy's build-time BLAS dependency (name, version), or None."""
    try:
        import scipy

        blas = scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return blas.get("name"), blas.get("version")
    except Exception:  # noqa: BLE001 - older SciPy, or a build without the record
        return None


def _blas_from_build_config(libraries):
    """The one loaded BLAS whose version is the one SciPy was built against."""
    build = _scipy_build_blas()
    if build is None or not build[1]:
        return []
    matches = [
        os.path.realpath(lib["filepath"]) for lib in libraries
        if lib.get("user_api") == "blas" and lib.get("filepath")
        and lib.get("version") == build[1]
    ]
    return matches if len(matches) == 1 else []


def _core_blas(libraries):
    """(files, how they were found) of the BLAS ``gaussmix._gmmcore`` really calls."""
    for how, files in (
        ("dynamic loader", lambda: _blas_from_loader()),
        ("threadpoolctl, inside SciPy's installation",
         lambda: _blas_from_scipy_install(libraries)),
        ("threadpoolctl, version of SciPy's build configuration",
         lambda: _blas_from_build_config(libraries)),
    ):
        found = files()
        if found:
            return found, how
    return [], None


def _numpy_blas():
    """The file holding numpy's BLAS (its ``cblas_dgemm``), per the loader, or None."""
    dladdr = _dladdr()
    if dladdr is None:
        return None
    try:
        from numpy._core import _multiarray_umath

        symbols = [
            pattern.format("cblas_dgemm")
            for pattern in ("scipy_{}64_", "scipy_{}", "{}64_", "{}")
        ]
        return _symbol_providers(_multiarray_umath.__file__, symbols, dladdr)
    except Exception:  # noqa: BLE001 - numpy < 2, or numpy without BLAS
        return None


def _is_numpy_blas(path, numpy_blas):
    if numpy_blas is not None:
        return _same_file(path, numpy_blas)
    import numpy

    numpy_dir = os.path.dirname(os.path.realpath(numpy.__file__))
    site = os.path.dirname(numpy_dir)
    real = os.path.realpath(path)
    # Wheels vendor it in numpy.libs (Linux, Windows) or numpy/.dylibs (macOS).
    return any(
        real.startswith(os.path.join(root, ""))
        for root in (os.path.join(site, "numpy.libs"), numpy_dir)
    )


# ---------------------------------------------------------------- OpenMP runtimes
def _openmp_runtimes_warning(libraries):
    """The warning to print when two or more OpenMP runtimes are loaded, else None.

    ``libraries`` is a list of dicts as returned by ``threadpoolctl.threadpool_info()``;
    runtimes are told apart by their file path, so two copies of the same runtime
    (e.g. the system's libgomp and one vendored by a wheel) count as two.
    """
    paths = {}
    for lib in libraries:
        if lib.get("user_api") != "openmp":
            continue
        path = lib.get("filepath") or lib.get("prefix") or "?"
        paths.setdefault(os.path.normcase(os.path.normpath(path)), path)
    if len(paths) < 2:
        return None
    return _OPENMP_WARNING.format(n=len(paths), paths=", ".join(paths.values()))


# ------------------------------------------------------------------ the sections
def _core_info():
    """Build facts of the compiled core, or why it could not be imported."""
    try:
        from . import _gmmcore, _kernel
    except ImportError as exc:  # a source checkout without the built extension
        return {_CORE: f"not importable ({exc})"}, None
    info = {
        "built with OpenMP": _kernel.OPENMP_ENABLED,
        "OpenMP max threads": _kernel.openmp_max_threads(),
        "kernel variant": _kernel.kernel_variant(),
        "kernel variants this CPU runs": ", ".join(_kernel.supported_variants()),
    }
    runtime = None
    if _kernel.OPENMP_ENABLED:
        dladdr = _dladdr()
        try:
            if dladdr is not None:  # no loader to ask on Windows
                runtime = _symbol_providers(
                    _gmmcore.__file__, ["omp_get_max_threads"], dladdr
                )
        except Exception:  # noqa: BLE001 - a diagnostic must not fail
            runtime = None
        info["OpenMP runtime"] = runtime or "unknown"
    info["location"] = _gmmcore.__file__
    return info, runtime


def _native_libraries():
    """threadpoolctl's view of the loaded BLAS and OpenMP libraries."""
    # The kernels call BLAS through scipy.linalg.cython_blas: importing it loads
    # SciPy's BLAS, so it is listed even before the first fit.
    import scipy.linalg.cython_blas  # noqa: F401
    from threadpoolctl import threadpool_info

    return threadpool_info()


def _print_section(title, info, file):
    print(f"\n{title}:", file=file)
    width = max(len(key) for key in info)
    for key, value in info.items():
        print(f"{key:>{width}}: {value}", file=file)


def _blas_label(path, core_blas, numpy_blas):
    in_core = any(_same_file(path, used) for used in core_blas)
    if _is_numpy_blas(path, numpy_blas):
        return (f"  <- SciPy's and numpy's, {_USED_BY_CORE}" if in_core
                else f"  <- numpy's; {_CORE} does not call it")
    if in_core:
        return f"  <- SciPy's, {_USED_BY_CORE}"
    return f"  <- {_CORE} does not call it"


def show_versions(file: typing.TextIO | None = None) -> None:
    """Print the versions and native libraries a gaussmix bug report should include.

    The output names the Python and platform; the versions of numpy, scipy,
    scikit-learn, threadpoolctl and of the packages the diagnostics use (arviz,
    arviz-base, arviz-stats, arviz-plots, xarray, and matplotlib and h5netcdf when
    installed); whether the compiled core ``gaussmix._gmmcore`` was built with
    OpenMP, how many threads it would use and where it is; and the BLAS and OpenMP
    libraries loaded in the process (from ``threadpoolctl``).  The BLAS the core
    really calls is SciPy's (through ``scipy.linalg.cython_blas``) and is marked
    as such; numpy's BLAS, when it is another library, is marked as numpy's.  A
    warning is printed when two or more OpenMP runtimes are loaded.

    Parameters
    ----------
    file : file-like, default=None
        Text stream to print to; ``sys.stdout`` when None.

    See Also
    --------
    threadpoolctl.threadpool_info : The loaded BLAS and OpenMP libraries.

    Examples
    --------
    >>> import io
    >>> import gaussmix
    >>> buffer = io.StringIO()
    >>> gaussmix.show_versions(file=buffer)
    >>> print(buffer.getvalue())  # doctest: +ELLIPSIS
    gaussmix: ...
    System:
    ...
    Python dependencies:
    ...
    gaussmix._gmmcore (compiled core):
    ...
    Native libraries (threadpoolctl):
    ...
    """
    from ._version import __version__

    file = sys.stdout if file is None else file
    print(f"gaussmix: {__version__}", file=file)
    _print_section("System", _system_info(), file)
    _print_section(
        "Python dependencies", {dist: _version(dist) for dist in _DEPENDENCIES}, file
    )

    core, core_openmp = _core_info()
    libraries = _native_libraries()
    core_blas, how = _core_blas(libraries)
    if core_blas:
        core["BLAS"] = f"{', '.join(core_blas)} (SciPy's, via scipy.linalg.cython_blas)"
        core["BLAS found by"] = how
    else:
        core["BLAS"] = "SciPy's, via scipy.linalg.cython_blas (file not determined)"
    build = _scipy_build_blas()
    if build is not None:
        core["SciPy built against"] = " ".join(str(part) for part in build if part)
    _print_section(f"{_CORE} (compiled core)", core, file)

    print("\nNative libraries (threadpoolctl):", file=file)
    if not libraries:
        print("  none found", file=file)
    numpy_blas = _numpy_blas()
    for lib in libraries:
        path = lib.get("filepath") or ""
        if lib.get("user_api") == "blas":
            print(
                f"  blas: {lib.get('internal_api')} {lib.get('version')}"
                f" (threading: {lib.get('threading_layer', 'n/a')},"
                f" architecture: {lib.get('architecture', 'n/a')},"
                f" threads: {lib.get('num_threads')})"
                f"{_blas_label(path, core_blas, numpy_blas)}",
                file=file,
            )
        else:
            used = (f"  <- {_USED_BY_CORE}"
                    if core_openmp and path and _same_file(path, core_openmp) else "")
            name = lib.get("prefix") or lib.get("internal_api")
            version = f" {lib['version']}" if lib.get("version") else ""
            print(
                f"  {lib.get('user_api')}: {name}{version}"
                f" (threads: {lib.get('num_threads')}){used}",
                file=file,
            )
        print(f"    {path}", file=file)

    warning = _openmp_runtimes_warning(libraries)
    if warning is not None:
        print(f"\n{warning}", file=file)
