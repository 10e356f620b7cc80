"""method='variational': parity with scikit-learn, the complete ELBO, the predictive.

(1) From the same initialisation and for the same number of iterations the variational
posterior equals scikit-learn's ``BayesianGaussianMixture`` (every covariance type, both
weight priors, default and user-set priors); float32 stays float32.
(2) The ELBO never decreases (one run, and warm-started single steps).
(3) ``lower_bound_`` is the complete ELBO: it equals an independent, term-by-term
NumPy/SciPy evaluation at the same posterior, and it is a lower bound on the exact log
evidence (closed form for one component, enumeration of all labellings for two).
(4) The Student-t posterior predictive is a normalised density with the right moments.
(6) A Dirichlet process switches off unneeded components.  (7) Bad priors are rejected,
naming the parameter.  (8) Integer sample weights act as repeated rows.

Every reference here is plain NumPy / SciPy written from the model's definition
(Bishop 2006, section 10.2), not from gaussmix code.
"""

import copy
import itertools
import warnings

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import betaln, digamma, gammaln, logsumexp, multigammaln, xlogy
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

from gaussmix import GaussianMixture

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
WEIGHT_TYPES = ("dirichlet_process", "dirichlet_distribution")
VB_ATTRIBUTES = ("weight_concentration_", "mean_precision_", "means_", "degrees_of_freedom_",
                 "covariances_", "precisions_cholesky_", "precisions_", "weights_")
LOG_2PI = np.log(2.0 * np.pi)


# ------------------------------------------------------------------------ helpers
def make_data(sizes=(50, 35, 25), n_features=2, seed=0, spread=6.0, scale=1.0):
    """Well-separated rotated Gaussian clusters; returns shuffled X, labels, centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=spread, size=(len(sizes), n_features))
    # keep the clusters apart whatever the draw
    centres += spread * np.eye(len(sizes), n_features) * np.arange(1, len(sizes) + 1)[:, None]
    blocks, labels = [], []
    for j, size in enumerate(sizes):
        q, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
        root = q * rng.uniform(0.6, 1.2, size=n_features) * scale
        blocks.append(centres[j] + rng.standard_normal((size, n_features)) @ root.T)
        labels.append(np.full(size, j))
    order = rng.permutation(sum(sizes))
    return np.vstack(blocks)[order], np.concatenate(labels)[order], centres


def vb(**params):
    return GaussianMixture(method="variational", **params)


def fit_quiet(model, X, sample_weight=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if sample_weight is None:
            return model.fit(X)
        return model.fit(X, sample_weight=sample_weight)


def user_priors(covariance_type, n_features, rng):
    """Non-default priors, covariance_prior in the shape of ``covariance_type``."""
    d = n_features
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    matrix = (q * rng.uniform(0.5, 2.0, size=d)) @ q.T
    covariance_prior = {"full": matrix, "tied": matrix,
                        "diag": rng.uniform(0.5, 2.0, size=d),
                        "spherical": 1.7}[covariance_type]
    return dict(mean_prior=rng.normal(size=d), covariance_prior=covariance_prior,
                degrees_of_freedom_prior=d + 1.5, mean_precision_prior=0.3,
                weight_concentration_prior=2.5)


def as_matrices(value, covariance_type, k, d):
    """covariances_ / precisions_ of any type as (k, d, d) matrices."""
    v = np.asarray(value, dtype=np.float64)
    if covariance_type == "full":
        return v.reshape(k, d, d).copy()
    if covariance_type == "tied":
        return np.broadcast_to(v, (k, d, d)).copy()
    if covariance_type == "diag":
        return np.stack([np.diag(row) for row in v])
    return v[:, None, None] * np.eye(d)


def prior_scale_matrix(covariance_type, covariance_prior, d):
    """W_0^-1 as a (d, d) matrix from covariance_prior in its type's shape."""
    c = np.asarray(covariance_prior, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        return c
    if covariance_type == "diag":
        return np.diag(c)
    return float(c) * np.eye(d)


def posterior(model):
    """The variational posterior q of a fitted model, in plain matrix form."""
    k, d = model.means_.shape
    ct = model.covariance_type
    nu = np.broadcast_to(np.asarray(model.degrees_of_freedom_, dtype=np.float64), (k,)).copy()
    # precisions_ = nu_k W_k (scikit-learn's normalisation)
    prec = as_matrices(model.precisions_, ct, k, d)
    conc = model.weight_concentration_
    conc = (tuple(np.asarray(c, np.float64).copy() for c in conc) if isinstance(conc, tuple)
            else np.asarray(conc, np.float64).copy())
    return dict(conc=conc, beta=np.asarray(model.mean_precision_, np.float64).copy(),
                m=np.asarray(model.means_, np.float64).copy(), nu=nu,
                W=prec / nu[:, None, None])


def expected_log_weights(conc):
    if isinstance(conc, tuple):
        a, b = conc
        e_log_v = digamma(a) - digamma(a + b)
        e_log_1mv = digamma(b) - digamma(a + b)
        return e_log_v + np.concatenate(([0.0], np.cumsum(e_log_1mv)[:-1]))
    return digamma(conc) - digamma(conc.sum())


def log_wishart_norm(W, nu):
    """log B(W, nu) of the Wishart density B |L|^((nu-d-1)/2) exp(-tr(W^-1 L)/2)."""
    d = W.shape[0]
    return (-0.5 * nu * np.linalg.slogdet(W)[1] - 0.5 * nu * d * np.log(2.0)
            - multigammaln(0.5 * nu, d))


def reference_elbo(X, q, priors, weight_type, sample_weight=None, terms=False):
    """E_q[log p(X, Z, pi, mu, Lambda)] - E_q[log q(Z)] - E_q[log q(pi, mu, Lambda)].

    ``q``: posterior(model); ``priors``: dict m0, beta0, nu0, W0inv, alpha0 (gamma0).
    q(Z) is the optimal (softmax) one.  Returns the total, or a dict of the terms.
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    beta, m, nu, W = q["beta"], q["m"], q["nu"], q["W"]
    k = m.shape[0]
    m0, beta0, nu0, W0inv = priors["m0"], priors["beta0"], priors["nu0"], priors["W0inv"]
    W0 = np.linalg.inv(W0inv)

    e_log_pi = expected_log_weights(q["conc"])
    e_log_det = np.array([
        digamma(0.5 * (nu[j] - np.arange(d))).sum() + d * np.log(2.0)
        + np.linalg.slogdet(W[j])[1] for j in range(k)])
    # E[(x - mu_k)^T Lambda_k (x - mu_k)] = d / beta_k + nu_k (x - m_k)^T W_k (x - m_k)
    e_quad = np.column_stack([
        d / beta[j] + nu[j] * np.einsum("ni,ij,nj->n", X - m[j], W[j], X - m[j])
        for j in range(k)])
    log_gauss = 0.5 * e_log_det - 0.5 * d * LOG_2PI - 0.5 * e_quad        # (n, k)
    log_rho = e_log_pi + log_gauss
    r = np.exp(log_rho - logsumexp(log_rho, axis=1, keepdims=True))
    rw = r * w[:, None]

    out = {}
    out["E log p(X|Z,mu,L)"] = float(np.sum(rw * log_gauss))
    out["E log p(Z|pi)"] = float(np.sum(rw * e_log_pi))
    out["-E log q(Z)"] = -float(np.sum(w[:, None] * xlogy(r, r)))
    if isinstance(q["conc"], tuple):
        a, b = q["conc"]
        g = priors["alpha0"]
        e_log_1mv = digamma(b) - digamma(a + b)
        # sticks v_k ~ Beta(1, gamma): log p = -log B(1, gamma) + (gamma - 1) log(1 - v)
        out["E log p(pi)"] = float(np.sum(-betaln(1.0, g) + (g - 1.0) * e_log_1mv))
        out["-E log q(pi)"] = float(np.sum([stats.beta(ai, bi).entropy() for ai, bi in zip(a, b)]))
    else:
        alpha, a0 = q["conc"], priors["alpha0"]
        out["E log p(pi)"] = float(gammaln(k * a0) - k * gammaln(a0)
                                   + (a0 - 1.0) * e_log_pi.sum())
        out["-E log q(pi)"] = float(stats.dirichlet(alpha).entropy())
    e_prior_mean, e_prior_prec, e_q_mean, e_q_prec = 0.0, 0.0, 0.0, 0.0
    for j in range(k):
        diff = m[j] - m0
        e_prior_mean += (0.5 * d * np.log(beta0 / (2 * np.pi)) + 0.5 * e_log_det[j]
                         - 0.5 * beta0 * (d / beta[j] + nu[j] * diff @ W[j] @ diff))
        e_prior_prec += (log_wishart_norm(W0, nu0) + 0.5 * (nu0 - d - 1.0) * e_log_det[j]
                         - 0.5 * nu[j] * np.trace(W0inv @ W[j]))
        e_q_mean += 0.5 * e_log_det[j] + 0.5 * d * np.log(beta[j] / (2 * np.pi)) - 0.5 * d
        # Wishart entropy, own formula (cross-checked against scipy in a test)
        entropy = (-log_wishart_norm(W[j], nu[j]) - 0.5 * (nu[j] - d - 1.0) * e_log_det[j]
                   + 0.5 * nu[j] * d)
        e_q_prec -= entropy
    out["E log p(mu|L)"] = float(e_prior_mean)
    out["E log p(L)"] = float(e_prior_prec)
    out["-E log q(mu|L)"] = -float(e_q_mean)
    out["-E log q(L)"] = -float(e_q_prec)
    if terms:
        return out
    return float(sum(out.values()))


def resolved_priors(model, X, covariance_type, sample_weight=None):
    """The priors the model was given, or scikit-learn's defaults computed from X."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    k = model.n_components
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    mean = w @ X / w.sum()
    data_cov = np.atleast_2d(((X - mean) * w[:, None]).T @ (X - mean) / (w.sum() - 1.0))
    if model.covariance_prior is not None:
        W0inv = prior_scale_matrix(covariance_type, model.covariance_prior, d)
    elif covariance_type in ("full", "tied"):
        W0inv = data_cov
    elif covariance_type == "diag":
        W0inv = np.diag(np.diag(data_cov))
    else:
        W0inv = np.mean(np.diag(data_cov)) * np.eye(d)
    return dict(
        m0=mean if model.mean_prior is None else np.asarray(model.mean_prior, np.float64),
        beta0=1.0 if model.mean_precision_prior is None else float(model.mean_precision_prior),
        nu0=float(d) if model.degrees_of_freedom_prior is None else float(model.degrees_of_freedom_prior),
        W0inv=W0inv,
        alpha0=1.0 / k if model.weight_concentration_prior is None
        else float(model.weight_concentration_prior),
    )


def elbo_at(model, X, sample_weight=None):
    """The estimator's own ELBO at the posterior ``model`` holds (it is not modified).

    A warm-started single step evaluates the ELBO at its starting posterior first.
    """
    step = copy.deepcopy(model)
    step.set_params(warm_start=True, max_iter=1)
    fit_quiet(step, X, sample_weight)
    assert step.n_iter_ == 1 and len(step.lower_bounds_) == 1
    return step.lower_bounds_[0]


# ------------------------------------------------------ (1) parity with sklearn
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_type", WEIGHT_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "random"])
@pytest.mark.parametrize("set_priors", [False, True], ids=["default_priors", "user_priors"])
def test_same_start_same_posterior_as_sklearn(covariance_type, weight_type, init_params,
                                              set_priors):
    X, _, _ = make_data(sizes=(40, 30, 20), n_features=3, seed=1)
    X_new, _, _ = make_data(sizes=(10, 10, 10), n_features=3, seed=2)
    params = dict(n_components=3, covariance_type=covariance_type,
                  weight_concentration_prior_type=weight_type, init_params=init_params,
                  max_iter=4, tol=0.0, random_state=7)
    if set_priors:
        params.update(user_priors(covariance_type, 3, np.random.default_rng(5)))
    ours = fit_quiet(vb(**params), X)
    theirs = fit_quiet(BayesianGaussianMixture(**params), X)
    assert ours.n_iter_ == theirs.n_iter_ == 4
    assert not ours.converged_
    for name in VB_ATTRIBUTES:
        got, want = getattr(ours, name), getattr(theirs, name)
        if name == "weight_concentration_" and weight_type == "dirichlet_process":
            assert isinstance(got, tuple) and len(got) == 2
        else:
            assert np.shape(got) == np.shape(want), name
        got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-8 * np.abs(want).max(),
                                   err_msg=name)
    for name in ("weight_concentration_prior_", "mean_precision_prior_", "mean_prior_",
                 "degrees_of_freedom_prior_", "covariance_prior_"):
        np.testing.assert_allclose(np.asarray(getattr(ours, name), np.float64),
                                   np.asarray(getattr(theirs, name), np.float64),
                                   rtol=1e-12, err_msg=name)
    for data in (X, X_new):
        np.testing.assert_allclose(ours.score_samples(data), theirs.score_samples(data),
                                   rtol=1e-8)
        np.testing.assert_allclose(ours.predict_proba(data), theirs.predict_proba(data),
                                   rtol=1e-8, atol=1e-12)
        np.testing.assert_array_equal(ours.predict(data), theirs.predict(data))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_type", WEIGHT_TYPES)
def test_float32_stays_float32_and_agrees_with_float64(covariance_type, weight_type):
    X, _, _ = make_data(sizes=(40, 30, 20), n_features=3, seed=3)
    params = dict(n_components=3, covariance_type=covariance_type,
                  weight_concentration_prior_type=weight_type, max_iter=6, tol=0.0,
                  random_state=0)
    m64 = fit_quiet(vb(**params), X)
    m32 = fit_quiet(vb(**params), X.astype(np.float32))
    for name in VB_ATTRIBUTES:
        got, want = getattr(m32, name), getattr(m64, name)
        parts = got if isinstance(got, tuple) else (got,)
        for part in parts:
            assert np.asarray(part).dtype == np.float32, name
        got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max(),
                                   err_msg=name)
    np.testing.assert_allclose(m32.score_samples(X.astype(np.float32)), m64.score_samples(X),
                               rtol=1e-4)
    np.testing.assert_allclose(m32.lower_bound_, m64.lower_bound_, rtol=1e-4)
    np.testing.assert_allclose(m32.score_samples_predictive(X.astype(np.float32)),
                               m64.score_samples_predictive(X), rtol=1e-4)
    assert m32.sample_predictive(5)[0].dtype == np.float32


# ---------------------------------------------------------- (2) monotone ELBO
# reg_covar=0: the ELBO is that of the model, which has no reg_covar; with it the update
# would not be exact coordinate ascent (the prior keeps every covariance positive).
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_type", WEIGHT_TYPES)
def test_elbo_trace_never_decreases(covariance_type, weight_type):
    X, _, _ = make_data(sizes=(40, 30, 20), n_features=2, seed=11)
    model = fit_quiet(vb(n_components=4, covariance_type=covariance_type,
                         weight_concentration_prior_type=weight_type, init_params="random",
                         reg_covar=0.0, max_iter=80, tol=0.0, random_state=2), X)
    trace = np.asarray(model.lower_bounds_)
    assert trace.shape == (80,) and np.all(np.isfinite(trace))
    assert trace[-1] == model.lower_bound_
    steps = np.diff(trace)
    assert np.all(steps >= -1e-12 * np.abs(trace[1:])), steps.min()
    assert trace[-1] - trace[0] > 10.0   # it climbed from the random start


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_type", WEIGHT_TYPES)
def test_elbo_never_decreases_one_warm_step_at_a_time(covariance_type, weight_type):
    X, _, _ = make_data(sizes=(40, 30, 20), n_features=2, seed=12)
    model = vb(n_components=4, covariance_type=covariance_type,
               weight_concentration_prior_type=weight_type, init_params="random_from_data",
               reg_covar=0.0, max_iter=1, warm_start=True, random_state=3)
    bounds = []
    for _ in range(25):
        fit_quiet(model, X)
        assert model.n_iter_ == 1
        bounds.append(model.lower_bound_)
    bounds = np.asarray(bounds)
    steps = np.diff(bounds)
    assert np.all(steps >= -1e-12 * np.abs(bounds[1:])), steps.min()
    assert bounds[-1] - bounds[0] > 10.0   # it climbed from single-point starts


# ------------------------------------------- (3) the complete ELBO, independently
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_type", WEIGHT_TYPES)
@pytest.mark.parametrize("set_priors", [False, True], ids=["default_priors", "user_priors"])
def test_elbo_equals_independent_term_by_term_evaluation(covariance_type, weight_type,
                                                         set_priors):
    X, _, _ = make_data(sizes=(18, 12, 10), n_features=2, seed=21)   # n = 40, d = 2
    params = dict(n_components=3, covariance_type=covariance_type,
                  weight_concentration_prior_type=weight_type, init_params="random",
                  max_iter=3, tol=0.0, warm_start=True, random_state=4)
    if set_priors:
        params.update(user_priors(covariance_type, 2, np.random.default_rng(8)))
    model = fit_quiet(vb(**params), X)       # a posterior part-way, not a fixed point
    q = posterior(model)
    priors = resolved_priors(model, X, covariance_type)
    want = reference_elbo(X, q, priors, weight_type)
    got = elbo_at(model, X)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    # the reported lower_bound_ is the ELBO before the last update: the same check on
    # the posterior from one step earlier
    earlier = fit_quiet(vb(**dict(params, max_iter=2)), X)
    np.testing.assert_allclose(
        model.lower_bound_,
        reference_elbo(X, posterior(earlier), resolved_priors(earlier, X, covariance_type),
                       weight_type), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_elbo_with_sample_weight_equals_independent_evaluation(covariance_type):
    X, _, _ = make_data(sizes=(18, 12, 10), n_features=2, seed=22)
    w = np.random.default_rng(0).uniform(0.2, 3.0, size=X.shape[0])
    model = fit_quiet(vb(n_components=3, covariance_type=covariance_type, max_iter=3,
                         tol=0.0, warm_start=True, random_state=1), X, w)
    want = reference_elbo(X, posterior(model), resolved_priors(model, X, covariance_type, w),
                          "dirichlet_process", sample_weight=w)
    np.testing.assert_allclose(elbo_at(model, X, w), want, rtol=1e-10)


def test_reference_terms_agree_with_scipy_distributions():
    """Cross-check terms of the reference ELBO with scipy.stats, not with my algebra."""
    rng = np.random.default_rng(3)
    d = 3
    q_, _ = np.linalg.qr(rng.normal(size=(d, d)))
    W = (q_ * rng.uniform(0.3, 2.0, size=d)) @ q_.T
    nu = 6.5
    wishart = stats.wishart(df=nu, scale=W)
    e_log_det = digamma(0.5 * (nu - np.arange(d))).sum() + d * np.log(2.0) + np.linalg.slogdet(W)[1]
    own_entropy = -log_wishart_norm(W, nu) - 0.5 * (nu - d - 1.0) * e_log_det + 0.5 * nu * d
    np.testing.assert_allclose(own_entropy, wishart.entropy(), rtol=1e-12)
    # log B(W, nu) against scipy's log-density at a point
    L = wishart.rvs(random_state=1)
    own_logpdf = (log_wishart_norm(W, nu) + 0.5 * (nu - d - 1) * np.linalg.slogdet(L)[1]
                  - 0.5 * np.trace(np.linalg.solve(W, L)))
    np.testing.assert_allclose(own_logpdf, wishart.logpdf(L), rtol=1e-12)
    # E[log |Lambda|] by Monte Carlo
    draws = wishart.rvs(size=20000, random_state=2)
    np.testing.assert_allclose(np.linalg.slogdet(draws)[1].mean(), e_log_det, atol=0.02)
    # E[log pi] under a Dirichlet and a stick-breaking posterior, by Monte Carlo
    alpha = np.array([2.0, 5.5, 0.7])
    pis = stats.dirichlet(alpha).rvs(size=200000, random_state=3)
    np.testing.assert_allclose(np.log(pis).mean(axis=0), expected_log_weights(alpha), atol=0.02)
    a, b = np.array([3.0, 2.0, 4.0]), np.array([5.0, 1.5, 0.9])
    v = np.column_stack([stats.beta(ai, bi).rvs(size=200000, random_state=4 + i)
                         for i, (ai, bi) in enumerate(zip(a, b))])
    pis = v * np.hstack((np.ones((v.shape[0], 1)), np.cumprod(1 - v, axis=1)[:, :-1]))
    np.testing.assert_allclose(np.log(pis).mean(axis=0), expected_log_weights((a, b)), atol=0.02)
    # the Dirichlet prior normaliser against scipy
    a0 = 0.4
    p = np.array([0.2, 0.5, 0.3])
    np.testing.assert_allclose(gammaln(3 * a0) - 3 * gammaln(a0) + (a0 - 1) * np.log(p).sum(),
                               stats.dirichlet(np.full(3, a0)).logpdf(p), rtol=1e-12)


def test_elbo_terms_each_matter():
    """Perturbing any one term of the reference changes the total (it is not vacuous):
    every term is of a size the rtol=1e-10 comparison would notice."""
    X, _, _ = make_data(sizes=(18, 12, 10), n_features=2, seed=21)
    model = fit_quiet(vb(n_components=3, max_iter=3, tol=0.0, random_state=4,
                         init_params="random"), X)
    terms = reference_elbo(X, posterior(model), resolved_priors(model, X, "full"),
                           "dirichlet_process", terms=True)
    total = sum(terms.values())
    for name, value in terms.items():
        assert abs(value) > 1e-8 * abs(total), name


def _log_evidence_one_component(X, m0, beta0, nu0, W0inv):
    """log p(X) under x ~ N(mu, L^-1), mu | L ~ N(m0, (beta0 L)^-1), L ~ W(W0, nu0)."""
    X = np.atleast_2d(X)
    n, d = X.shape
    if n == 0:
        return 0.0
    xbar = X.mean(axis=0)
    S = (X - xbar).T @ (X - xbar)
    beta_n, nu_n = beta0 + n, nu0 + n
    Wn_inv = W0inv + S + beta0 * n / beta_n * np.outer(xbar - m0, xbar - m0)
    return (-0.5 * n * d * np.log(np.pi) + 0.5 * d * np.log(beta0 / beta_n)
            + 0.5 * nu0 * np.linalg.slogdet(W0inv)[1] - 0.5 * nu_n * np.linalg.slogdet(Wn_inv)[1]
            + multigammaln(0.5 * nu_n, d) - multigammaln(0.5 * nu0, d))


def test_one_component_elbo_is_the_exact_log_evidence():
    """k = 1: the Normal-Wishart q is the exact posterior, so after one update the ELBO
    equals the closed-form log marginal likelihood (and never exceeds it)."""
    X, _, _ = make_data(sizes=(300,), n_features=2, seed=31)
    priors = dict(mean_prior=np.array([0.5, -0.3]), mean_precision_prior=0.8,
                  degrees_of_freedom_prior=3.5, covariance_prior=np.array([[1.5, 0.3], [0.3, 0.8]]))
    model = fit_quiet(vb(n_components=1, weight_concentration_prior_type="dirichlet_distribution",
                         reg_covar=0.0, max_iter=3, tol=0.0, random_state=0, **priors), X)
    log_evidence = _log_evidence_one_component(X, priors["mean_prior"], 0.8, 3.5,
                                               priors["covariance_prior"])
    elbo = elbo_at(model, X)
    assert elbo <= log_evidence + 1e-9 * abs(log_evidence)
    np.testing.assert_allclose(elbo, log_evidence, rtol=1e-9)
    # a posterior that is not the optimum is strictly below
    worse = copy.deepcopy(model)
    worse.means_ = worse.means_ + 0.3
    assert elbo_at(worse, X) < log_evidence - 1.0


def _log_evidence_by_enumeration(X, k, weight_type, alpha0, m0, beta0, nu0, W0inv):
    """log sum_Z p(Z) prod_k p(X_k): every labelling of the (few) samples."""
    n = X.shape[0]
    labellings = np.array(list(itertools.product(range(k), repeat=n)))
    cache = {}

    def log_marginal(mask):
        key = mask.tobytes()
        if key not in cache:
            cache[key] = _log_evidence_one_component(X[mask], m0, beta0, nu0, W0inv)
        return cache[key]

    total = []
    for z in labellings:
        counts = np.bincount(z, minlength=k)
        if weight_type == "dirichlet_distribution":
            log_pz = (gammaln(k * alpha0) - gammaln(n + k * alpha0)
                      + np.sum(gammaln(counts + alpha0) - gammaln(alpha0)))
        else:  # sticks v_j ~ Beta(1, gamma): E[v^n_j (1 - v)^(n_{>j})]
            beyond = n - np.cumsum(counts)
            log_pz = np.sum(betaln(1.0 + counts, alpha0 + beyond) - betaln(1.0, alpha0))
        total.append(log_pz + sum(log_marginal(z == j) for j in range(k)))
    return logsumexp(total)


@pytest.mark.parametrize("weight_type", WEIGHT_TYPES)
def test_elbo_is_below_the_exact_log_evidence_for_two_components(weight_type):
    """The ELBO bounds log p(X) for any q; for k = 2, n = 10 the evidence is a sum over
    all 2^10 labellings.  Comparable across n_components: both bounds hold at once."""
    rng = np.random.default_rng(41)
    X = np.vstack([rng.normal([0, 0], 0.7, size=(5, 2)), rng.normal([4, 3], 0.7, size=(5, 2))])
    prior = dict(mean_prior=np.array([2.0, 1.5]), mean_precision_prior=0.5,
                 degrees_of_freedom_prior=2.5, covariance_prior=np.eye(2),
                 weight_concentration_prior=1.0)
    ref_prior = dict(m0=prior["mean_prior"], beta0=0.5, nu0=2.5, W0inv=np.eye(2))
    for k in (1, 2):
        model = fit_quiet(vb(n_components=k, weight_concentration_prior_type=weight_type,
                             reg_covar=0.0, max_iter=50, tol=0.0, random_state=0, **prior), X)
        elbo = elbo_at(model, X)
        exact = _log_evidence_by_enumeration(X, k, weight_type, 1.0, **ref_prior)
        assert elbo <= exact + 1e-9 * abs(exact), (k, elbo, exact)
        # a good posterior gets within a couple of nats (label-switching costs log 2)
        assert elbo > exact - 2.0, (k, elbo, exact)
        # and the independent ELBO agrees at this posterior too
        want = reference_elbo(X, posterior(model), dict(ref_prior, alpha0=1.0), weight_type)
        np.testing.assert_allclose(elbo, want, rtol=1e-10)


# ----------------------------------------------------- (4) posterior predictive
def _predictive_reference(model, X):
    """log sum_k E[pi_k] St(x | m_k, shape_k, nu_k + 1 - d) with scipy.stats.multivariate_t."""
    k, d = model.means_.shape
    q = posterior(model)
    cols = []
    for j in range(k):
        dof = q["nu"][j] + 1.0 - d
        # precision L_k = dof beta_k / (1 + beta_k) W_k  (Bishop 10.81-10.82)
        shape = np.linalg.inv(q["W"][j]) * (1.0 + q["beta"][j]) / (dof * q["beta"][j])
        cols.append(np.log(model.weights_[j]) + stats.multivariate_t(
            loc=q["m"][j], shape=shape, df=dof).logpdf(np.asarray(X, np.float64)))
    return logsumexp(np.column_stack(cols), axis=1)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_type", WEIGHT_TYPES)
def test_predictive_is_a_student_t_mixture(covariance_type, weight_type):
    X, _, _ = make_data(sizes=(12, 8, 5), n_features=2, seed=51)
    model = fit_quiet(vb(n_components=3, covariance_type=covariance_type,
                         weight_concentration_prior_type=weight_type, max_iter=20,
                         random_state=0), X)
    grid = np.random.default_rng(0).normal(scale=8.0, size=(50, 2)) + X.mean(axis=0)
    np.testing.assert_allclose(model.score_samples_predictive(grid),
                               _predictive_reference(model, grid), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_predictive_integrates_to_one_in_1d(covariance_type):
    rng = np.random.default_rng(61)
    X = np.concatenate([rng.normal(-3, 1.0, 15), rng.normal(4, 0.5, 10)])[:, None]
    model = fit_quiet(vb(n_components=3, covariance_type=covariance_type, max_iter=50,
                         random_state=0), X)
    pdf = lambda x: float(np.exp(model.score_samples_predictive(np.array([[x]])))[0])  # noqa: E731
    centres = np.sort(model.means_[:, 0])
    lo, hi = centres[0] - 5.0, centres[-1] + 5.0
    mass = (integrate.quad(pdf, -np.inf, lo, epsabs=1e-11)[0]
            + integrate.quad(pdf, lo, hi, points=centres, limit=200, epsabs=1e-11)[0]
            + integrate.quad(pdf, hi, np.inf, epsabs=1e-11)[0])
    np.testing.assert_allclose(mass, 1.0, atol=1e-6)
    # the plug-in surrogate is a different density (it does not integrate to one)
    plug = lambda x: float(np.exp(model.score_samples(np.array([[x]])))[0])  # noqa: E731
    plug_mass = integrate.quad(plug, lo - 30, hi + 30, points=centres, limit=200)[0]
    assert abs(plug_mass - 1.0) > 1e-3


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag"])
def test_predictive_integrates_to_one_in_2d(covariance_type):
    X, _, _ = make_data(sizes=(30, 20), n_features=2, seed=62)
    model = fit_quiet(vb(n_components=2, covariance_type=covariance_type, max_iter=50,
                         random_state=0), X)
    dof = np.broadcast_to(model.degrees_of_freedom_, (2,)) - 1.0
    assert dof.min() > 15   # light enough tails for the box below
    lo, hi = X.min(axis=0) - 25.0, X.max(axis=0) + 25.0
    xs = np.linspace(lo[0], hi[0], 801)
    ys = np.linspace(lo[1], hi[1], 801)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    density = np.exp(model.score_samples_predictive(np.column_stack([gx.ravel(), gy.ravel()])))
    mass = integrate.trapezoid(integrate.trapezoid(density.reshape(gx.shape), ys, axis=1), xs)
    np.testing.assert_allclose(mass, 1.0, atol=1e-3)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_predictive_moments(covariance_type):
    # few samples per cluster: small dof, so a Student-t differs visibly from a Gaussian
    X, _, _ = make_data(sizes=(10, 8), n_features=2, seed=71)
    model = fit_quiet(vb(n_components=2, covariance_type=covariance_type, max_iter=100,
                         weight_concentration_prior_type="dirichlet_distribution",
                         random_state=0), X)
    q = posterior(model)
    draws, labels = model.sample_predictive(200000)
    assert draws.shape == (200000, 2) and labels.shape == (200000,)
    np.testing.assert_allclose(np.bincount(labels, minlength=2) / 200000, model.weights_,
                               atol=0.01)
    d = 2
    for j in range(2):
        dof = q["nu"][j] + 1.0 - d
        shape = np.linalg.inv(q["W"][j]) * (1.0 + q["beta"][j]) / (dof * q["beta"][j])
        want_cov = shape * dof / (dof - 2.0)
        mine = draws[labels == j]
        scale = np.sqrt(np.diag(want_cov))
        np.testing.assert_allclose(mine.mean(axis=0), q["m"][j], atol=0.03 * scale.max())
        got_cov = np.cov(mine.T)
        np.testing.assert_allclose(got_cov, want_cov, atol=0.06 * np.abs(want_cov).max())
        # and it is not the Gaussian of covariances_ (the test can tell them apart)
        plug_cov = as_matrices(model.covariances_, covariance_type, 2, d)[j]
        assert np.abs(np.diag(want_cov) / np.diag(plug_cov) - 1).min() > 0.25


def test_predictive_needs_variational():
    X, _, _ = make_data(sizes=(20, 20), n_features=2, seed=81)
    em = GaussianMixture(n_components=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="variational"):
        em.score_samples_predictive(X)
    with pytest.raises(ValueError, match="variational"):
        em.sample_predictive(10)
    # also MAP EM (priors set) is not a posterior
    em_map = GaussianMixture(n_components=2, mean_precision_prior=1.0, random_state=0).fit(X)
    with pytest.raises(ValueError, match="variational"):
        em_map.score_samples_predictive(X)


# ------------------------------------------------------ (6) Dirichlet process
def test_dirichlet_process_switches_off_extra_components():
    rng = np.random.default_rng(91)
    truth = np.array([0.5, 0.3, 0.2])
    sizes = (300 * truth).astype(int)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    X = np.vstack([rng.normal(c, 1.0, size=(s, 2)) for c, s in zip(centres, sizes)])
    # default weight_concentration_prior = 1 / n_components
    model = fit_quiet(vb(n_components=12, weight_concentration_prior_type="dirichlet_process",
                         max_iter=500, tol=1e-6, random_state=0), X)
    assert model.converged_
    weights = np.sort(model.weights_)[::-1]
    assert weights[3:].sum() < 1e-2, weights
    np.testing.assert_allclose(weights[:3], truth, atol=0.02)
    big = np.argsort(model.weights_)[::-1][:3]
    found = model.means_[big][np.argsort(-model.weights_[big])]
    np.testing.assert_allclose(found, centres, atol=0.5)


# ------------------------------------------------------------ (7) bad priors
BAD_PRIORS = [
    ("weight_concentration_prior", dict(weight_concentration_prior=0.0)),
    ("weight_concentration_prior", dict(weight_concentration_prior=-1.0)),
    ("weight_concentration_prior", dict(weight_concentration_prior=np.nan)),
    ("weight_concentration_prior", dict(weight_concentration_prior=np.inf)),
    ("mean_precision_prior", dict(mean_precision_prior=0.0)),
    ("mean_precision_prior", dict(mean_precision_prior=-0.5)),
    ("mean_precision_prior", dict(mean_precision_prior=np.nan)),
    ("degrees_of_freedom_prior", dict(degrees_of_freedom_prior=1.0)),      # d - 1 = 1
    ("degrees_of_freedom_prior", dict(degrees_of_freedom_prior=0.5)),
    ("degrees_of_freedom_prior", dict(degrees_of_freedom_prior=np.nan)),
    ("degrees_of_freedom_prior", dict(degrees_of_freedom_prior="3")),
    ("mean_prior", dict(mean_prior=[0.0, 1.0, 2.0])),
    ("mean_prior", dict(mean_prior=[0.0])),
    ("mean_prior", dict(mean_prior=[0.0, np.nan])),
    ("mean_prior", dict(mean_prior=[1.0 + 1.0j, 0.0])),
    ("mean_prior", dict(mean_prior=[[0.0, 1.0]])),
    ("weight_concentration_prior_type", dict(weight_concentration_prior_type="x")),
]
BAD_COVARIANCE_PRIORS = [
    ("full", np.eye(3)),                                   # wrong shape
    ("full", np.array([[1.0, 2.0], [2.0, 1.0]])),          # not positive definite
    ("full", np.array([[1.0, 0.0], [0.0, 0.0]])),          # singular
    ("full", np.array([[1.0, np.nan], [np.nan, 1.0]])),
    ("full", np.array([1.0, 1.0])),                        # a diag-shaped prior
    ("tied", np.array([[-1.0, 0.0], [0.0, 1.0]])),
    ("tied", np.array([[1.0, 0.5], [0.0, 1.0]])),          # not symmetric
    ("diag", np.array([1.0, 0.0])),                        # non-positive
    ("diag", np.array([1.0, -2.0])),
    ("diag", np.array([1.0, 1.0, 1.0])),                   # wrong length
    ("diag", np.array([1.0, np.nan])),
    ("spherical", 0.0),
    ("spherical", -1.0),
    ("spherical", np.nan),
    ("spherical", np.eye(2)),                              # not a scalar
]


@pytest.mark.parametrize("method", ["variational", "em"])
@pytest.mark.parametrize("name,params", BAD_PRIORS, ids=[f"{n}={list(p.values())[0]}" for n, p in BAD_PRIORS])
def test_bad_prior_raises_naming_parameter(method, name, params):
    X, _, _ = make_data(sizes=(15, 15), n_features=2, seed=101)
    if method == "em" and name == "weight_concentration_prior_type":
        params = dict(params, mean_precision_prior=1.0)   # a prior set: MAP EM validates
    model = GaussianMixture(n_components=2, method=method, random_state=0, **params)
    with pytest.raises((ValueError, TypeError), match=name):
        model.fit(X)


@pytest.mark.parametrize("method", ["variational", "em"])
@pytest.mark.parametrize("covariance_type,value", BAD_COVARIANCE_PRIORS,
                         ids=[f"{c}-{i}" for i, (c, _) in enumerate(BAD_COVARIANCE_PRIORS)])
def test_bad_covariance_prior_raises_naming_parameter(method, covariance_type, value):
    X, _, _ = make_data(sizes=(15, 15), n_features=2, seed=101)
    model = GaussianMixture(n_components=2, method=method, covariance_type=covariance_type,
                            covariance_prior=value, random_state=0)
    with pytest.raises((ValueError, TypeError), match="covariance_prior"):
        model.fit(X)


def test_valid_priors_boundary_is_accepted():
    """Just above the bounds is fine (the checks are not over-strict)."""
    X, _, _ = make_data(sizes=(15, 15), n_features=2, seed=101)
    model = fit_quiet(vb(n_components=2, degrees_of_freedom_prior=1.0 + 1e-6,
                         mean_precision_prior=1e-8, weight_concentration_prior=1e-8,
                         max_iter=5, random_state=0), X)
    assert np.all(np.isfinite(model.means_))
    assert model.degrees_of_freedom_prior_ == 1.0 + 1e-6


# ------------------------------------------------------ (8) sample weights
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_type", WEIGHT_TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type, weight_type):
    X, _, _ = make_data(sizes=(15, 10, 8), n_features=2, seed=111)
    counts = np.random.default_rng(1).integers(1, 4, size=X.shape[0])
    repeated = np.repeat(X, counts, axis=0)
    params = dict(n_components=3, covariance_type=covariance_type,
                  weight_concentration_prior_type=weight_type, tol=0.0, random_state=0,
                  init_params="random")
    # the random draws of an initialisation depend on n_samples, so start both from the
    # same posterior: one step on the repeated rows, then copy it
    a = fit_quiet(vb(max_iter=1, warm_start=True, **params), repeated)
    b = copy.deepcopy(a)
    for model in (a, b):
        model.set_params(max_iter=4)
    fit_quiet(a, repeated)
    fit_quiet(b, X, sample_weight=counts)
    for name in VB_ATTRIBUTES:
        got = np.asarray(getattr(b, name), np.float64)
        want = np.asarray(getattr(a, name), np.float64)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max(),
                                   err_msg=name)
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-10)
    # the data-dependent default priors are the weighted moments
    for name in ("mean_prior_", "covariance_prior_"):
        np.testing.assert_allclose(np.asarray(getattr(b, name)), np.asarray(getattr(a, name)),
                                   rtol=1e-12, err_msg=name)
    # and the first fit on weighted data with the weight-aware k-means start lands on the
    # same posterior as on repeated rows (well-separated clusters: one optimum)
    km = dict(params, init_params="kmeans", max_iter=200, tol=1e-10)
    c = fit_quiet(vb(**km), repeated)
    e = fit_quiet(vb(**km), X, sample_weight=counts)
    order_c, order_e = np.argsort(c.means_[:, 0]), np.argsort(e.means_[:, 0])
    np.testing.assert_allclose(e.means_[order_e], c.means_[order_c], rtol=1e-6, atol=1e-6)
    if weight_type == "dirichlet_distribution":   # the process prior is not exchangeable:
        # its ELBO depends on the order the two starts gave the components
        np.testing.assert_allclose(e.lower_bound_, c.lower_bound_, rtol=1e-8)
