"""scikit-learn's own mixture tests, run against gaussmix.

The test files shipped with the installed scikit-learn
(``sklearn/mixture/tests/test_{gaussian_mixture,bayesian_mixture,mixture}.py``) are
read at test time, and only their imports of the estimator classes are rewritten::

    from sklearn.mixture import GaussianMixture            ->  from gaussmix import ...
    from sklearn.mixture import (BayesianGaussianMixture,  ->  from gaussmix import ...
                                 GaussianMixture)

Everything else -- the test bodies, the private scikit-learn helpers the tests use as
references (``sklearn.mixture._gaussian_mixture._estimate_gaussian_parameters``, ...),
``RandomData`` imported from scikit-learn's own test module -- is left as it is.  The
rewritten modules are written to a temporary directory and run by pytest in a
subprocess, with scikit-learn's ``conftest`` loaded as a plugin for its fixtures
(``global_dtype``, ``global_random_seed``).  float32 variants run too
(``SKLEARN_RUN_FLOAT32_TESTS=1``); ``SKLEARN_TESTS_GLOBAL_RANDOM_SEED`` is passed
through from the environment (scikit-learn's default seed is 42; ``all`` runs the seeds
0-99).  The array-API tests skip unless ``SCIPY_ARRAY_API=1`` is set in the environment,
as in scikit-learn's own default test run.

Only the tests in :data:`DESELECTED` are left out: those that exercise non-public API of
the estimator (private methods, scikit-learn internals applied to the estimator,
monkeypatched scikit-learn internals).  The entries are matched exactly (test function
name, all parametrisations); an entry that matches no test of a collected file fails
the run, so the list cannot go stale silently when scikit-learn renames a test.
"""

import ast
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

# "<file>::<test function>" -> why it is not run.  Nothing else is deselected.
DESELECTED = {
    "test_gaussian_mixture.py::test_gaussian_mixture_n_parameters":
        "asserts on the private method GaussianMixture._n_parameters()",
    "test_gaussian_mixture.py::test_gaussian_mixture_aic_bic":
        "builds the expected aic/bic from the private method GaussianMixture._n_parameters()",
    "test_gaussian_mixture.py::test_gaussian_mixture_precisions_init":
        "calls the private methods GaussianMixture._set_parameters() and ._initialize(X, resp)",
    "test_gaussian_mixture.py::test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters":
        "monkeypatches sklearn.mixture._gaussian_mixture._estimate_gaussian_parameters "
        "and counts calls to it",
    "test_bayesian_mixture.py::test_compare_covar_type":
        "calls the private methods BayesianGaussianMixture._check_parameters(X) and "
        "._initialize_parameters(X, random_state)",
}

SUITE_FILES = ("test_gaussian_mixture.py", "test_bayesian_mixture.py", "test_mixture.py")
ESTIMATORS = frozenset({"GaussianMixture", "BayesianGaussianMixture"})
TIMEOUT = 300  # seconds per file; the three files take ~10 s together with scikit-learn

# Written next to the rewritten modules: exact deselection with reasons, and a check that
# the estimator classes the modules use are gaussmix's.
CONFTEST = textwrap.dedent('''
    import json
    from pathlib import Path

    import pytest

    DESELECTED = json.loads((Path(__file__).parent / "deselected.json").read_text())
    ESTIMATORS = ("GaussianMixture", "BayesianGaussianMixture")
    _deselected = []


    def pytest_collection_modifyitems(config, items):
        keep, drop, files, matched = [], [], set(), set()
        for item in items:
            module = getattr(item, "module", None)
            for name in ESTIMATORS:
                cls = getattr(module, name, None)
                if cls is not None and not cls.__module__.startswith("gaussmix"):
                    raise pytest.UsageError(
                        f"{module.__name__}.{name} is {cls.__module__}.{cls.__qualname__}, "
                        "not gaussmix's: the import rewrite did not take effect"
                    )
            key = item.nodeid.split("[", 1)[0]
            files.add(key.split("::", 1)[0])
            if key in DESELECTED:
                drop.append(item)
                matched.add(key)
            else:
                keep.append(item)
        stale = [k for k in DESELECTED if k.split("::", 1)[0] in files and k not in matched]
        if stale:
            raise pytest.UsageError(f"deselect entries matching no test: {stale}")
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
            _deselected.extend(sorted({i.nodeid.split("[", 1)[0] for i in drop}))


    def pytest_terminal_summary(terminalreporter):
        if _deselected:
            terminalreporter.section("deselected (non-public API of the estimator)")
            for key in _deselected:
                terminalreporter.write_line(f"{key}: {DESELECTED[key]}")
''')


def sklearn_tests_dir():
    import sklearn

    return Path(sklearn.__file__).parent / "mixture" / "tests"


def rewrite_estimator_imports(source, filename):
    """``source`` with ``from sklearn.mixture import <estimators>`` taken from gaussmix.

    Each rewritten statement keeps its lines (padded with blank lines), so line numbers
    in tracebacks are those of the installed file.  Other names imported from
    ``sklearn.mixture`` (none today) stay imported from there.  Any other way of reaching
    the public estimators (``import sklearn.mixture``, ``from sklearn import mixture``,
    ``sklearn.mixture.GaussianMixture``) is an error: it would silently test sklearn.
    """
    tree = ast.parse(source, filename)
    lines = source.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "sklearn.mixture":
            ours = [a for a in node.names if a.name in ESTIMATORS]
            if not ours:
                continue
            rest = [a for a in node.names if a.name not in ESTIMATORS]

            def names(aliases):
                return ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in aliases)

            first, last = node.lineno - 1, node.end_lineno - 1
            indent = lines[first][: node.col_offset]
            if (lines[first][: node.col_offset].strip()
                    or lines[last][node.end_col_offset:].split("#", 1)[0].strip()):
                raise AssertionError(f"{filename}:{node.lineno}: import shares its line")
            new = [f"{indent}from gaussmix import {names(ours)}\n"]
            if rest:
                new.append(f"{indent}from sklearn.mixture import {names(rest)}\n")
            span = last - first + 1
            if len(new) > span:
                new = ["; ".join(s.strip() for s in new) + "\n"]
                new[0] = indent + new[0]
            new += ["\n"] * (span - len(new))
            edits.append((first, last, new))
        elif isinstance(node, ast.Import) and any(a.name == "sklearn.mixture" for a in node.names):
            raise AssertionError(f"{filename}:{node.lineno}: 'import sklearn.mixture' not rewritten")
        elif (isinstance(node, ast.ImportFrom) and node.module == "sklearn"
              and any(a.name == "mixture" for a in node.names)):
            raise AssertionError(f"{filename}:{node.lineno}: 'from sklearn import mixture' not rewritten")
        elif (isinstance(node, ast.Attribute) and node.attr in ESTIMATORS
              and isinstance(node.value, ast.Attribute) and node.value.attr == "mixture"):
            raise AssertionError(f"{filename}:{node.lineno}: sklearn.mixture.{node.attr} not rewritten")
    if not edits:
        raise AssertionError(f"{filename}: no 'from sklearn.mixture import' of an estimator found")
    for first, last, new in sorted(edits, reverse=True):
        lines[first:last + 1] = new
    return "".join(lines)


@pytest.fixture(scope="module")
def suite_dir(tmp_path_factory):
    src = sklearn_tests_dir()
    missing = [f for f in SUITE_FILES if not (src / f).is_file()]
    if missing:
        pytest.skip(f"the installed scikit-learn ships no {missing} in {src}")
    out = tmp_path_factory.mktemp("sklearn_mixture_suite")
    for name in SUITE_FILES:
        path = src / name
        (out / name).write_text(rewrite_estimator_imports(path.read_text(), str(path)))
    (out / "deselected.json").write_text(json.dumps(DESELECTED, indent=1))
    (out / "conftest.py").write_text(CONFTEST)
    # An ini file in the directory makes it pytest's rootdir: no configuration of this
    # repository (addopts, testpaths) or above the temporary directory applies.
    (out / "pytest.ini").write_text("[pytest]\n")
    return out


def test_deselected_entries_are_well_formed():
    for key, reason in DESELECTED.items():
        file, _, func = key.partition("::")
        assert file in SUITE_FILES and func.startswith("test_") and "[" not in func, key
        assert reason and "\n" not in reason, key


def test_rewrite_handles_every_import_form():
    src = textwrap.dedent("""\
        from sklearn.mixture import GaussianMixture
        from sklearn.mixture import BayesianGaussianMixture, GaussianMixture as GM
        from sklearn.mixture import (
            BayesianGaussianMixture,
            GaussianMixture,
        )
        from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky
        def f():
            from sklearn.mixture import GaussianMixture  # comment
        x = 1
        """)
    out = rewrite_estimator_imports(src, "<test>")
    assert out.splitlines() == [
        "from gaussmix import GaussianMixture",
        "from gaussmix import BayesianGaussianMixture, GaussianMixture as GM",
        "from gaussmix import BayesianGaussianMixture, GaussianMixture",
        "", "", "",
        "from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky",
        "def f():",
        "    from gaussmix import GaussianMixture",
        "x = 1",
    ]
    with pytest.raises(AssertionError, match="not rewritten"):
        rewrite_estimator_imports("import sklearn.mixture\n", "<test>")
    with pytest.raises(AssertionError, match="not rewritten"):
        rewrite_estimator_imports(
            "from sklearn.mixture import GaussianMixture\nsklearn.mixture.GaussianMixture\n",
            "<test>")


@pytest.mark.parametrize("name", SUITE_FILES)
def test_sklearn_mixture_suite(suite_dir, name):
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env.setdefault("SKLEARN_RUN_FLOAT32_TESTS", "1")
    cmd = [
        sys.executable, "-m", "pytest", name,
        "-q", "-p", "no:cacheprovider", "-p", "sklearn.conftest",
        "--import-mode=importlib", "-rfE", "--tb=short", "--color=no",
    ]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, check=False, cwd=suite_dir, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        if isinstance(out, bytes):  # (TimeoutExpired may carry bytes even with text=True)
            out = out.decode(errors="replace")
        pytest.fail(f"scikit-learn's {name} did not finish in {TIMEOUT} s:\n{out[-30000:]}",
                    pytrace=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        pytest.fail(
            f"scikit-learn's {name} against gaussmix: exit code {proc.returncode} after "
            f"{elapsed:.1f} s (rewritten copy in {suite_dir})\n{output[-30000:]}",
            pytrace=False,
        )
