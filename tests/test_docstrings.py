"""Every public object has a numpydoc-valid docstring whose Examples run as doctests.

numpydoc's own validator is the reference (the checks of ``numpydoc lint``), applied
to each public class, function and method of the installed package.
"""

import doctest
import inspect

import pytest

import gaussmix
import gaussmix.diagnostics

numpydoc_validate = pytest.importorskip("numpydoc.validate")

# Optional sections: a See Also or an Extended Summary is not required of every object.
IGNORED = {"SA01", "ES01"}


def _public_objects():
    """(qualified name, object) of every public class, function and method."""
    seen = {}
    for module in (gaussmix, gaussmix.diagnostics):
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            qualname = f"{module.__name__}.{name}"
            if id(obj) in {id(o) for o in seen.values()}:
                continue
            seen[qualname] = obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not callable(member):
                        continue
                    seen[f"{qualname}.{attr}"] = member
    return seen


PUBLIC = _public_objects()


def test_the_public_api_is_covered():
    assert "gaussmix.GaussianMixture.fit" in PUBLIC
    assert "gaussmix.diagnostics.loo" in PUBLIC
    assert len(PUBLIC) >= 24


@pytest.mark.parametrize("qualname", sorted(PUBLIC))
def test_numpydoc_valid(qualname):
    result = numpydoc_validate.validate(qualname)
    errors = [f"{code}: {message}" for code, message in result["errors"]
              if code not in IGNORED]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("qualname", sorted(PUBLIC))
def test_examples_run_as_doctests(qualname, tmp_path, monkeypatch):
    """Every public object carries Examples, and they run and print what they say."""
    obj = PUBLIC[qualname]
    assert "Examples\n" in (inspect.getdoc(obj) or ""), f"{qualname} has no Examples"
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(obj, qualname, globs={}) if t.examples]
    assert tests, f"{qualname}: no runnable example"
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
