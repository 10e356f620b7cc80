"""method='em' with a prior: maximum a-posteriori EM (Normal-inverse-Wishart, Dirichlet).

(5) MAP EM fits degenerate data (duplicated points, reg_covar=0) on which maximum
likelihood fails; its objective never decreases; one MAP step equals an independent
NumPy computation of the posterior mode given responsibilities computed with
scipy.stats from the previous parameters; ``lower_bound_`` is (log-likelihood + log
prior) / n up to a constant, checked against scipy.stats densities; with no prior set
EM is still exactly scikit-learn's GaussianMixture.
"""

import copy
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from gaussmix import GaussianMixture

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
PRIOR_ATTRIBUTES = ("weight_concentration_prior_", "mean_precision_prior_", "mean_prior_",
                    "degrees_of_freedom_prior_", "covariance_prior_")


# ------------------------------------------------------------------------ helpers
def make_data(sizes=(50, 35, 25), n_features=2, seed=0, spread=6.0):
    """Well-separated rotated Gaussian clusters; returns shuffled X."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=spread, size=(len(sizes), n_features))
    centres += spread * np.eye(len(sizes), n_features) * np.arange(1, len(sizes) + 1)[:, None]
    blocks = []
    for j, size in enumerate(sizes):
        q, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
        root = q * rng.uniform(0.6, 1.2, size=n_features)
        blocks.append(centres[j] + rng.standard_normal((size, n_features)) @ root.T)
    return np.vstack(blocks)[rng.permutation(sum(sizes))]


def duplicated_data(seed=0):
    """200 rows copying 3 distinct points, plus 4 other points."""
    rng = np.random.default_rng(seed)
    points = np.array([[0.0, 0.0], [3.0, 1.0], [1.0, 4.0]])
    return np.vstack([points[rng.integers(0, 3, size=200)], 2.0 * rng.normal(size=(4, 2))])


def fit_quiet(model, X, sample_weight=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if sample_weight is None:
            return model.fit(X)
        return model.fit(X, sample_weight=sample_weight)


def user_priors(covariance_type, n_features, rng, weights=True):
    d = n_features
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    matrix = (q * rng.uniform(0.5, 2.0, size=d)) @ q.T
    covariance_prior = {"full": matrix, "tied": matrix,
                        "diag": rng.uniform(0.5, 2.0, size=d),
                        "spherical": 1.7}[covariance_type]
    priors = dict(mean_prior=rng.normal(size=d), covariance_prior=covariance_prior,
                  degrees_of_freedom_prior=d + 1.5, mean_precision_prior=0.3)
    if weights:
        priors.update(weight_concentration_prior=3.0,
                      weight_concentration_prior_type="dirichlet_distribution")
    return priors


def as_matrices(value, covariance_type, k, d):
    v = np.asarray(value, dtype=np.float64)
    if covariance_type == "full":
        return v.reshape(k, d, d).copy()
    if covariance_type == "tied":
        return np.broadcast_to(v, (k, d, d)).copy()
    if covariance_type == "diag":
        return np.stack([np.diag(row) for row in v])
    return v[:, None, None] * np.eye(d)


def prior_scale_matrix(covariance_type, covariance_prior, X):
    """Psi_0 as a (d, d) matrix: the given covariance_prior or scikit-learn's default."""
    d = X.shape[1]
    if covariance_prior is None:
        c = np.atleast_2d(np.cov(X.T))
        return {"full": c, "tied": c, "diag": np.diag(np.diag(c)),
                "spherical": np.mean(np.diag(c)) * np.eye(d)}[covariance_type]
    c = np.asarray(covariance_prior, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        return c
    if covariance_type == "diag":
        return np.diag(c)
    return float(c) * np.eye(d)


def prior_of(model, X):
    """m0, kappa, nu0, Psi0 (matrix), alpha (None when no weight prior)."""
    d = X.shape[1]
    return dict(
        m0=X.mean(axis=0) if model.mean_prior is None else np.asarray(model.mean_prior, float),
        kappa=1.0 if model.mean_precision_prior is None else float(model.mean_precision_prior),
        nu0=float(d) if model.degrees_of_freedom_prior is None
        else float(model.degrees_of_freedom_prior),
        psi0=prior_scale_matrix(model.covariance_type, model.covariance_prior, X),
        alpha=None if model.weight_concentration_prior is None
        else float(model.weight_concentration_prior),
    )


def snapshot(model):
    """weights, means, (k, d, d) covariances of a fitted model, float64 copies."""
    k, d = model.means_.shape
    return (np.asarray(model.weights_, float).copy(), np.asarray(model.means_, float).copy(),
            as_matrices(model.covariances_, model.covariance_type, k, d))


def log_joint_terms(X, weights, means, covs):
    """log w_k + log N(x_n | m_k, C_k), shape (n, k), with scipy.stats."""
    return np.column_stack([
        np.log(w) + stats.multivariate_normal(mean=m, cov=c).logpdf(X)
        for w, m, c in zip(weights, means, covs)])


def map_mode(X, resp, prior, covariance_type, reg_covar=0.0):
    """The Normal-inverse-Wishart (and Dirichlet) posterior mode given responsibilities."""
    n, d = X.shape
    k = resp.shape[1]
    m0, kappa, nu0, psi0, alpha = (prior[key] for key in ("m0", "kappa", "nu0", "psi0", "alpha"))
    nk = resp.sum(axis=0)
    xbar = resp.T @ X / nk[:, None]
    means = (kappa * m0 + nk[:, None] * xbar) / (kappa + nk)[:, None]
    B = []
    for j in range(k):
        diff = X - xbar[j]
        scatter = (resp[:, j, None] * diff).T @ diff             # N_k S_k
        shift = xbar[j] - m0
        B.append(scatter + kappa * nk[j] / (kappa + nk[j]) * np.outer(shift, shift))
    B = np.array(B)
    if covariance_type == "full":
        covs = np.array([(psi0 + B[j]) / (nu0 + d + 2.0 + nk[j]) for j in range(k)])
    elif covariance_type == "tied":
        # one Sigma: IW exponent (nu0 + d + 1)/2, plus 1/2 per mean and N/2 from the data
        shared = (psi0 + B.sum(axis=0)) / (nu0 + d + 1.0 + k + nk.sum())
        covs = np.broadcast_to(shared, (k, d, d)).copy()
    elif covariance_type == "diag":
        covs = np.array([np.diag(np.diag(psi0 + B[j])) / (nu0 + d + 2.0 + nk[j])
                         for j in range(k)])
    else:
        covs = np.array([np.trace(psi0 + B[j]) / d / (nu0 + d + 2.0 + nk[j]) * np.eye(d)
                         for j in range(k)])
    covs = covs + reg_covar * np.eye(d)
    if alpha is None:
        weights = nk / nk.sum()
    else:
        weights = (nk + alpha - 1.0) / (nk.sum() + k * (alpha - 1.0))
    return weights, means, covs


def log_posterior(X, weights, means, covs, prior, covariance_type):
    """log-likelihood + log prior, prior from scipy.stats (up to a constant).

    Normal-inverse-Wishart density at each component's (mean, covariance) (for 'tied'
    the inverse-Wishart once, the k means each given the shared covariance), plus the
    symmetric Dirichlet density of the weights when a weight prior is set.
    """
    k = means.shape[0]
    loglik = logsumexp(log_joint_terms(X, weights, means, covs), axis=1).sum()
    iw = stats.invwishart(df=prior["nu0"], scale=prior["psi0"])
    n_iw = 1 if covariance_type == "tied" else k
    log_prior = sum(iw.logpdf(covs[j]) for j in range(n_iw))
    log_prior += sum(stats.multivariate_normal(mean=prior["m0"], cov=covs[j] / prior["kappa"])
                     .logpdf(means[j]) for j in range(k))
    if prior["alpha"] is not None:
        log_prior += stats.dirichlet(np.full(k, prior["alpha"])).logpdf(weights / weights.sum())
    return loglik + log_prior


def one_step(model, X, sample_weight=None):
    """A warm-started single step from ``model`` (which is left unchanged)."""
    step = copy.deepcopy(model)
    step.set_params(warm_start=True, max_iter=1)
    fit_quiet(step, X, sample_weight)
    assert step.n_iter_ == 1
    return step


# ---------------------------------------------------------- degenerate data
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_map_fits_duplicated_points_where_ml_fails(covariance_type):
    X = duplicated_data()
    params = dict(n_components=3, covariance_type=covariance_type, reg_covar=0.0,
                  init_params="random_from_data", random_state=0)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(**params).fit(X)
    model = fit_quiet(GaussianMixture(mean_precision_prior=1.0, max_iter=500, **params), X)
    assert model.converged_
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(model, name))), name
    covs = as_matrices(model.covariances_, covariance_type, 3, 2)
    assert np.linalg.eigvalsh(covs).min() > 1e-3
    trace = np.asarray(model.lower_bounds_)
    assert np.all(np.diff(trace) >= -1e-12 * np.abs(trace[1:]))
    assert np.all(np.isfinite(model.score_samples(X)))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("weight_prior", [False, True], ids=["niw", "niw+dirichlet"])
@pytest.mark.parametrize("data", ["duplicated", "blobs"])
def test_map_objective_never_decreases(covariance_type, weight_prior, data):
    X = duplicated_data(seed=1) if data == "duplicated" else make_data(seed=2)
    params = dict(n_components=4, covariance_type=covariance_type, reg_covar=0.0,
                  init_params="random_from_data", random_state=1, tol=0.0,
                  mean_precision_prior=0.5)
    if weight_prior:
        params.update(weight_concentration_prior=2.0,
                      weight_concentration_prior_type="dirichlet_distribution")
    model = fit_quiet(GaussianMixture(max_iter=60, **params), X)
    trace = np.asarray(model.lower_bounds_)
    assert trace.shape == (60,) and np.all(np.isfinite(trace))
    assert np.all(np.diff(trace) >= -1e-12 * np.abs(trace[1:])), np.diff(trace).min()
    assert trace[-1] - trace[0] > 0.05     # not vacuous: it climbed
    # one warm-started step at a time
    stepper = GaussianMixture(max_iter=1, warm_start=True, **params)
    bounds = []
    for _ in range(15):
        fit_quiet(stepper, X)
        bounds.append(stepper.lower_bound_)
    bounds = np.asarray(bounds)
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:])), np.diff(bounds).min()
    np.testing.assert_allclose(bounds, trace[:15], rtol=1e-10)


# ------------------------------------------------- one step = the posterior mode
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("which", ["defaults", "user", "user+dirichlet", "weights_only"])
def test_one_map_step_is_the_independent_posterior_mode(covariance_type, which):
    X = make_data(sizes=(30, 20, 15), n_features=3, seed=3)
    rng = np.random.default_rng(4)
    if which == "defaults":
        priors = dict(mean_precision_prior=1.0)
    elif which == "weights_only":
        priors = dict(weight_concentration_prior=4.0,
                      weight_concentration_prior_type="dirichlet_distribution")
    else:
        priors = user_priors(covariance_type, 3, rng, weights=which == "user+dirichlet")
    model = fit_quiet(GaussianMixture(n_components=3, covariance_type=covariance_type,
                                      reg_covar=0.0, init_params="random", max_iter=2,
                                      tol=0.0, random_state=5, **priors), X)
    weights, means, covs = snapshot(model)
    log_joint = log_joint_terms(X, weights, means, covs)
    resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    prior = prior_of(model, X)
    want_w, want_m, want_c = map_mode(X, resp, prior, covariance_type)
    step = one_step(model, X)
    np.testing.assert_allclose(step.weights_, want_w, rtol=1e-10)
    np.testing.assert_allclose(step.means_, want_m, rtol=1e-10, atol=1e-10 * np.abs(want_m).max())
    got_c = as_matrices(step.covariances_, covariance_type, 3, 3)
    np.testing.assert_allclose(got_c, want_c, rtol=1e-10, atol=1e-10 * np.abs(want_c).max())
    np.testing.assert_allclose(
        as_matrices(step.precisions_, covariance_type, 3, 3), np.linalg.inv(want_c),
        rtol=1e-9, atol=1e-9 * np.abs(np.linalg.inv(want_c)).max())
    # the mode is not the maximum-likelihood update (the prior matters in this test)
    nk = resp.sum(axis=0)
    ml_means = resp.T @ X / nk[:, None]
    if which != "weights_only":
        assert np.abs(step.means_ - ml_means).max() > 1e-4
    else:
        assert np.abs(step.weights_ - nk / nk.sum()).max() > 1e-4
    # the step's objective is the log posterior at the start, up to a constant:
    # compare its change over a second step with scipy densities
    second = one_step(step, X)
    w2, m2, c2 = snapshot(step)
    got_change = (second.lower_bound_ - step.lower_bound_) * X.shape[0]
    want_change = (log_posterior(X, w2, m2, c2, prior, covariance_type)
                   - log_posterior(X, weights, means, covs, prior, covariance_type))
    np.testing.assert_allclose(got_change, want_change, rtol=1e-8, atol=1e-9)


def test_map_step_adds_reg_covar_to_the_mode():
    X = make_data(sizes=(30, 20, 15), n_features=2, seed=6)
    model = fit_quiet(GaussianMixture(n_components=3, reg_covar=0.01, init_params="random",
                                      max_iter=2, tol=0.0, random_state=5,
                                      mean_precision_prior=0.5), X)
    weights, means, covs = snapshot(model)
    log_joint = log_joint_terms(X, weights, means, covs)
    resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    _, want_m, want_c = map_mode(X, resp, prior_of(model, X), "full", reg_covar=0.01)
    step = one_step(model, X)
    np.testing.assert_allclose(step.means_, want_m, rtol=1e-10)
    np.testing.assert_allclose(step.covariances_, want_c, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
def test_map_step_with_sample_weight_is_the_weighted_mode(covariance_type):
    X = make_data(sizes=(30, 20, 15), n_features=2, seed=7)
    w = np.random.default_rng(0).uniform(0.2, 3.0, size=X.shape[0])
    model = fit_quiet(GaussianMixture(n_components=3, covariance_type=covariance_type,
                                      reg_covar=0.0, init_params="random", max_iter=2,
                                      tol=0.0, random_state=5, mean_precision_prior=0.5,
                                      covariance_prior=np.eye(2) if covariance_type == "full"
                                      else 1.0, mean_prior=np.zeros(2)), X, w)
    weights, means, covs = snapshot(model)
    log_joint = log_joint_terms(X, weights, means, covs)
    resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True)) * w[:, None]
    want_w, want_m, want_c = map_mode(X, resp, prior_of(model, X), covariance_type)
    step = one_step(model, X, w)
    np.testing.assert_allclose(step.weights_, want_w, rtol=1e-10)
    np.testing.assert_allclose(step.means_, want_m, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(as_matrices(step.covariances_, covariance_type, 3, 2), want_c,
                               rtol=1e-10, atol=1e-12)
    # the objective is an average over the total weight
    second = one_step(step, X, w)
    w2, m2, c2 = snapshot(step)
    prior = prior_of(model, X)
    iw = stats.invwishart(df=prior["nu0"], scale=prior["psi0"])

    def weighted_log_posterior(wt, m, c):   # sum_n w_n log p(x_n) + log prior, by hand
        loglik = w @ logsumexp(log_joint_terms(X, wt, m, c), axis=1)
        return loglik + sum(
            iw.logpdf(c[j]) + stats.multivariate_normal(prior["m0"], c[j] / prior["kappa"])
            .logpdf(m[j]) for j in range(3))

    want_change = weighted_log_posterior(w2, m2, c2) - weighted_log_posterior(weights, means, covs)
    np.testing.assert_allclose((second.lower_bound_ - step.lower_bound_) * w.sum(),
                               want_change, rtol=1e-8, atol=1e-9)


def test_map_integer_weights_equal_repeated_rows():
    X = make_data(sizes=(20, 15, 10), n_features=2, seed=8)
    counts = np.random.default_rng(2).integers(1, 4, size=X.shape[0])
    repeated = np.repeat(X, counts, axis=0)
    params = dict(n_components=3, covariance_type="full", reg_covar=0.0, max_iter=1,
                  warm_start=True, tol=0.0, random_state=0, init_params="random",
                  mean_precision_prior=0.7, weight_concentration_prior=2.0,
                  weight_concentration_prior_type="dirichlet_distribution")
    a = fit_quiet(GaussianMixture(**params), repeated)
    b = copy.deepcopy(a)
    for model in (a, b):
        model.set_params(max_iter=5)
    fit_quiet(a, repeated)
    fit_quiet(b, X, counts)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=1e-10)


# ------------------------------------------------------- weight prior options
def test_map_weight_prior_needs_dirichlet_distribution_and_alpha_at_least_one():
    X = make_data(seed=9)
    with pytest.raises(ValueError, match="weight_concentration_prior"):
        GaussianMixture(n_components=3, weight_concentration_prior=2.0,
                        weight_concentration_prior_type="dirichlet_process").fit(X)
    with pytest.raises(ValueError, match="weight_concentration_prior"):
        GaussianMixture(n_components=3, weight_concentration_prior=0.5,
                        weight_concentration_prior_type="dirichlet_distribution").fit(X)
    # alpha = 1 is a flat Dirichlet: the weights are the ML ones (N_k / N)
    model = fit_quiet(GaussianMixture(n_components=3, weight_concentration_prior=1.0,
                                      weight_concentration_prior_type="dirichlet_distribution",
                                      reg_covar=0.0, max_iter=3, tol=0.0, random_state=0), X)
    weights, means, covs = snapshot(model)
    log_joint = log_joint_terms(X, weights, means, covs)
    resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    step = one_step(model, X)
    np.testing.assert_allclose(step.weights_, resp.mean(axis=0), rtol=1e-10)


def test_map_prior_attributes():
    X = make_data(seed=10)
    model = fit_quiet(GaussianMixture(n_components=3, covariance_type="diag",
                                      mean_precision_prior=0.5, max_iter=5, random_state=0), X)
    np.testing.assert_allclose(model.mean_prior_, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(model.covariance_prior_, np.var(X, axis=0, ddof=1), rtol=1e-12)
    assert model.mean_precision_prior_ == 0.5
    assert model.degrees_of_freedom_prior_ == 2.0
    # ML EM has none of them (and refitting without priors removes them)
    model.set_params(mean_precision_prior=None)
    fit_quiet(model, X)
    for name in PRIOR_ATTRIBUTES:
        assert not hasattr(model, name), name


# ---------------------------------------------- no prior: exactly scikit-learn
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "random"])
def test_no_prior_is_still_sklearn_gaussian_mixture(covariance_type, init_params):
    X = make_data(sizes=(40, 30, 20), n_features=3, seed=11)
    params = dict(n_components=3, covariance_type=covariance_type, init_params=init_params,
                  max_iter=6, tol=0.0, random_state=3)
    ours = fit_quiet(GaussianMixture(method="em", **params), X)
    theirs = fit_quiet(SklearnGaussianMixture(**params), X)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        want = np.asarray(getattr(theirs, name))
        np.testing.assert_allclose(getattr(ours, name), want, rtol=1e-10,
                                   atol=1e-10 * np.abs(want).max(), err_msg=name)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-10)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-10)
    # and a prior changes the answer (the comparison above is not trivially met by MAP)
    mapped = fit_quiet(GaussianMixture(method="em", mean_precision_prior=5.0, **params), X)
    assert np.abs(mapped.means_ - theirs.means_).max() > 1e-3
