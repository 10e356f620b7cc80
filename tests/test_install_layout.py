"""One installed package: gaussmix, with its compiled core as the private gaussmix._gmmcore.

Nothing named ``gmmcore`` is installed, and nothing in a checkout shadows the installed
package: from the checkout's root, ``import gaussmix``, ``python -m gaussmix`` and
``python -m pytest`` use the installed build.
"""

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import gaussmix

ROOT = Path(__file__).resolve().parents[1]
IN_CHECKOUT = (ROOT / "gmmcore").is_dir() and (ROOT / "pyproject.toml").is_file()


def _editable():
    text = metadata.distribution("gaussmix").read_text("direct_url.json")
    return bool(text) and json.loads(text).get("dir_info", {}).get("editable", False)


def _run(args, cwd, timeout=120):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_installed_top_level_names_are_only_gaussmix():
    """The files pip installed (the wheel's RECORD) live under gaussmix/ and its
    dist-info, plus the folder where auditwheel/delvewheel vendor libraries."""
    if _editable():
        pytest.skip("editable install: its RECORD holds a path hook, not the wheel's files")
    files = metadata.files("gaussmix")
    assert files, "no RECORD for gaussmix"
    top = {Path(str(f)).parts[0] for f in files}
    top.discard("..")  # console scripts, installed beside the interpreter
    allowed = {"gaussmix", "gaussmix.libs"}
    unexpected = {t for t in top if t not in allowed and not
                  (t.startswith("gaussmix-") and t.endswith(".dist-info"))}
    assert not unexpected, sorted(unexpected)
    core = [f for f in files if Path(str(f)).name.startswith("_gmmcore.")]
    assert len(core) == 1 and Path(str(core[0])).parts[0] == "gaussmix", core


def test_no_top_level_gmmcore_is_importable(tmp_path):
    result = _run(["-P", "-c", "import importlib.util, sys; "
                   "sys.exit(importlib.util.find_spec('gmmcore') is not None)"], tmp_path)
    assert result.returncode == 0, "a top-level 'gmmcore' is importable from site-packages"


def test_the_core_is_a_compiled_module_inside_gaussmix():
    from gaussmix import _gmmcore

    assert Path(_gmmcore.__file__).suffix in (".so", ".pyd")
    assert Path(_gmmcore.__file__).parent == Path(gaussmix.__file__).parent


@pytest.mark.skipif(not IN_CHECKOUT, reason="needs the source checkout beside the tests")
@pytest.mark.parametrize("args", [
    ["-c", "import gaussmix, gaussmix._gmmcore as core; print(gaussmix.__file__, core.__file__)"],
    ["-m", "gaussmix", "--help"],
    ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--co", "tests/test_kernel.py"],
], ids=["import", "python -m gaussmix", "python -m pytest"])
def test_checkout_root_does_not_shadow_the_installed_package(args):
    result = _run(args, ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "compiled module is missing" not in result.stdout + result.stderr
    if args[0] == "-c" and not _editable():
        for path in result.stdout.split():  # site-packages, not the checkout's sources
            resolved = Path(path).resolve()
            assert not resolved.is_relative_to(ROOT / "src"), path
            assert not resolved.is_relative_to(ROOT / "gmmcore"), path
