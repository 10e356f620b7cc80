"""Model-based hierarchical clustering (gaussmix._hierarchical), the 'hc' start.

The references here are deliberately plain: the criterion is recomputed from its
definition for every candidate merge (no sufficient-statistic updates), mclust's "SVD"
transformation is written the way R writes it (``scale``, ``svd``), and Ward's method
(model "EII") is checked against SciPy.
"""

import doctest
import time

import numpy as np
import pytest
from scipy.cluster.hierarchy import linkage

import gaussmix
import gaussmix._hierarchical
from gaussmix._hierarchical import (
    HierarchicalTree,
    cached_hierarchical_tree,
    hierarchical_labels,
    hierarchical_tree,
)


# --------------------------------------------------------------------------- helpers
def separated_blobs(seed, n_features, n_components, n_samples=300, spread=40.0):
    """Gaussian clusters (random rotations and scales <= 1) far apart, shuffled."""
    rng = np.random.default_rng(seed)
    blocks, labels = [], []
    for g in range(n_components):
        centre = rng.normal(size=n_features)
        centre *= spread * (g + 1) / np.linalg.norm(centre)
        A = rng.normal(size=(n_features, n_features)) * rng.uniform(0.3, 1.0, n_features)
        A /= np.linalg.norm(A, 2)
        size = int(rng.integers(20, 2 * n_samples // n_components))
        blocks.append(centre + rng.normal(size=(size, n_features)) @ A.T)
        labels.append(np.full(size, g))
    X, y = np.vstack(blocks), np.concatenate(labels)
    order = rng.permutation(y.size)
    return X[order], y[order]


def same_partition(a, b):
    """Whether two label vectors define the same partition (up to relabelling)."""
    a, b = np.asarray(a), np.asarray(b)
    pairs = np.unique(np.c_[a, b], axis=0)
    return (len(pairs) == len(np.unique(a)) == len(np.unique(b)))


def r_svd_transform(X):
    """mclust's hcUse = "SVD", as R writes it: scale(X) %*% V %*% diag(1/sqrt(d))."""
    Z = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    _, d, Vt = np.linalg.svd(Z, full_matrices=False)
    return Z @ Vt.T / np.sqrt(d)


def vvv_term(Y, lam):
    """n log det((W + lam I) / n) of one cluster, from its rows."""
    n, r = Y.shape
    R = Y - Y.mean(axis=0)
    return n * np.linalg.slogdet((R.T @ R + lam * np.eye(r)) / n)[1]


def brute_force_vvv(Y):
    """Greedy agglomeration recomputing the whole criterion for every candidate merge.

    Returns the merges as (frozenset of rows, frozenset of rows, change of criterion).
    """
    n, r = Y.shape
    lam = ((Y - Y.mean(axis=0)) ** 2).sum() / (n * r)
    clusters = [[i] for i in range(n)]
    out = []
    while len(clusters) > 1:
        base = sum(vvv_term(Y[c], lam) for c in clusters)
        best = None
        for p in range(len(clusters)):
            for q in range(p + 1, len(clusters)):
                merged = [c for t, c in enumerate(clusters) if t not in (p, q)]
                merged.append(clusters[p] + clusters[q])
                change = sum(vvv_term(Y[c], lam) for c in merged) - base
                if best is None or change < best[0]:
                    best = (change, p, q)
        change, p, q = best
        out.append((frozenset(clusters[p]), frozenset(clusters[q]), change))
        clusters = [c for t, c in enumerate(clusters) if t not in (p, q)] + \
            [clusters[p] + clusters[q]]
    return out


def tree_merges_as_sets(tree):
    """The tree's merges as (frozenset of leaves, frozenset of leaves, cost)."""
    m = tree.n_leaves
    members = {i: frozenset([i]) for i in range(m)}
    out = []
    for step, (a, b, cost, size) in enumerate(tree.merges):
        A, B = members.pop(int(a)), members.pop(int(b))
        assert len(A | B) == size
        members[m + step] = A | B
        out.append((A, B, cost))
    return out


def lexicographic(X):
    return np.lexsort(X.T[::-1])


# --------------------------------------------------------------------------- (1) row order
@pytest.mark.parametrize("model", ["VVV", "EII"])
def test_row_order_independence(model):
    rng = np.random.default_rng(0)
    X, _ = separated_blobs(1, 3, 4, spread=6.0)
    X = np.vstack([X, X[:20]])                        # some duplicate rows
    w = rng.integers(0, 4, X.shape[0]).astype(float)   # and weights, zeros included
    w[:20] = 1.0                                       # (keep the duplicates weighted)
    tree = hierarchical_tree(X, w, model=model)
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(X.shape[0])
        tree_p = hierarchical_tree(X[perm], w[perm], model=model)
        np.testing.assert_array_equal(tree_p.merges, tree.merges)   # bitwise
        for k in (1, 2, 4, 7):
            # Canonical labels: equal after permutation, not just the same partition.
            np.testing.assert_array_equal(tree_p.labels(k), tree.labels(k)[perm])


def test_labels_are_numbered_by_lexicographically_smallest_row():
    X, _ = separated_blobs(2, 2, 3)
    labels = hierarchical_labels(X, 3)
    order = lexicographic(X)
    first_seen = labels[order][np.sort(np.unique(labels[order], return_index=True)[1])]
    np.testing.assert_array_equal(first_seen, [0, 1, 2])


def test_negative_zero_is_zero():
    X = np.array([[0.0, 1.0], [-0.0, 1.0], [3.0, 1.0], [3.0, 1.5], [0.2, 0.9]])
    tree = hierarchical_tree(X)
    assert tree.n_leaves == 4
    np.testing.assert_array_equal(hierarchical_tree(X[::-1]).labels(2), tree.labels(2)[::-1])


# --------------------------------------------------------------------------- (2) weights
@pytest.mark.parametrize("shape", [(200, 3), (15, 30), (60, 1)])
def test_integer_weights_act_as_repeated_rows(shape):
    """As scikit-learn's check_sample_weight_equivalence_on_dense_data does it."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=shape)
    X[: shape[0] // 3] += 3.0
    w = rng.integers(0, 5, shape[0])
    X_rep = np.repeat(X, w, axis=0)
    perm = rng.permutation(X_rep.shape[0])
    X_rep = X_rep[perm]
    tree_w = hierarchical_tree(X, w.astype(float))
    tree_r = hierarchical_tree(X_rep)
    np.testing.assert_array_equal(tree_w.merges, tree_r.merges)
    np.testing.assert_array_equal(tree_w.leaf_weights, tree_r.leaf_weights)
    source = np.repeat(np.arange(shape[0]), w)[perm]   # the row each copy came from
    for k in (1, 2, 3, 5):
        lw, lr = tree_w.labels(k), tree_r.labels(k)
        np.testing.assert_array_equal(lr, lw[source])
        assert lw.min() >= 0 and lw.max() < k          # zero-weight rows get labels too


def test_zero_weight_rows_take_no_part():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 2))
    X[:40] += 5
    w = np.ones(80)
    w[::7] = 0.0
    kept = w > 0
    tree = hierarchical_tree(X, w)
    np.testing.assert_array_equal(tree.merges, hierarchical_tree(X[kept]).merges)
    for k in (2, 3):
        np.testing.assert_array_equal(tree.labels(k)[kept], hierarchical_labels(X[kept], k))


# --------------------------------------------------------------------------- (3) blobs
@pytest.mark.parametrize("model", ["VVV", "EII"])
@pytest.mark.parametrize("n_features, n_components", [(1, 3), (2, 3), (3, 4), (6, 5)])
def test_recovers_well_separated_blobs(model, n_features, n_components):
    for seed in range(5):
        X, y = separated_blobs(seed, n_features, n_components)
        labels = hierarchical_labels(X, n_components, model=model)
        assert same_partition(labels, y), (seed, np.bincount(labels))


# --------------------------------------------------------------------------- (4) criterion
def test_first_merge_is_the_brute_force_best_pair():
    X = np.array([[0.0, 0.0], [1.0, 0.2], [0.1, 1.1], [4.0, 4.1], [4.6, 3.5],
                  [9.0, 0.5], [8.2, 1.0], [5.0, 9.0]])
    Y = r_svd_transform(X)
    n, r = Y.shape
    lam = ((Y - Y.mean(axis=0)) ** 2).sum() / (n * r)
    single = [vvv_term(Y[[i]], lam) for i in range(n)]
    changes = {(i, j): vvv_term(Y[[i, j]], lam) - single[i] - single[j]
               for i in range(n) for j in range(i + 1, n)}
    best = min(changes, key=changes.get)
    tree = hierarchical_tree(X)
    order = lexicographic(X)                           # leaf l is row order[l]
    a, b, cost, size = tree.merges[0]
    assert {order[int(a)], order[int(b)]} == set(best)
    assert size == 2
    np.testing.assert_allclose(cost, changes[best], rtol=1e-10)


@pytest.mark.parametrize("seed, n_features", [(0, 2), (1, 3), (2, 1)])
def test_whole_merge_sequence_matches_brute_force(seed, n_features):
    """Every merge and its cost, against the criterion recomputed from scratch."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(13, n_features))
    X[:6] += 2.5
    X = X[lexicographic(X)]                # leaves are then the rows, in this order
    expected = brute_force_vvv(r_svd_transform(X))
    got = tree_merges_as_sets(hierarchical_tree(X))
    assert [{A, B} for A, B, _ in got] == [{A, B} for A, B, _ in expected]
    np.testing.assert_allclose([c for *_, c in got], [c for *_, c in expected],
                               rtol=1e-9, atol=1e-9)


def test_eii_is_wards_method_on_the_transformed_data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3)) * [1.0, 3.0, 0.5]
    X = X[lexicographic(X)]
    tree = hierarchical_tree(X, model="EII")
    Z = linkage(r_svd_transform(X), method="ward")
    np.testing.assert_array_equal(np.sort(tree.merges[:, :2], axis=1), np.sort(Z[:, :2], axis=1))
    np.testing.assert_array_equal(tree.merges[:, 3], Z[:, 3])
    ratio = Z[:, 2] ** 2 / tree.merges[:, 2]           # SciPy's height^2 = 2 * cost * scale
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)


def test_one_dimensional_vvv_is_v():
    X = np.array([[0.0], [0.3], [0.1], [10.0], [10.4], [10.2], [30.0], [33.0]])
    np.testing.assert_array_equal(hierarchical_labels(X, 3), [0, 0, 0, 1, 1, 1, 2, 2])


# --------------------------------------------------------------------------- (5) nested
@pytest.mark.parametrize("max_samples", [None, 150])
def test_partitions_are_nested_and_one_tree_serves_every_k(max_samples):
    X, _ = separated_blobs(4, 2, 4, n_samples=400, spread=5.0)
    tree = hierarchical_tree(X, max_samples=max_samples)
    ks = list(range(1, 13))
    leaf = np.array([tree.leaf_labels(k) for k in ks])
    rows = hierarchical_labels(tree, ks)
    assert rows.shape == (len(ks), X.shape[0])
    for t, k in enumerate(ks):
        np.testing.assert_array_equal(rows[t], tree.labels(k))
        assert len(np.unique(leaf[t])) == k
        if t:  # every k-cluster lies inside one (k-1)-cluster, and only one pair split
            pairs = np.unique(np.c_[leaf[t], leaf[t - 1]], axis=0)
            assert len(pairs) == k
    if max_samples is None:  # every row is a leaf: the row labels nest too
        for t in range(1, len(ks)):
            assert len(np.unique(np.c_[rows[t], rows[t - 1]], axis=0)) == ks[t]


# --------------------------------------------------------------------------- (6) subset
def test_large_n_uses_a_deterministic_subset_quickly():
    rng = np.random.default_rng(5)
    X, _ = separated_blobs(6, 3, 4, n_samples=20_000, spread=8.0)
    start = time.perf_counter()
    tree = hierarchical_tree(X)                        # default max_samples=2000
    elapsed = time.perf_counter() - start
    assert tree.subset and tree.n_leaves <= 2000
    assert tree.leaf_weights.sum() == 2000
    assert elapsed < 15.0, elapsed                     # ~0.3-0.9 s on a loaded 2-core box
    labels = tree.labels(4)
    perm = rng.permutation(X.shape[0])
    again = hierarchical_tree(X[perm])
    np.testing.assert_array_equal(again.merges, tree.merges)
    np.testing.assert_array_equal(again.labels(4), labels[perm])
    np.testing.assert_array_equal(hierarchical_tree(X).labels(4), labels)


def test_subset_with_weights_equals_subset_of_repeated_rows():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(1500, 2))
    X[:500] *= 0.3
    w = rng.integers(0, 4, 1500)
    X_rep = np.repeat(X, w, axis=0)
    perm = rng.permutation(X_rep.shape[0])
    tree_w = hierarchical_tree(X, w, max_samples=300)
    tree_r = hierarchical_tree(X_rep[perm], max_samples=300)
    assert tree_w.subset
    np.testing.assert_array_equal(tree_w.merges, tree_r.merges)
    source = np.repeat(np.arange(1500), w)[perm]
    np.testing.assert_array_equal(tree_r.labels(3), tree_w.labels(3)[source])


def test_subset_is_systematic_in_cumulative_weight():
    X = np.arange(10.0)[:, None]
    w = np.array([1, 1, 1, 1, 6, 1, 1, 1, 1, 6], dtype=float)     # total 20
    tree = hierarchical_tree(X, w, max_samples=5)                   # points 2, 6, ..., 18
    np.testing.assert_array_equal(tree.leaves[:, 0], [2.0, 4.0, 5.0, 9.0])  # 10 is in [10, 11)
    np.testing.assert_array_equal(tree.leaf_weights, [1.0, 1.0, 1.0, 2.0])


# --------------------------------------------------------------------------- (7) faithful
def test_faithful_eee_from_hc_start_reaches_mclust_loglik():
    """EM (tied = EEE, G = 3) from the hc partition, as Mclust(faithful) starts it.

    mclust reports log-likelihood -1126.326 for EEE, G = 3.  EM run to convergence from
    this start reaches -1126.3159, 0.010 higher: the same maximum, which mclust's
    stopping rule (relative change < 1e-5, i.e. about 0.011 here) leaves unconverged.
    (200 random starts find no higher maximum.)
    """
    X, _ = gaussmix.load_faithful()
    labels = hierarchical_labels(X, 3)
    np.testing.assert_array_equal(np.bincount(labels), [94, 73, 105])
    n, k = X.shape[0], 3
    nk = np.bincount(labels, minlength=k).astype(float)
    means = np.array([X[labels == g].mean(axis=0) for g in range(k)])
    scatter = sum((X[labels == g] - means[g]).T @ (X[labels == g] - means[g])
                  for g in range(k))
    gm = gaussmix.GaussianMixture(
        k, covariance_type="tied", weights_init=nk / n, means_init=means,
        precisions_init=np.linalg.inv(scatter / n), tol=1e-10, max_iter=5000,
        reg_covar=0.0,
    ).fit(X)
    loglik = gm.score(X) * n
    assert gm.converged_
    assert loglik >= -1126.326 - 1e-3
    assert abs(loglik - (-1126.3159)) < 1e-3


# --------------------------------------------------------------------------- API details
def test_cache_returns_the_same_tree():
    X, _ = separated_blobs(7, 2, 3)
    a = cached_hierarchical_tree(X)
    assert cached_hierarchical_tree(X.copy()) is a
    assert cached_hierarchical_tree(X, model="EII") is not a
    assert cached_hierarchical_tree(X, np.ones(X.shape[0]) * 2) is not a
    np.testing.assert_array_equal(a.merges, hierarchical_tree(X).merges)


def test_edge_cases():
    one = hierarchical_tree(np.ones((5, 2)))
    assert one.n_leaves == 1 and one.merges.shape == (0, 4)
    np.testing.assert_array_equal(one.labels(1), np.zeros(5))
    with pytest.raises(ValueError, match="number of leaves"):
        one.labels(2)
    constant_column = np.c_[np.r_[0.0, 0.1, 5.0, 5.1], np.full(4, 7.0)]
    np.testing.assert_array_equal(hierarchical_labels(constant_column, 2), [0, 0, 1, 1])
    assert isinstance(hierarchical_tree([[0.0], [1.0]]), HierarchicalTree)
    assert "n_leaves=2" in repr(hierarchical_tree([[0.0], [1.0]]))


@pytest.mark.parametrize("kwargs, match", [
    ({"X": np.ones(3)}, "2-D"),
    ({"X": [[np.nan, 1.0], [1.0, 2.0]]}, "finite"),
    ({"sample_weight": [1.0, -1.0, 1.0]}, "non-negative"),
    ({"sample_weight": [1.0, 1.0]}, "shape"),
    ({"sample_weight": [0.0, 0.0, 0.0]}, "positive"),
    ({"model": "VVI"}, "model"),
    ({"max_samples": 0}, "max_samples"),
    ({"alpha": 0.0}, "alpha"),
])
def test_invalid_input(kwargs, match):
    args = {"X": [[0.0], [1.0], [2.0]], **kwargs}
    X = args.pop("X")
    with pytest.raises(ValueError, match=match):
        hierarchical_tree(X, **args)


def test_invalid_number_of_clusters():
    tree = hierarchical_tree([[0.0], [1.0], [2.0]])
    for bad in (0, 4):
        with pytest.raises(ValueError, match="n_components"):
            tree.labels(bad)
    for bad in (2.0, True):
        with pytest.raises(TypeError, match="n_components"):
            tree.labels(bad)
    with pytest.raises(ValueError, match="apply to data"):
        hierarchical_labels(tree, 2, model="EII")


def test_docstring_examples_run():
    result = doctest.testmod(gaussmix._hierarchical, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0
