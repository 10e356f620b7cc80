"""``gaussmix.show_versions()``: what a bug report needs to say about the install.

Versions come from the installed distributions' metadata (nothing heavy is imported
just to read a version); the build facts come from the compiled core itself, and the
native libraries actually loaded (BLAS, OpenMP) from threadpoolctl.
"""

import platform
import sys
from importlib import metadata

# Distribution names, in the order they are printed.
_DEPENDENCIES = ("numpy", "scipy", "scikit-learn", "arviz", "threadpoolctl")


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


def _core_info():
    """Build facts of the compiled core, or why it could not be imported."""
    try:
        import gmmcore
    except ImportError as exc:  # a source checkout without the built extension
        return {"gmmcore": f"not importable ({exc})"}
    return {
        "built with OpenMP": gmmcore.OPENMP_ENABLED,
        "OpenMP max threads": gmmcore.openmp_max_threads(),
        "location": gmmcore.__file__,
    }


def _native_libraries():
    """threadpoolctl's view of the loaded BLAS and OpenMP libraries."""
    # The kernels call BLAS through scipy.linalg.cython_blas: importing it loads
    # SciPy's BLAS, so it is listed even before the first fit.
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info

    return threadpool_info()


def _print_section(title, info, file):
    print(f"\n{title}:", file=file)
    width = max(len(key) for key in info)
    for key, value in info.items():
        print(f"{key:>{width}}: {value}", file=file)


def show_versions(file=None):
    """Print gaussmix's version, its dependencies' and the compiled core's build facts.

    Include the output in bug reports: it names the Python and platform, the versions
    of numpy, scipy, scikit-learn, arviz and threadpoolctl, whether the compiled core
    ``gmmcore`` was built with OpenMP and how many threads it would use, and the BLAS
    and OpenMP libraries loaded in the process (from ``threadpoolctl``).

    Parameters
    ----------
    file : file-like, default=None
        Where to print; ``sys.stdout`` when None.

    Examples
    --------
    >>> import gaussmix
    >>> gaussmix.show_versions()  # doctest: +SKIP
    """
    from ._version import __version__

    file = sys.stdout if file is None else file
    print(f"gaussmix: {__version__}", file=file)
    _print_section("System", _system_info(), file)
    _print_section(
        "Python dependencies", {dist: _version(dist) for dist in _DEPENDENCIES}, file
    )
    _print_section("gmmcore (compiled core)", _core_info(), file)

    print("\nNative libraries (threadpoolctl):", file=file)
    libraries = _native_libraries()
    if not libraries:
        print("  none found", file=file)
    for lib in libraries:
        if lib.get("user_api") == "blas":
            used = "  <- SciPy's, used by gmmcore" if "scipy" in lib.get("filepath", "") else ""
            print(
                f"  blas: {lib.get('internal_api')} {lib.get('version')}"
                f" (threading: {lib.get('threading_layer', 'n/a')},"
                f" architecture: {lib.get('architecture', 'n/a')},"
                f" threads: {lib.get('num_threads')}){used}",
                file=file,
            )
        else:
            print(
                f"  {lib.get('user_api')}: {lib.get('internal_api')} {lib.get('version')}"
                f" (threads: {lib.get('num_threads')})",
                file=file,
            )
        print(f"    {lib.get('filepath')}", file=file)
