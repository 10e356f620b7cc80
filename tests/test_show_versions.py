"""gaussmix.show_versions() and the compiled core's build facts."""

import io
import os
import platform
import sys
from importlib import metadata

import numpy as np
import pytest

import gaussmix
from gaussmix import _kernel as gmmcore


def _output():
    buf = io.StringIO()
    gaussmix.show_versions(file=buf)
    return buf.getvalue()


def test_show_versions_names_the_versions():
    out = _output()
    assert f"gaussmix: {gaussmix.__version__}" in out
    assert np.__version__ in out
    for dist in ("numpy", "scipy", "scikit-learn", "arviz", "threadpoolctl"):
        assert f"{dist}: {metadata.version(dist)}" in out
    assert platform.python_version() in out
    assert platform.platform() in out


def test_show_versions_reports_the_core_and_blas():
    out = _output()
    assert f"built with OpenMP: {gmmcore.OPENMP_ENABLED}" in out
    assert f"OpenMP max threads: {gmmcore.openmp_max_threads()}" in out
    # SciPy's BLAS is loaded once gmmcore is imported (it cimports cython_blas).
    assert "blas:" in out


def test_show_versions_prints_to_stdout_by_default(capsys):
    assert gaussmix.show_versions() is None
    assert f"gaussmix: {gaussmix.__version__}" in capsys.readouterr().out


def test_show_versions_is_exported():
    assert "show_versions" in gaussmix.__all__


def test_tests_use_the_installed_core():
    # The checkout's gmmcore/ holds sources only; the tests must see the built one.
    assert gmmcore._estep.__file__.endswith((".so", ".pyd"))


@pytest.mark.skipif(
    os.environ.get("GAUSSMIX_EXPECT_OPENMP") not in ("0", "1"),
    reason="set GAUSSMIX_EXPECT_OPENMP=1 (or 0) where the build's OpenMP choice is known",
)
def test_openmp_build_matches_expectation():
    # Wheel builders set this so a silently serial build (OpenMP not detected) fails.
    expected = os.environ["GAUSSMIX_EXPECT_OPENMP"] == "1"
    assert gmmcore.OPENMP_ENABLED is expected, (sys.platform, gmmcore.OPENMP_ENABLED)
