"""gmmcore directly, against a plain NumPy implementation of its documented contract.

From the docstring of gmmcore/_gmmcore.pyx:

    log_prob[n, k] = log_norm[k] - 0.5 * ||(x_n - a_p) @ U_p - offset_k||^2
    r_nk = w_n softmax_k(log_prob[n])
    N_k = sum_n r_nk,  S1_k = sum_n r_nk (x_n - m_k),
    S2_k = sum_n r_nk (x_n - m_k)(x_n - m_k)^T  (lower triangle of row-major d x d,
           pooled over k when s2 has one row; its diagonal in the diagonal layout)

with the triangular layout (factors (kp, d*d), kp = k, or kp = 1 plus offsets) and
the diagonal layout (factors (k, d)).
"""

import io
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from gaussmix import GaussianMixture, _gmmcore, _kernel, show_versions

CHUNK = _kernel.CHUNK_SIZE
N_SAMPLES = sorted({1, CHUNK - 1, CHUNK, CHUNK + 1, 1000})
D, K = 3, 4
# (name, kernel layout, rows of s2: "k" per component or "1" pooled)
LAYOUTS = [
    ("full", "k"),       # kp = k triangular factors
    ("full", "1"),       # kp = k factors, statistics pooled (allowed by the contract)
    ("tied", "1"),       # kp = 1 factor + offsets, pooled statistics
    ("tied", "k"),       # kp = 1 factor + offsets, per-component statistics
    ("diag", "k"),       # diagonal factors
]
TOL = {np.float64: 1e-11, np.float32: 2e-5}


# ------------------------------------------------------------------ inputs
def make_problem(n, layout, dtype, seed=0, weighted=False, k=K, d=D):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(k, d))
    X = centres[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
    # centring points of the statistics: near, not equal to, the centres
    means = centres + 0.2 * rng.normal(size=(k, d))
    log_norm = rng.normal(scale=0.5, size=k) - 2.0
    if layout == "diag":
        factors = rng.uniform(0.5, 1.5, size=(k, d))
        anchors, offsets = centres.copy(), None
    else:
        def upper():
            return np.triu(rng.normal(scale=0.3, size=(d, d)), 1) + np.diag(rng.uniform(0.6, 1.4, d))
        if layout == "full":
            factors = np.stack([upper() for _ in range(k)]).reshape(k, d * d)
            anchors, offsets = centres.copy(), None
        else:  # tied: one factor, an anchor and per-component offsets
            u = upper()
            factors = u.reshape(1, d * d)
            anchors = centres.mean(axis=0, keepdims=True) + 0.1
            offsets = (centres - anchors) @ u
    w = None
    if weighted:
        w = rng.choice([0.0, 0.5, 1.0, 3.0], size=n)
        w[0] = 2.0
    cast = lambda a: None if a is None else np.ascontiguousarray(a, dtype=dtype)  # noqa: E731
    return dict(X=cast(X), sample_weight=w, means=cast(means), anchors=cast(anchors),
                offsets=cast(offsets), factors=cast(factors), log_norm=log_norm,
                diagonal=layout == "diag")


def reference_log_prob(p):
    """log_norm[k] - 0.5 ||(x - a_p) @ U_p - offset_k||^2 in float64, plain NumPy."""
    X = p["X"].astype(np.float64)
    n, d = X.shape
    anchors = p["anchors"].astype(np.float64)
    factors = p["factors"].astype(np.float64)
    log_norm = p["log_norm"]
    k = log_norm.shape[0]
    out = np.empty((n, k))
    for j in range(k):
        if p["diagonal"]:
            proj = (X - anchors[j]) * factors[j]
        elif anchors.shape[0] == k:
            proj = (X - anchors[j]) @ factors[j].reshape(d, d)
        else:
            proj = (X - anchors[0]) @ factors[0].reshape(d, d) - p["offsets"][j].astype(np.float64)
        out[:, j] = log_norm[j] - 0.5 * np.sum(proj**2, axis=1)
    return out


def reference_stats(p, pooled):
    lp = reference_log_prob(p)
    n = lp.shape[0]
    w = np.ones(n) if p["sample_weight"] is None else p["sample_weight"]
    lse = logsumexp(lp, axis=1)
    resp = np.exp(lp - lse[:, None]) * w[:, None]
    X = p["X"].astype(np.float64)
    means = p["means"].astype(np.float64)
    k, d = means.shape
    nk = resp.sum(axis=0)
    s1 = np.stack([resp[:, j] @ (X - means[j]) for j in range(k)])
    if p["diagonal"]:
        s2 = np.stack([resp[:, j] @ (X - means[j]) ** 2 for j in range(k)])
    else:
        blocks = np.stack([
            np.tril((X - means[j]).T @ (resp[:, j, None] * (X - means[j]))) for j in range(k)
        ])
        s2 = blocks.sum(axis=0, keepdims=True) if pooled else blocks
        s2 = s2.reshape(s2.shape[0], d * d)
    return float(np.sum(w * lse)), nk, s1, s2


def call_accumulate(p, s2_rows, n_threads=1, fill=np.nan):
    k, d = p["means"].shape
    width = d if p["diagonal"] else d * d
    nk = np.full(k, fill)
    s1 = np.full((k, d), fill)
    s2 = np.full((s2_rows, width), fill)
    ll = _kernel.accumulate_stats_raw(
        p["X"], p["sample_weight"], p["means"], p["anchors"], p["offsets"], p["factors"],
        p["log_norm"], p["diagonal"], nk, s1, s2, n_threads,
    )
    return ll, nk, s1, s2


def call_log_prob(p, n_threads=1):
    out = np.full((p["X"].shape[0], p["log_norm"].shape[0]), np.nan)
    result = _kernel.log_prob_raw(p["X"], p["anchors"], p["offsets"], p["factors"], p["log_norm"],
                              p["diagonal"], out, n_threads)
    assert result is None
    return out


def lower_part(s2, diagonal, d=D):
    """The part of s2 the contract defines: everything (diagonal) or the lower triangle."""
    if diagonal:
        return s2
    return np.tril(s2.reshape(-1, d, d)).reshape(s2.shape[0], -1)


def assert_close(got, want, tol, what):
    scale = max(np.abs(want).max(), 1.0)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale, err_msg=what)


# ------------------------------------------------------------------- tests
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("layout", sorted({name for name, _ in LAYOUTS}))
@pytest.mark.parametrize("n", N_SAMPLES)
def test_log_prob_matches_numpy(n, layout, dtype):
    p = make_problem(n, layout, dtype, seed=n)
    want = reference_log_prob(p)
    for n_threads in (1, 2):
        got = call_log_prob(p, n_threads)
        assert got.dtype == np.float64 and got.shape == (n, K)
        assert_close(got, want, TOL[dtype], f"log_prob, {n_threads} threads")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("layout,s2_rows", LAYOUTS, ids=[f"{a}-s2rows{b}" for a, b in LAYOUTS])
@pytest.mark.parametrize("n", N_SAMPLES)
def test_accumulate_stats_matches_numpy(n, layout, s2_rows, weighted, dtype):
    p = make_problem(n, layout, dtype, seed=1000 + n, weighted=weighted)
    rows = K if s2_rows == "k" else 1
    ll_ref, nk_ref, s1_ref, s2_ref = reference_stats(p, pooled=rows == 1)
    tol = TOL[dtype]
    results = []
    for n_threads in (1, 2):
        ll, nk, s1, s2 = call_accumulate(p, rows, n_threads)
        what = f"{n_threads} threads"
        assert isinstance(ll, float)
        np.testing.assert_allclose(ll, ll_ref, rtol=tol, err_msg="log-likelihood, " + what)
        assert_close(nk, nk_ref, tol, "N_k, " + what)
        assert_close(s1, s1_ref, tol, "S1, " + what)
        assert_close(lower_part(s2, p["diagonal"]), s2_ref, tol, "S2, " + what)
        results.append((ll, nk, s1, s2))
    # the thread count changes only the order of the float64 reduction
    (ll1, nk1, s11, s21), (ll2, nk2, s12, s22) = results
    np.testing.assert_allclose(ll2, ll1, rtol=1e-13)
    for a, b in ((nk1, nk2), (s11, s12), (lower_part(s21, p["diagonal"]), lower_part(s22, p["diagonal"]))):
        assert_close(b, a, 1e-12 if dtype == np.float64 else 1e-5, "1 vs 2 threads")


def test_single_component_and_single_feature():
    for layout in ("full", "diag"):
        p = make_problem(300, layout, np.float64, seed=5, weighted=True, k=1, d=1)
        ll_ref, nk_ref, s1_ref, s2_ref = reference_stats(p, pooled=False)
        ll, nk, s1, s2 = call_accumulate(p, 1)
        np.testing.assert_allclose(ll, ll_ref, rtol=1e-12)
        np.testing.assert_allclose(nk, p["sample_weight"].sum(), rtol=1e-12)
        np.testing.assert_allclose(nk, nk_ref, rtol=1e-12)
        np.testing.assert_allclose(s1, s1_ref, rtol=1e-12)
        np.testing.assert_allclose(s2, s2_ref, rtol=1e-12)


def test_empty_input_gives_zero_statistics():
    p = make_problem(1, "full", np.float64)
    p["X"] = np.empty((0, D))
    ll, nk, s1, s2 = call_accumulate(p, K)
    assert ll == 0.0
    assert not nk.any() and not s1.any() and not s2.any()
    out = np.empty((0, K))
    _kernel.log_prob_raw(p["X"], p["anchors"], None, p["factors"], p["log_norm"], False, out)


def test_read_only_inputs_are_accepted_and_not_modified():
    p = make_problem(CHUNK + 3, "tied", np.float64, seed=9, weighted=True)
    copies = {}
    for name, value in p.items():
        if isinstance(value, np.ndarray):
            copies[name] = value.copy()
            value.setflags(write=False)
    ll_ref, nk_ref, s1_ref, s2_ref = reference_stats(p, pooled=True)
    ll, nk, s1, s2 = call_accumulate(p, 1, n_threads=2)
    np.testing.assert_allclose(ll, ll_ref, rtol=1e-11)
    assert_close(lower_part(s2, False), s2_ref, 1e-11, "S2")
    assert_close(call_log_prob(p, 2), reference_log_prob(p), 1e-11, "log_prob")
    for name, value in copies.items():
        np.testing.assert_array_equal(p[name], value, err_msg=name)


def test_n_threads_is_clipped():
    """0, negative or huge thread counts run (as 1 / as many as there are chunks)."""
    p = make_problem(600, "full", np.float64, seed=3)
    want = reference_stats(p, pooled=False)[0]
    for n_threads in (0, -3, 64):
        ll = call_accumulate(p, K, n_threads)[0]
        np.testing.assert_allclose(ll, want, rtol=1e-12)


def test_openmp_is_enabled_and_reports_threads():
    assert isinstance(_kernel.OPENMP_ENABLED, bool)
    assert _kernel.openmp_max_threads() >= 1
    assert _kernel.CHUNK_SIZE >= 1


# ------------------------------------------------------------- bad inputs
def _bad_cases():
    """(id, function mapping a valid problem to (accumulate kwargs changes))."""
    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    fortran = lambda a: np.asfortranarray(np.repeat(a, 2, axis=0))[::2]  # noqa: E731
    return {
        # wrong shapes
        "X 1-D": dict(X=lambda p: p["X"][:, 0].copy()),
        "X wrong width": dict(X=lambda p: np.ascontiguousarray(p["X"][:, :2])),
        "means wrong rows": dict(means=lambda p: p["means"][:2].copy()),
        "means wrong width": dict(means=lambda p: np.ascontiguousarray(p["means"][:, :2])),
        "anchors wrong width": dict(anchors=lambda p: np.ascontiguousarray(p["anchors"][:, :2])),
        "anchors wrong rows": dict(anchors=lambda p: p["anchors"][:2].copy()),
        "factors wrong width": dict(factors=lambda p: np.ascontiguousarray(p["factors"][:, :4])),
        "factors wrong rows": dict(factors=lambda p: p["factors"][:1].copy()),
        "log_norm wrong length": dict(log_norm=lambda p: np.zeros(K + 1)),
        "offsets given with kp == k": dict(offsets=lambda p: p["means"].copy()),
        "sample_weight wrong length": dict(sample_weight=lambda p: np.ones(p["X"].shape[0] + 1)),
        "sample_weight 2-D": dict(sample_weight=lambda p: np.ones((p["X"].shape[0], 1))),
        "nk wrong length": dict(nk=lambda p: np.empty(K + 1)),
        "s1 wrong shape": dict(s1=lambda p: np.empty((K, D + 1))),
        "s2 wrong width": dict(s2=lambda p: np.empty((K, D))),
        "s2 wrong rows": dict(s2=lambda p: np.empty((2, D * D))),
        # wrong dtypes
        "X int64": dict(X=lambda p: p["X"].astype(np.int64)),
        "X complex": dict(X=lambda p: p["X"].astype(np.complex128)),
        "X float32, rest float64": dict(X=lambda p: f32(p["X"])),
        "means float32": dict(means=lambda p: f32(p["means"])),
        "factors float32": dict(factors=lambda p: f32(p["factors"])),
        "log_norm float32": dict(log_norm=lambda p: f32(p["log_norm"])),
        "sample_weight float32": dict(sample_weight=lambda p: np.ones(p["X"].shape[0], np.float32)),
        "sample_weight int64": dict(sample_weight=lambda p: np.ones(p["X"].shape[0], np.int64)),
        "nk float32": dict(nk=lambda p: np.empty(K, np.float32)),
        "s2 float32": dict(s2=lambda p: np.empty((K, D * D), np.float32)),
        # non-contiguous
        "X Fortran": dict(X=lambda p: np.asfortranarray(p["X"])),
        "X strided view": dict(X=lambda p: np.repeat(p["X"], 2, axis=1)[:, ::2]),
        "X every other row": dict(X=lambda p: np.repeat(p["X"], 2, axis=0)[::2]),
        "means Fortran": dict(means=lambda p: fortran(p["means"])),
        "factors strided": dict(factors=lambda p: np.repeat(p["factors"], 2, axis=1)[:, ::2]),
        "log_norm strided": dict(log_norm=lambda p: np.repeat(p["log_norm"], 2)[::2]),
        "sample_weight strided": dict(sample_weight=lambda p: np.ones(2 * p["X"].shape[0])[::2]),
        "s2 Fortran": dict(s2=lambda p: np.asfortranarray(np.empty((K, D * D)))),
        # read-only output
        "nk read-only": dict(nk=lambda p: _read_only(np.empty(K))),
    }


def _read_only(a):
    a.setflags(write=False)
    return a


BAD = _bad_cases()


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_accumulate_stats_rejects_bad_arrays(case):
    p = make_problem(20, "full", np.float64, seed=2)
    args = dict(p, nk=np.empty(K), s1=np.empty((K, D)), s2=np.empty((K, D * D)))
    for name, make in BAD[case].items():
        args[name] = make(p)
    with pytest.raises(ValueError):
        _kernel.accumulate_stats_raw(
            args["X"], args["sample_weight"], args["means"], args["anchors"], args["offsets"],
            args["factors"], args["log_norm"], args["diagonal"], args["nk"], args["s1"],
            args["s2"], 1,
        )


BAD_LOG_PROB = {
    "X int64": dict(X=lambda p: p["X"].astype(np.int64)),
    "X Fortran": dict(X=lambda p: np.asfortranarray(p["X"])),
    "X strided view": dict(X=lambda p: np.repeat(p["X"], 2, axis=1)[:, ::2]),
    "factors wrong width": dict(factors=lambda p: np.ascontiguousarray(p["factors"][:, :2])),
    "anchors float32": dict(anchors=lambda p: p["anchors"].astype(np.float32)),
    "tied without offsets": dict(anchors=lambda p: p["anchors"][:1].copy(),
                                 factors=lambda p: p["factors"][:1].copy()),
    "diagonal with triangular factors": dict(diagonal=lambda p: True),
    "out wrong shape": dict(out=lambda p: np.empty((p["X"].shape[0], K + 1))),
    "out float32": dict(out=lambda p: np.empty((p["X"].shape[0], K), np.float32)),
    "out Fortran": dict(out=lambda p: np.asfortranarray(np.empty((p["X"].shape[0], K)))),
    "out read-only": dict(out=lambda p: _read_only(np.empty((p["X"].shape[0], K)))),
}


@pytest.mark.parametrize("case", list(BAD_LOG_PROB), ids=list(BAD_LOG_PROB))
def test_log_prob_rejects_bad_arrays(case):
    p = make_problem(20, "full", np.float64, seed=2)
    args = dict(p, out=np.empty((20, K)))
    for name, make in BAD_LOG_PROB[case].items():
        args[name] = make(p)
    with pytest.raises(ValueError):
        _kernel.log_prob_raw(args["X"], args["anchors"], args["offsets"], args["factors"],
                         args["log_norm"], args["diagonal"], args["out"], 1)


def test_bad_tied_offsets_shape_is_rejected():
    p = make_problem(20, "tied", np.float64, seed=2)
    for offsets in (None, p["offsets"][:2].copy(), np.ascontiguousarray(p["offsets"][:, :2])):
        with pytest.raises(ValueError, match="offsets"):
            call_accumulate(dict(p, offsets=offsets), 1)


# ------------------------------------------------------ instruction-set variants
# The core compiles its chunk loops for several instruction sets (baseline; x86-64-v3 =
# AVX2 + FMA; x86-64-v4 = AVX-512) and picks one at import.  Every variant this CPU
# runs is checked against the NumPy reference above and against the baseline variant
# (1e-12 relative in float64, 1e-5 in float32), on both code paths (the compiled loops
# up to SMALL_D_MAX features, BLAS above), and its vector exp against libm.
VARIANTS = _kernel.supported_variants()
SAME = {np.float64: 1e-12, np.float32: 1e-5}
REFERENCE = {np.float64: 1e-11, np.float32: 2e-5}
SMALL_D_MAX = _gmmcore.SMALL_D_MAX
SMALL_D_MAX_FLOAT32 = _gmmcore.SMALL_D_MAX_FLOAT32
# (n, d, k): short last chunks, d = 1, odd d, the last d of the compiled loops and the
# first of the BLAS path (float32, float64), k = 1
SHAPES = [(1, 1, 1), (300, 1, 3), (257, 2, 5), (600, 3, 4), (513, 7, 3), (700, 16, 10),
          (300, SMALL_D_MAX_FLOAT32, 3), (300, SMALL_D_MAX_FLOAT32 + 1, 3),
          (300, SMALL_D_MAX, 3), (300, SMALL_D_MAX + 1, 3)]
VARIANT_LAYOUTS = [("full", 0), ("full", 1), ("tied", 1), ("tied", 0), ("diag", 0)]


@pytest.fixture
def variant(request):
    previous = _kernel.use_variant(request.param)
    yield request.param
    _kernel.use_variant(previous)


def test_the_best_supported_variant_is_chosen_at_import():
    assert "baseline" in VARIANTS
    assert set(VARIANTS) <= set(_gmmcore.built_variants())
    expected = os.environ.get(_kernel.VARIANT_ENV) or VARIANTS[-1]
    assert _kernel.kernel_variant() == expected


def test_unknown_and_unsupported_variants_are_refused():
    with pytest.raises(ValueError, match="unknown kernel variant 'sse9'"):
        _kernel.use_variant("sse9")
    unsupported = [v for v in _gmmcore.built_variants() if v not in VARIANTS]
    for name in unsupported:
        with pytest.raises(RuntimeError, match="cannot run"):
            _kernel.use_variant(name)
    assert _kernel.kernel_variant() in VARIANTS


@pytest.mark.parametrize("name", VARIANTS + ["auto", "nonsense"])
def test_environment_variable_forces_a_variant(name):
    code = ("import warnings; warnings.simplefilter('always');"
            "from gaussmix import _kernel; print(_kernel.kernel_variant())")
    env = {**os.environ, _kernel.VARIANT_ENV: name}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    if name in VARIANTS:
        assert proc.stdout.strip() == name
        assert "ignored" not in proc.stderr
    else:
        assert proc.stdout.strip() == VARIANTS[-1]
        assert ("ignored" in proc.stderr) == (name == "nonsense")


def test_show_versions_names_the_variant():
    buf = io.StringIO()
    show_versions(file=buf)
    text = buf.getvalue()
    assert f"kernel variant: {_kernel.kernel_variant()}\n" in text
    assert f"kernel variants this CPU runs: {', '.join(VARIANTS)}\n" in text


@pytest.mark.parametrize("variant", VARIANTS, indirect=True)
def test_vector_exp_is_within_one_ulp_of_libm(variant):
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-708.0, 0.0, 200_001), -rng.exponential(5.0, 100_000),
                        [0.0, -0.0, -1e-300, -5e-324, -0.5 * np.log(2), -700.0, -708.0]])
    x = np.clip(x, -708.0, 0.0)
    got = np.empty_like(x)
    _gmmcore.vexp(x, got)
    want = np.exp(x)
    ulps = np.abs(got - want) / np.spacing(want)
    assert ulps.max() <= 1.0, f"{variant}: {ulps.max()} ulp at x={x[ulps.argmax()]}"


@pytest.mark.parametrize("variant", VARIANTS, indirect=True)
def test_vector_log_is_within_two_ulp_of_libm(variant):
    rng = np.random.default_rng(1)
    # the row totals it is used for (1 .. n_components), then the whole normal range
    x = np.concatenate([np.linspace(1.0, 1000.0, 200_001), 1.0 + rng.random(50_000) * 1e-6,
                        np.exp(rng.uniform(-708.0, 709.0, 100_000)),
                        [1.0, np.sqrt(2.0), np.nextafter(np.sqrt(2.0), 2.0), 2.0, 0.5,
                         np.finfo(np.float64).tiny, np.finfo(np.float64).max]])
    got = np.empty_like(x)
    _gmmcore.vlog(x, got)
    want = np.log(x)
    ulps = np.abs(got - want) / np.spacing(np.abs(want))
    ulps[want == 0.0] = np.abs(got[want == 0.0])
    assert ulps.max() <= 2.0, f"{variant}: {ulps.max()} ulp at x={x[ulps.argmax()]}"


def _run_all(p, rows):
    ll, nk, s1, s2 = call_accumulate(p, rows, n_threads=2)
    return ll, nk, s1, lower_part(s2, p["diagonal"], d=p["means"].shape[1]), call_log_prob(p, 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("layout,pooled", VARIANT_LAYOUTS,
                         ids=[f"{a}-pooled{b}" for a, b in VARIANT_LAYOUTS])
@pytest.mark.parametrize("n,d,k", SHAPES, ids=[f"n{n}-d{d}-k{k}" for n, d, k in SHAPES])
def test_every_variant_matches_numpy_and_the_baseline(n, d, k, layout, pooled, dtype):
    if layout == "tied" and k == 1:
        pytest.skip("one component has no shared factor")
    p = make_problem(n, layout, dtype, seed=n + d + k, weighted=True, k=k, d=d)
    rows = 1 if pooled else k
    ll_ref, nk_ref, s1_ref, s2_ref = reference_stats(p, pooled=pooled)
    previous = _kernel.kernel_variant()
    results = {}
    try:
        for name in VARIANTS:
            _kernel.use_variant(name)
            results[name] = _run_all(p, rows)
    finally:
        _kernel.use_variant(previous)
    base = results["baseline"]
    for name, (ll, nk, s1, s2, lp) in results.items():
        tol = REFERENCE[dtype]
        np.testing.assert_allclose(ll, ll_ref, rtol=tol, err_msg=f"{name}: log-likelihood")
        assert_close(nk, nk_ref, tol, f"{name}: N_k")
        assert_close(s1, s1_ref, tol, f"{name}: S1")
        assert_close(s2, s2_ref, tol, f"{name}: S2")
        for got, want, what in zip((ll, nk, s1, s2, lp), base, ("ll", "nk", "s1", "s2", "lp")):
            assert_close(np.asarray(got), np.asarray(want), SAME[dtype],
                         f"{name} against baseline: {what}")


@pytest.mark.parametrize("variant", VARIANTS, indirect=True)
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_every_variant_fits_like_scikit_learn(variant, covariance_type):
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(m, 1.0, size=(400, 5)) for m in (-3.0, 0.0, 4.0)])
    start = dict(weights_init=np.full(3, 1 / 3),
                 means_init=np.array([[-2.5] * 5, [0.5] * 5, [3.5] * 5]))
    kw = dict(n_components=3, covariance_type=covariance_type, max_iter=30, tol=0, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = GaussianMixture(**kw).fit(X)
        theirs = SkGaussianMixture(**kw).fit(X)
    for attr in ("weights_", "means_", "covariances_"):
        a, b = getattr(ours, attr), getattr(theirs, attr)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10 * np.abs(b).max(),
                                   err_msg=f"{variant}: {attr}")
