"""The ``gaussmix`` command line: fit / predict / sample / info / demo, compared with
the Python API, and its errors (one line, exit status 2, no traceback)."""

import io
import json
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest

import gaussmix
from gaussmix import GaussianMixture, load, load_faithful, select
from gaussmix._cli import main
from gaussmix._cli._data import read_table

OPTIONS = ["--n-init", "2", "--no-report", "-q"]


def read_csv(path_or_text):
    """Header and values of a CSV written by the command line."""
    text = (path_or_text if "\n" in str(path_or_text)
            else open(path_or_text, encoding="utf-8").read())
    lines = text.strip().splitlines()
    header = lines[0].split(",")
    values = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    return header, values


@pytest.fixture(scope="module")
def faithful():
    X, names = load_faithful()
    return X, names


@pytest.fixture(scope="module")
def faithful_csv(tmp_path_factory, faithful):
    X, names = faithful
    path = tmp_path_factory.mktemp("data") / "faithful.csv"
    np.savetxt(path, X, delimiter=",", header=",".join(names), comments="", fmt="%.17g")
    return str(path)


@pytest.fixture(scope="module")
def blobs():
    """Three clusters in 3-D, unequal spreads."""
    rng = np.random.default_rng(7)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 1.0, -2.0], [1.0, 7.0, 3.0]])
    X = np.vstack([rng.normal(c, s, (60, 3)) for c, s in zip(centres, (1.0, 0.6, 1.4))])
    return X[rng.permutation(X.shape[0])]


@pytest.fixture(scope="module")
def blobs_csv(tmp_path_factory, blobs):
    """The 3-D clusters as a CSV without header."""
    path = tmp_path_factory.mktemp("data") / "blobs.csv"
    np.savetxt(path, blobs, delimiter=",", fmt="%.17g")
    return str(path)


def run_fit(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out


# ====================================================================== round trips
def test_fit_faithful_matches_the_python_api(faithful, faithful_csv, tmp_path, capsys):
    X, names = faithful
    out = tmp_path / "fit"
    run_fit(["fit", faithful_csv, "-k", "1-4", "--out", str(out), *OPTIONS], capsys)
    result = select(X, range(1, 5), "full", n_init=2, random_state=0)
    G = result.best_params_["n_components"]
    api = GaussianMixture(G, n_init=2, random_state=0).fit(X)
    header, values = read_csv(out / "labels.csv")
    assert header == ["row", "label", "probability", "uncertainty"]
    np.testing.assert_array_equal(values[:, 0], np.arange(1, X.shape[0] + 1))
    np.testing.assert_array_equal(values[:, 1], api.predict(X))
    top = api.predict_proba(X).max(axis=1)
    np.testing.assert_allclose(values[:, 2], top, rtol=1e-9)
    np.testing.assert_allclose(values[:, 3], 1.0 - top, rtol=1e-6, atol=1e-12)
    loaded = load(out / "model.npz")
    assert loaded.n_components == G == 2
    np.testing.assert_array_equal(loaded.predict(X), api.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), api.predict_proba(X), rtol=1e-12)
    prep = json.loads((out / "preprocessing.json").read_text())
    assert prep == {"columns": names, "standardize": None}
    assert not (out / "probabilities.csv").exists() and not (out / "report.html").exists()


def test_fit_3d_csv_without_header(blobs, blobs_csv, tmp_path, capsys):
    out = tmp_path / "fit"
    text = run_fit(["fit", blobs_csv, "-k", "2-4", "-c", "diag,full,VEV", "--seed", "3",
                    "--out", str(out), "--probabilities", "--n-init", "2", "--no-report"],
                   capsys)
    result = select(blobs, [2, 3, 4], ["diag", "full", "VEV"], n_init=2, random_state=3)
    params = result.best_params_
    assert params["n_components"] == 3
    api = GaussianMixture(params["n_components"], covariance_type=params["covariance_type"],
                          n_init=2, random_state=3).fit(blobs)
    _, labels = read_csv(out / "labels.csv")
    np.testing.assert_array_equal(labels[:, 1], api.predict(blobs))
    header, proba = read_csv(out / "probabilities.csv")
    assert header == ["row", "p0", "p1", "p2"]
    np.testing.assert_allclose(proba[:, 1:], api.predict_proba(blobs), rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(load(out / "model.npz").predict(blobs), api.predict(blobs))
    # The summary: what was chosen, why (criterion and the gap to the next best), the rest.
    best = f"{params['covariance_type']},3"
    assert (f"GaussianMixture(n_components=3, covariance_type={params['covariance_type']!r})"
            f": chosen by BIC: lowest BIC ({result.best_criterion_:.2f})") in text
    second = result.top(2)
    assert f"{second['delta'].iloc[1]:.2f} below the next best, {second.index[1]}" in text
    assert "converged in" in text and "top alternatives:" in text
    assert "x0, x1, x2" in text and best not in text.split("top alternatives:")[1]


def test_predict_sample_info_round_trip(faithful, faithful_csv, tmp_path, capsys):
    X, names = faithful
    out = tmp_path / "fit"
    run_fit(["fit", faithful_csv, "-k", "2", "--out", str(out), *OPTIONS], capsys)
    model = load(out / "model.npz")
    text = run_fit(["predict", str(out / "model.npz"), faithful_csv, "--probabilities"],
                   capsys)
    header, values = read_csv(text)
    assert header == ["row", "label", "probability", "uncertainty", "p0", "p1"]
    np.testing.assert_array_equal(values[:, 1], model.predict(X))
    np.testing.assert_allclose(values[:, 4:], model.predict_proba(X), rtol=1e-8, atol=1e-12)
    # The directory stands for its model; --out writes a file.
    target = tmp_path / "labels.csv"
    run_fit(["predict", str(out), faithful_csv, "--out", str(target)], capsys)
    assert read_csv(target)[1][:, 1].tolist() == model.predict(X).tolist()

    text = run_fit(["sample", str(out), "7", "--seed", "5"], capsys)
    header, values = read_csv(text)
    assert header == [*names, "component"]
    model.set_params(random_state=5)
    X_new, y_new = model.sample(7)
    np.testing.assert_allclose(values[:, :2], X_new, rtol=1e-9)
    np.testing.assert_array_equal(values[:, 2], y_new)

    text = run_fit(["info", str(out)], capsys)
    assert "n_components=2, covariance_type='full', method='em'" in text
    assert "eruptions, waiting" in text and "converged" in text
    assert f"weight {model.weights_[0]:.3f}" in text


def test_standardize_fits_z_scores_and_predict_applies_them(faithful, faithful_csv,
                                                            tmp_path, capsys):
    X, _ = faithful
    out = tmp_path / "fit"
    run_fit(["fit", faithful_csv, "-k", "1-3", "-c", "tied,diag", "--standardize",
             "--out", str(out), *OPTIONS], capsys)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    best = select(Z, [1, 2, 3], ["tied", "diag"], n_init=2, random_state=0).best_estimator_
    _, labels = read_csv(out / "labels.csv")
    np.testing.assert_array_equal(labels[:, 1], best.predict(Z))
    model = load(out / "model.npz")
    np.testing.assert_allclose(model.means_, best.means_, rtol=1e-12)
    # predict reads the raw file and standardizes it as in the fit
    _, predicted = read_csv(run_fit(["predict", str(out), faithful_csv], capsys))
    np.testing.assert_array_equal(predicted[:, 1], best.predict(Z))
    # sample returns rows in the data's units
    _, drawn = read_csv(run_fit(["sample", str(out), "4000", "--seed", "1"], capsys))
    np.testing.assert_allclose(drawn[:, :2].mean(axis=0), X.mean(axis=0), rtol=0.03)
    np.testing.assert_allclose(drawn[:, :2].std(axis=0), X.std(axis=0), rtol=0.08)


def test_columns_by_name_and_position(blobs, tmp_path, capsys):
    path = tmp_path / "with_id.csv"   # a text column first: only the chosen must be numbers
    path.write_text("id,a,b,c\n" + "".join(f"id{i},{x:.17g},{y:.17g},{z:.17g}\n"
                                            for i, (x, y, z) in enumerate(blobs)))
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    run_fit(["fit", str(path), "-k", "3", "--columns", "a,c", "--out", str(out_a),
             *OPTIONS], capsys)
    run_fit(["fit", str(path), "-k", "3", "--columns", "1,3", "--out", str(out_b),
             *OPTIONS], capsys)
    api = GaussianMixture(3, n_init=2, random_state=0).fit(blobs[:, [0, 2]])
    for out in (out_a, out_b):
        np.testing.assert_array_equal(read_csv(out / "labels.csv")[1][:, 1],
                                      api.predict(blobs[:, [0, 2]]))
    assert json.loads((out_a / "preprocessing.json").read_text())["columns"] == ["a", "c"]
    # predict on the file with the extra columns picks a and c by name
    _, predicted = read_csv(run_fit(["predict", str(out_a), str(path)], capsys))
    np.testing.assert_array_equal(predicted[:, 1], api.predict(blobs[:, [0, 2]]))


def test_stdin_npy_and_parquet_read_the_same_data(faithful, faithful_csv, tmp_path, capsys,
                                                  monkeypatch):
    X, names = faithful
    api = GaussianMixture(2, n_init=2, random_state=0).fit(X).predict(X)
    monkeypatch.setattr(sys, "stdin", io.StringIO(open(faithful_csv).read()))
    run_fit(["fit", "-", "-k", "2", "--out", str(tmp_path / "stdin"), *OPTIONS], capsys)
    np.save(tmp_path / "X.npy", X)
    run_fit(["fit", str(tmp_path / "X.npy"), "-k", "2", "--out", str(tmp_path / "npy"),
             *OPTIONS], capsys)
    outs = ["stdin", "npy"]
    try:   # pyarrow is optional (the test extra has it)
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        import pandas as pd

        pd.DataFrame(X, columns=names).to_parquet(tmp_path / "X.parquet")
        run_fit(["fit", str(tmp_path / "X.parquet"), "-k", "2", "--out",
                 str(tmp_path / "pq"), *OPTIONS], capsys)
        outs.append("pq")
    for name in outs:
        np.testing.assert_array_equal(read_csv(tmp_path / name / "labels.csv")[1][:, 1], api)
    assert read_table(str(tmp_path / "X.npy")).columns == ["x0", "x1"]


def test_parquet_without_pyarrow_names_the_extra(tmp_path, capsys, monkeypatch):
    path = tmp_path / "X.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert main(["fit", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs pyarrow" in err and "gaussmix[parquet]" in err


def test_variational_is_ranked_by_the_elbo(faithful, faithful_csv, tmp_path, capsys):
    X, _ = faithful
    out = tmp_path / "vb"
    text = run_fit(["fit", faithful_csv, "--method", "variational", "-k", "2-3",
                    "-c", "full,diag", "--max-iter", "200", "--out", str(out), *OPTIONS],
                   capsys)
    result = select(X, [2, 3], ["full", "diag"], method="variational", criterion="elbo",
                    n_init=2, random_state=0, max_iter=200)
    params = result.best_params_
    model = load(out / "model.npz")
    assert model.method == "variational"
    assert (model.n_components, model.covariance_type) == (params["n_components"],
                                                           params["covariance_type"])
    api = GaussianMixture(params["n_components"], covariance_type=params["covariance_type"],
                          method="variational", n_init=2, random_state=0,
                          max_iter=200).fit(X)
    np.testing.assert_array_equal(read_csv(out / "labels.csv")[1][:, 1], api.predict(X))
    assert "chosen by -2 ELBO" in text or text == ""


def test_icl_criterion_and_threads(blobs, blobs_csv, tmp_path, capsys):
    out = tmp_path / "icl"
    run_fit(["fit", blobs_csv, "-k", "1-4", "-c", "spherical,tied", "--criterion", "icl",
             "--threads", "1", "--out", str(out), *OPTIONS], capsys)
    result = select(blobs, range(1, 5), ["spherical", "tied"], criterion="icl", n_init=2,
                    random_state=0)
    model = load(out / "model.npz")
    assert {"n_components": model.n_components,
            "covariance_type": model.covariance_type} == result.best_params_
    np.testing.assert_array_equal(read_csv(out / "labels.csv")[1][:, 1],
                                  result.best_estimator_.predict(blobs))


def test_demo_with_out_is_the_fit_of_old_faithful(faithful, tmp_path, capsys):
    X, _ = faithful
    out = tmp_path / "demo"
    text = run_fit(["demo", "--n-init", "3", "-k", "1-3", "--out", str(out), "--no-report"],
                   capsys)
    api = select(X, [1, 2, 3], "full", n_init=3, random_state=0).best_estimator_
    np.testing.assert_array_equal(read_csv(out / "labels.csv")[1][:, 1], api.predict(X))
    assert "Old Faithful" in text and "Convergence report" in text
    assert "chosen by BIC" in text


# ====================================================================== help, version
def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"gaussmix {gaussmix.__version__}"


@pytest.mark.parametrize("argv", [["--help"], ["fit", "--help"], ["predict", "--help"],
                                  ["sample", "--help"], ["info", "--help"],
                                  ["demo", "--help"]])
def test_help_is_plain_text_with_defaults(argv, capsys):
    assert main(argv) == 0
    text = capsys.readouterr().out
    for markup in ("``", ":class:", ":func:", ":meth:", ":data:"):
        assert markup not in text
    assert not re.search(r"^\s*\.\. ", text, re.MULTILINE)   # no reST directives
    if argv[0] == "fit":
        for default in ("(default: 1-9)", "(default: full)", "(default: em)",
                        "(default: 3)", "(default: 0)", "(default: gaussmix-fit)"):
            assert default in " ".join(text.split()), default


# ====================================================================== errors
@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, faithful_csv):
    d = tmp_path_factory.mktemp("bad")
    (d / "text.csv").write_text("a,b,species\n1,2,setosa\n3,4,virginica\n5,6,setosa\n")
    (d / "nan.csv").write_text("a,b\n1,2\n3,4\n5,\n7,8\n")
    (d / "nan_word.csv").write_text("1,2\n3,NaN\n5,6\n")
    (d / "one.csv").write_text("a,b\n1,2\n")
    (d / "empty.csv").write_text("")
    (d / "a_file").write_text("not a directory")
    np.save(d / "strings.npy", np.array([["a", "b"], ["c", "d"]]))
    return d


ERRORS = [
    (["fit", "{d}/missing.csv"], "missing.csv: no such file"),
    (["fit", "{d}/text.csv"], "column 'species' is not numeric (row 1: 'setosa')"),
    (["fit", "{d}/nan.csv"], "row 3, column 'b' is missing (NaN)"),
    (["fit", "{d}/nan_word.csv"], "row 2, column 'x1' is missing (NaN)"),
    (["fit", "{d}/one.csv"], "has 1 row"),
    (["fit", "{csv}", "-k", "300"], "has 272 rows: fitting 300 components needs at least 300"),
    (["fit", "{d}/empty.csv"], "no data"),
    (["fit", "{d}/strings.npy"], "not numeric"),
    (["fit", "{csv}", "-c", "VXV"], "unknown covariance type 'VXV'"),
    (["fit", "{csv}", "-c", "full,full"], "lists full twice"),
    (["fit", "{csv}", "--method", "variational", "-c", "VEV"], "not VEV"),
    (["fit", "{csv}", "--method", "variational", "--criterion", "bic"], "--criterion elbo"),
    (["fit", "{csv}", "--criterion", "elbo"], "--method variational"),
    (["fit", "{csv}", "-k", "5-2"], "the range 5-2 is empty"),
    (["fit", "{csv}", "-k", "0-3"], "start at 1"),
    (["fit", "{csv}", "-k", "1-x"], "a range such as 1-9"),
    (["fit", "{csv}", "--n-init", "0"], "must be at least 1"),
    (["fit", "{csv}", "--columns", "nope"], "has no column 'nope'"),
    (["fit", "{csv}", "--columns", "7"], "not 7"),
    (["fit", "{csv}", "--out", "{d}/a_file"], "exists and is not a directory"),
    (["fit", "{csv}", "--out", "{d}/a_file/sub"], "cannot write there"),
    (["fit", "{csv}", "--bogus"], "unrecognized arguments: --bogus"),
    (["fit"], "required: DATA"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["predict", "{d}/missing.npz", "{csv}"], "missing.npz: no such file"),
    (["predict", "{csv}", "{csv}"], "not a gaussmix model file"),
    (["info", "{d}/text.csv"], "not a gaussmix model file"),
    (["sample", "{d}/missing.npz", "3"], "no such file"),
    (["sample", "{d}/missing.npz", "-3"], "must be at least 1"),
]


@pytest.mark.parametrize("argv, message", ERRORS, ids=[" ".join(a) for a, _ in ERRORS])
def test_bad_input_is_one_line_and_exit_2(argv, message, bad_files, faithful_csv, tmp_path,
                                          capsys):
    argv = [a.format(d=bad_files, csv=faithful_csv) for a in argv]
    if argv[0] == "fit" and "--out" not in argv and len(argv) > 1:
        argv += ["--out", str(tmp_path / "out")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("gaussmix: error: ")
    assert captured.err.count("\n") == 1, captured.err
    assert message in captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_predict_with_wrong_columns(blobs_csv, faithful_csv, tmp_path, capsys):
    out = tmp_path / "fit"
    run_fit(["fit", faithful_csv, "-k", "2", "--out", str(out), *OPTIONS], capsys)
    assert main(["predict", str(out), blobs_csv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has 3 columns but the model has 2 features" in err


def cli(args, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "gaussmix", *args], capture_output=True,
                          text=True, env=env, timeout=120, **kwargs)


@pytest.mark.parametrize("args, status", [
    (["fit", "{d}/missing.csv"], 2),
    (["fit", "{d}/nan.csv", "--out", "{d}/out"], 2),
    (["fit", "{d}/text.csv", "--out", "{d}/out"], 2),
    (["fit", "{csv}", "-k", "2-1"], 2),
    (["fit", "{csv}", "--out", "{d}/a_file/sub"], 2),
])
def test_subprocess_errors_have_no_traceback(args, status, bad_files, faithful_csv):
    result = cli([a.format(d=bad_files, csv=faithful_csv) for a in args])
    assert result.returncode == status
    assert result.stderr.startswith("gaussmix: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_subprocess_fit_from_stdin(faithful, faithful_csv, tmp_path):
    X, _ = faithful
    with open(faithful_csv) as fh:
        result = cli(["fit", "-", "-k", "2", "--out", str(tmp_path / "o"), "--no-report"],
                     stdin=fh)
    assert result.returncode == 0, result.stderr
    assert "chosen by BIC" in result.stdout and "stdin, 272 rows" in result.stdout
    # Not a terminal: no progress bar on stderr.
    assert result.stderr == ""
    api = GaussianMixture(2, n_init=3, random_state=0).fit(X)
    np.testing.assert_array_equal(read_csv(tmp_path / "o" / "labels.csv")[1][:, 1],
                                  api.predict(X))


def test_the_cli_imports_no_optional_package_until_it_needs_one(tmp_path):
    # (pandas, which gaussmix needs, imports pyarrow itself when it is installed: only
    # what the command line adds is checked for it.)
    code = ("import sys, gaussmix; before = set(sys.modules); "
            "assert 'gaussmix._cli' not in sys.modules; "
            "from gaussmix._cli import main; status = main(['fit', '--help']); "
            "added = set(sys.modules) - before; "
            "print(sorted(m for m in ('matplotlib', 'tqdm', 'pyarrow') if m in added "
            "or (m != 'pyarrow' and m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("[]"), result.stdout[-200:]


# ====================================================================== progress
class FakeBar:
    made = []

    def __init__(self, total, desc):
        self.total, self.desc, self.n = total, desc, 0
        FakeBar.made.append(self)

    def update(self, n=1):
        self.n += n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("tty, quiet, expected", [(True, False, True), (True, True, False),
                                                   (False, False, False)])
def test_progress_bar_only_on_a_terminal_and_not_quiet(tty, quiet, expected, faithful_csv,
                                                       tmp_path, monkeypatch, capsys):
    FakeBar.made = []
    fake = types.ModuleType("tqdm.auto")
    fake.tqdm = FakeBar
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", fake)
    monkeypatch.setattr(sys, "stderr", Terminal() if tty else io.StringIO())
    argv = ["fit", faithful_csv, "-k", "1-3", "-c", "full,tied", "--n-init", "1",
            "--no-report", "--out", str(tmp_path / "o")] + (["-q"] if quiet else [])
    assert main(argv) == 0
    if expected:
        assert len(FakeBar.made) == 1 and FakeBar.made[0].total == 6
        assert FakeBar.made[0].n == 6
    else:
        assert FakeBar.made == []
    if quiet:
        assert capsys.readouterr().out == ""
