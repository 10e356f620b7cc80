"""Model-based agglomerative hierarchical clustering (Fraley 1998), for ``init_params='hc'``.

The start mclust uses by default: ``hc(modelName="VVV", use="SVD")`` on (at most) a
subset of the rows, cut at every number of clusters from one tree.  This module is a
NumPy implementation of that idea, not a port: the criterion below is written out in
full and is this module's own regularised form.

Transformation ("SVD", mclust's ``hcUse`` default)
    The columns are centred and scaled to unit variance (weighted by ``sample_weight``),
    ``Z = U D V^T`` is their thin SVD, and the clustering runs on
    ``Y = Z V D^{-1/2} = U D^{1/2}``.  These are not unit-variance principal components
    (those would be ``U``, mclust's ``"SPH"``): component ``j`` keeps a variance
    proportional to the singular value ``d_j``, half-way (on a log scale) between the
    principal component scores ``U D`` and sphering.  Directions with no variation
    (``d_j <= max(d) * max(n, p) * eps``), constant columns included, are dropped: they
    carry no information about clusters, and ``D^{-1/2}`` is not defined on them.  A
    common factor on ``Y`` changes no merge (see below), so the variance denominators
    (``n`` or ``n - 1``) do not matter.

Criterion (model ``"VVV"``)
    A partition into clusters ``C_1..C_g`` with weights ``n_k`` (sums of sample
    weights), means ``m_k`` and scatter matrices ``W_k = sum_{i in C_k} w_i (y_i - m_k)
    (y_i - m_k)^T`` costs ::

        J = sum_k T_k,   T_k = n_k log det((W_k + lam I) / n_k),
        lam = alpha * tr(W) / (N r),  alpha = 1,

    with ``W`` the scatter of all the (positive-weight) rows, ``N`` their total weight
    and ``r`` the dimension of ``Y``: ``lam`` is the average variance per coordinate,
    the scale mclust's ``hcVVV`` hands its Fortran code (``alpha * traceW(data /
    sqrt(n * p))``).  Each step merges the pair ``(a, b)`` with the smallest change
    ``T_{a+b} - T_a - T_b`` of ``J``, where ``W_{a+b} = W_a + W_b + n_a n_b / (n_a + n_b)
    (m_a - m_b)(m_a - m_b)^T``.  Without ``lam``, ``J`` is ``-2`` times the maximised VVV
    classification log-likelihood up to a constant (``N r (1 + log 2 pi)``) -- the
    criterion of Banfield & Raftery (1993) and Fraley (1998) -- but it is undefined
    while a cluster has fewer than ``r + 1`` distinct points (a singleton has ``W_k =
    0``).  ``lam`` makes every term finite (a singleton costs ``r log lam``) and its
    effect vanishes as clusters grow: ``(W_k + lam I) / n_k = Sigma_k + (lam / n_k) I``
    tends to the cluster's ML covariance ``Sigma_k``, so for large clusters ``J`` is the
    classification likelihood criterion.  Two singletons at distance ``delta`` cost
    ``2 log(1 + |delta|^2 / (2 lam)) - 2 r log 2``, so the first merges are those of the
    nearest pairs.  mclust's Fortran ``hcvvv`` (with its ``alpha`` and ``beta``) is not
    reproduced, so merge sequences need not be identical to mclust's.

    ``J`` is invariant under ``Y -> c Q Y`` (``Q`` orthogonal, ``c > 0``, with ``lam``
    following): the signs of the singular vectors and a common scale of ``Y`` change
    nothing.  The transformation matters through ``lam I`` (and the final assignment).

    Model ``"EII"`` (equal spherical covariances) is Ward's method: the cost of a merge is
    the increase ``n_a n_b / (n_a + n_b) |m_a - m_b|^2`` of ``tr(sum_k W_k)``, whose
    criterion ``N r log(tr(sum_k W_k) / (N r))`` is monotone in it.  One-dimensional
    data need no special case: ``"VVV"`` with ``r = 1`` is mclust's ``"V"``.

Determinism, row order and sample weights
    The rows are first sorted lexicographically (by value; ``-0.0`` counts as ``0.0``) and
    identical rows are merged into one leaf whose weight is the sum of theirs (mclust's
    ``hc`` also starts from ``dupPartition``).  Everything after works on that canonical
    array, so a permutation of the rows cannot change a single floating-point
    operation, and a row of weight 2 is, exactly, two copies of it.  Ties between equal
    merge costs go to the pair of clusters whose lexicographically smallest rows come
    first, and labels are numbered by the lexicographically smallest row of each
    cluster.  Rows of weight zero take no part; they are assigned at the end.

Subset (large ``n``)
    With more than ``max_samples`` distinct positive-weight rows the tree is built on a
    systematic weighted sample of them: the rows in lexicographic order cover
    consecutive intervals of the cumulative weight ``[0, N)``, and the ``max_samples``
    points ``(j + 1/2) N / max_samples`` pick the rows whose intervals contain them; a row
    picked ``c`` times is a leaf of weight ``c``.  (mclust draws a random subset of 2000
    rows instead.)  The sample is deterministic, depends on the multiset of rows and
    weights only (so not on row order, and repeated rows and integer weights give the
    same sample), is proportional to weight, and is stratified along the lexicographic
    order (its weighted quantiles in that order, so the first coordinate's, are the
    data's to within ``1 / max_samples``).  The other rows are then
    assigned to the cluster of highest posterior under the regularised Gaussians the
    criterion fits: proportions ``n_k / sum(n)``, means ``m_k`` and covariances ``(W_k +
    lam I) / n_k`` in the transformed space (``"EII"``: the same proportions and means
    with the pooled spherical covariance ``v I``, ``v = tr(sum_k W_k + k lam I) / (N'
    r)``, ``N'`` the leaves' total weight).

Cost
    The cost matrix of the ``m <= max_samples`` leaves is stored (``m^2`` floats) and each
    merge recomputes only the row of the new cluster, from per-cluster ``(n, m, W)``:
    rank-one updates (matrix determinant lemma) against leaves, batched ``slogdet``
    against other merged clusters.  Each row's minimum is cached -- exactly, or as a
    lower bound that is rescanned only when it comes out smallest (Muellner 2011,
    "generic" algorithm) -- and the matrix is compacted whenever half its clusters are
    gone, so a step costs ``O(g r^2 + q r^3)`` for ``g`` clusters of which ``q`` are
    not leaves, plus the rare rescans: ``O(m^2 r^3)`` time at worst in all (not the
    ``O(m^3)`` of a full search per merge) and ``O(m^2)`` memory.  Assigning the other rows is
    ``O(n r^2 k)`` per ``k``.

Size effect
    While ``W_k`` is small next to ``lam I``, ``T_k`` is about ``n_k r log(lam / n_k)``:
    merging two tight clusters gains ``r (n_a + n_b) H`` (``H`` the entropy of the
    proportions ``n_a : n_b``) whatever their shapes, so the criterion favours growing
    clusters and may keep a small tight group apart (or attach it to a diffuse one)
    until the end.  This is the classification likelihood's own preference for
    concentrated clusters, and the reason the tree is a start for EM, not a result.
"""

import hashlib
import threading
from collections import OrderedDict

import numpy as np

__all__ = ["HierarchicalTree", "cached_hierarchical_tree", "hierarchical_labels",
           "hierarchical_tree"]

MODELS = ("VVV", "EII")
#: Default ``max_samples``, mclust's subset size too.  Time grows as m^2: 2000 leaves
#: take 0.4-0.8 s of CPU for "VVV" with 2-10 features (1000: 0.15-0.35 s, 4000:
#: 1.5-2.4 s), "EII" about two thirds of that; memory is 2-3 m^2 floats (~100 MB).
MAX_SAMPLES = 2000


class HierarchicalTree:
    """The merge sequence of a model-based hierarchical clustering, cut at any ``k``.

    Built by :func:`hierarchical_tree` (not meant to be constructed directly) and
    read-only.  One tree serves every number of clusters: :meth:`labels` cuts it.

    Attributes
    ----------
    merges : ndarray of shape (n_leaves - 1, 4)
        One row per merge, in order, laid out as scipy's linkage matrices: the ids of
        the two clusters merged (leaves are ``0 .. n_leaves - 1`` in lexicographic order
        of their rows, the cluster formed at step ``s`` is ``n_leaves + s``; smaller id
        first), the change of the criterion (may be negative and is not monotone, so
        this is not a valid scipy distance) and the number of leaves of the new cluster.
    merge_weights : ndarray of shape (n_leaves - 1,)
        Total weight of the cluster each merge forms.
    leaves : ndarray of shape (n_leaves, n_features)
        The distinct rows the tree was built on, in lexicographic order.
    leaf_weights : ndarray of shape (n_leaves,)
        Their weights: summed sample weights, or subset multiplicities.
    n_leaves : int
        Number of leaves.
    model : str
        ``"VVV"`` or ``"EII"``.
    n_samples : int
        Number of rows of the data the tree was built from.
    subset : bool
        Whether the tree was built on a subset of the distinct positive-weight rows.
    reg : float
        The regularisation ``lam`` of the criterion (in the transformed space).

    See Also
    --------
    hierarchical_tree : Builds the tree.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix._hierarchical import hierarchical_tree
    >>> tree = hierarchical_tree(np.array([[0.0], [0.1], [5.0], [5.3], [9.0]]))
    >>> tree
    HierarchicalTree(model='VVV', n_samples=5, n_leaves=5, subset=False)
    >>> tree.merges[:, [0, 1, 3]]
    array([[0., 1., 2.],
           [2., 3., 2.],
           [4., 6., 3.],
           [5., 7., 5.]])
    """

    @classmethod
    def _from_parts(cls, **parts):
        tree = cls.__new__(cls)
        # Besides the public attributes: _slots (m - 1, 2) slot pairs (kept, absorbed);
        # _Y_leaves (m, r) transformed leaves; _Y_rest (q, r) transformed distinct rows
        # to assign; _leaf_of_row / _rest_of_row (n,) indices into them, or -1.
        vars(tree).update(parts)
        return tree

    @property
    def n_leaves(self):
        """Number of leaves (distinct rows) of the tree."""
        return self._Y_leaves.shape[0]

    def __repr__(self):
        return (f"HierarchicalTree(model={self.model!r}, n_samples={self.n_samples}, "
                f"n_leaves={self.n_leaves}, subset={self.subset})")

    def leaf_labels(self, n_components):
        """Return the canonical labels of the leaves for ``n_components`` clusters.

        The partition after the first ``n_leaves - n_components`` merges.

        Parameters
        ----------
        n_components : int
            Number of clusters, from 1 to ``n_leaves``.

        Returns
        -------
        ndarray of shape (n_leaves,)
            Labels ``0 .. n_components - 1``, numbered by the first (lexicographically
            smallest) leaf of each cluster.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix._hierarchical import hierarchical_tree
        >>> tree = hierarchical_tree(np.array([[9.0], [0.0], [5.0], [0.1], [5.3]]))
        >>> tree.leaves[:, 0]
        array([0. , 0.1, 5. , 5.3, 9. ])
        >>> tree.leaf_labels(3)
        array([0, 0, 1, 1, 2])
        """
        k = _check_k(n_components, self.n_leaves)
        m = self.n_leaves
        parent = np.arange(m)
        steps = self._slots[:m - k]
        parent[steps[:, 1]] = steps[:, 0]
        # Pointer jumping: every slot ends at its root, the cluster's smallest leaf (the
        # kept slot of a merge is the smaller one), so np.unique numbers the clusters by
        # their lexicographically smallest leaf.
        while True:
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt
        return np.unique(parent, return_inverse=True)[1].astype(np.intp)

    def labels(self, n_components):
        """Return the labels of the ``n_samples`` rows for ``n_components`` clusters.

        Rows that are leaves take their leaf's cluster; the others (rows left out of the
        subset, rows of weight zero) go to the cluster of highest posterior under the
        regularised Gaussians of the criterion (module docstring).

        Parameters
        ----------
        n_components : int
            Number of clusters, from 1 to ``n_leaves``.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels ``0 .. n_components - 1`` of the rows the tree was built from.

        Examples
        --------
        >>> import numpy as np
        >>> from gaussmix._hierarchical import hierarchical_tree
        >>> X = np.array([[9.0], [0.0], [5.0], [0.1], [5.3]])
        >>> hierarchical_tree(X, sample_weight=[1, 1, 0, 1, 1]).labels(3)
        array([2, 0, 1, 0, 1])
        """
        leaf_lab = self.leaf_labels(n_components)
        k = int(leaf_lab.max()) + 1
        out = np.empty(self.n_samples, dtype=np.intp)
        is_leaf = self._leaf_of_row >= 0
        out[is_leaf] = leaf_lab[self._leaf_of_row[is_leaf]]
        if not is_leaf.all():
            rest_lab = _classify(self._Y_rest, self._Y_leaves, self.leaf_weights, leaf_lab, k,
                                 self.reg, self.model)
            out[~is_leaf] = rest_lab[self._rest_of_row[~is_leaf]]
        return out


def hierarchical_tree(X, sample_weight=None, *, model="VVV", max_samples=MAX_SAMPLES,
                      alpha=1.0):
    """Model-based agglomerative hierarchical clustering (Fraley 1998) of the rows of X.

    The default is mclust's default start, ``hc(modelName="VVV", use="SVD")``: the
    unconstrained-covariance classification likelihood, regularised for small
    clusters, on the scaled SVD transformation of the data (see the module docstring
    for the exact criterion).  The result depends on the multiset of rows and weights
    only: permuting the rows permutes the labels the tree gives, and a row of integer
    weight ``c`` acts as ``c`` copies of it.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite data.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights; ``None`` gives every row weight 1.  Identical rows are
        pooled (their weights added); rows of total weight zero are left out of the
        tree and assigned to clusters by :meth:`HierarchicalTree.labels`.
    model : {"VVV", "EII"}, default="VVV"
        ``"VVV"``: unconstrained covariances.  ``"EII"``: equal spherical ones
        (Ward's method); cheaper, for very many features.
    max_samples : int or None, default=2000
        At most this many leaves.  With more distinct positive-weight rows the tree is
        built on a deterministic systematic sample proportional to weight (module
        docstring); ``None`` uses every row.
    alpha : float, default=1.0
        Regularisation of the ``"VVV"`` criterion: ``lam = alpha * tr(W) / (N r)``,
        a multiple of the data's average variance per coordinate (mclust's ``alpha``
        of ``hcVVV``, also 1 by default).

    Returns
    -------
    HierarchicalTree
        The merges (``tree.merges``, laid out as a scipy linkage matrix) and a
        ``labels(k)`` method that cuts the tree at ``k`` clusters.

    Raises
    ------
    ValueError
        If X is not a finite 2-D array, the weights are negative, not finite or all
        zero, or ``model``, ``max_samples`` or ``alpha`` is invalid.

    See Also
    --------
    hierarchical_labels : Labels for one or several numbers of clusters.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix._hierarchical import hierarchical_tree
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.0, 5.2], [0.0, 0.2]])
    >>> tree = hierarchical_tree(X)
    >>> tree.merges.shape
    (4, 4)
    >>> tree.labels(2)
    array([0, 0, 1, 1, 0])
    """
    X, w = _check_data(X, sample_weight)
    if not (np.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a positive number, got {alpha!r}")
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    if max_samples is not None and (isinstance(max_samples, bool)
                                    or not isinstance(max_samples, (int, np.integer))
                                    or max_samples < 1):
        raise ValueError(f"max_samples must be a positive integer or None, got {max_samples!r}")
    n = X.shape[0]
    U, wu, row_to_unique = _distinct_rows(X, w)
    positive = wu > 0
    P, wP = U[positive], wu[positive]
    if P.shape[0] == 0:
        raise ValueError("sample_weight must have at least one positive entry")
    transform = _svd_transform(P, wP)
    YP = transform(P)
    N = wP.sum()
    r = YP.shape[1]
    YC = YP - (wP @ YP) / N                  # (centred already, up to rounding)
    reg = alpha * float(np.einsum("i,ij,ij->", wP, YC, YC) / (N * max(r, 1)))
    reg = max(reg, np.finfo(float).tiny) if r else 1.0

    subset = max_samples is not None and P.shape[0] > max_samples
    if subset:
        counts = _systematic_counts(wP, max_samples)
        leaf_idx = np.flatnonzero(counts)
        leaf_w = counts[leaf_idx].astype(np.float64)
    else:
        leaf_idx = np.arange(P.shape[0])
        leaf_w = wP
    Y_leaves = YP[leaf_idx]
    slots, merges, merge_w = _agglomerate(Y_leaves, leaf_w, reg, model)

    # Where each row's label comes from: its leaf, or the assignment of the rest.
    leaf_of_pos = np.full(P.shape[0], -1, dtype=np.intp)
    leaf_of_pos[leaf_idx] = np.arange(leaf_idx.size)
    leaf_of_unique = np.full(U.shape[0], -1, dtype=np.intp)
    leaf_of_unique[positive] = leaf_of_pos
    rest = np.flatnonzero(leaf_of_unique < 0)          # distinct rows, canonical order
    rest_of_unique = np.full(U.shape[0], -1, dtype=np.intp)
    rest_of_unique[rest] = np.arange(rest.size)
    Y_rest = transform(U[rest]) if rest.size else np.empty((0, r))
    return HierarchicalTree._from_parts(
        merges=merges, merge_weights=merge_w, model=model, reg=reg, n_samples=n,
        subset=bool(subset), leaves=P[leaf_idx], leaf_weights=leaf_w, _slots=slots,
        _Y_leaves=Y_leaves, _Y_rest=Y_rest, _rest_of_row=rest_of_unique[row_to_unique],
        _leaf_of_row=leaf_of_unique[row_to_unique],
    )


def hierarchical_labels(tree_or_X, n_components, sample_weight=None, **tree_params):
    """Cluster labels from a model-based hierarchical clustering, for one or several k.

    Every ``k`` is a cut of the same tree, so on the tree's leaves the partitions are
    nested: each cluster of the ``k``-partition lies inside one cluster of the
    ``(k - 1)``-partition.  (Rows outside the tree -- left out of a subset, or of weight
    zero -- are classified for each ``k`` separately.)  Labels are canonical: cluster 0
    holds the lexicographically smallest leaf, cluster 1 the smallest leaf not in
    cluster 0, and so on, so permuting the rows of X permutes the labels and nothing
    else.

    Parameters
    ----------
    tree_or_X : HierarchicalTree or array-like of shape (n_samples, n_features)
        A tree from :func:`hierarchical_tree`, or data to build one from.
    n_components : int or sequence of int
        Number(s) of clusters, each at least 1 and at most the tree's number of leaves.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows, when ``tree_or_X`` is data.
    **tree_params : dict
        ``model``, ``max_samples`` and ``alpha`` of :func:`hierarchical_tree`, when
        ``tree_or_X`` is data.

    Returns
    -------
    ndarray of shape (n_samples,) or (len(n_components), n_samples)
        Integer labels ``0 .. k - 1`` of the rows (one row of labels per ``k`` when
        ``n_components`` is a sequence).

    Raises
    ------
    ValueError
        If a ``k`` is below 1 or above the number of leaves (distinct positive-weight
        rows, or rows of the subset).
    TypeError
        If a ``k`` is not an integer.

    See Also
    --------
    hierarchical_tree : The tree, to reuse for several calls.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix._hierarchical import hierarchical_labels, hierarchical_tree
    >>> X = np.array([[0.0], [0.2], [0.1], [10.0], [10.3], [20.0], [20.1]])
    >>> hierarchical_labels(X, 3)
    array([0, 0, 0, 1, 1, 2, 2])
    >>> hierarchical_labels(hierarchical_tree(X), [1, 2, 3])
    array([[0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 1, 1, 1, 1],
           [0, 0, 0, 1, 1, 2, 2]])
    """
    if isinstance(tree_or_X, HierarchicalTree):
        if sample_weight is not None or tree_params:
            raise ValueError("sample_weight and tree parameters apply to data, not to a tree")
        tree = tree_or_X
    else:
        tree = hierarchical_tree(tree_or_X, sample_weight, **tree_params)
    if np.ndim(n_components) == 0:
        return tree.labels(n_components)
    ks = list(n_components)
    out = np.empty((len(ks), tree.n_samples), dtype=np.intp)
    for row, k in enumerate(ks):
        out[row] = tree.labels(k)
    return out


_CACHE = OrderedDict()
_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()


def cached_hierarchical_tree(X, sample_weight=None, **tree_params):
    """:func:`hierarchical_tree`, remembered for the last few distinct inputs.

    A fit's restarts and a grid of fits over ``n_components`` all cut the same tree:
    this builds it once.  The key is a BLAKE2 digest of the float64 bytes and shapes
    of X and the weights and of the parameters, so only identical arrays share a tree;
    hashing costs a fraction of building the tree.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite data.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights.
    **tree_params : dict
        ``model``, ``max_samples`` and ``alpha`` of :func:`hierarchical_tree`.

    Returns
    -------
    HierarchicalTree
        The tree (the same object for repeated calls; treat it as read-only).

    See Also
    --------
    hierarchical_tree : The uncached function.

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix._hierarchical import cached_hierarchical_tree
    >>> X = np.array([[0.0], [0.2], [10.0], [10.1]])
    >>> cached_hierarchical_tree(X) is cached_hierarchical_tree(X.copy())
    True
    """
    X = np.ascontiguousarray(X, dtype=np.float64)     # what hierarchical_tree uses
    digest = hashlib.blake2b(digest_size=20)
    digest.update(repr(X.shape).encode())
    digest.update(X.data)
    if sample_weight is not None:
        w = np.ascontiguousarray(sample_weight, dtype=np.float64)
        digest.update(repr(w.shape).encode())
        digest.update(w.data)
    else:
        digest.update(b"unweighted")
    digest.update(repr(sorted(tree_params.items())).encode())
    key = digest.digest()
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    tree = hierarchical_tree(X, sample_weight, **tree_params)
    with _CACHE_LOCK:
        _CACHE[key] = tree
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return tree


# --------------------------------------------------------------------------- helpers
def _check_k(n_components, n_leaves):
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)):
        raise TypeError(f"n_components must be an integer, got {n_components!r}")
    k = int(n_components)
    if not 1 <= k <= n_leaves:
        raise ValueError(
            f"n_components={k} must be between 1 and the tree's number of leaves "
            f"({n_leaves}: distinct rows of positive weight, or of the subset)")
    return k


def _check_data(X, sample_weight):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must be a non-empty 2-D array, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X must be finite")
    if sample_weight is None:
        w = np.ones(X.shape[0])
    else:
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (X.shape[0],):
            raise ValueError(f"sample_weight must have shape ({X.shape[0]},), got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("sample_weight must be finite and non-negative")
    return X + 0.0, w + 0.0    # + 0.0 turns -0.0 into 0.0 (and copies)


def _distinct_rows(X, w):
    """Distinct rows in lexicographic order, their summed weights, and each row's index.

    The sort's last key is the weight, so equal rows are summed in an order fixed by
    the values alone.
    """
    keys = (w,) + tuple(X[:, j] for j in range(X.shape[1] - 1, -1, -1))
    order = np.lexsort(keys)
    Xs = X[order]
    first = np.ones(X.shape[0], dtype=bool)
    first[1:] = (Xs[1:] != Xs[:-1]).any(axis=1)
    starts = np.flatnonzero(first)
    row_to_unique = np.empty(X.shape[0], dtype=np.intp)
    row_to_unique[order] = np.cumsum(first) - 1
    return Xs[starts], np.add.reduceat(w[order], starts), row_to_unique


def _svd_transform(P, wP):
    """mclust's "SVD" transformation fitted on weighted rows: x -> U D^{1/2} coordinates.

    Standardise (weighted mean and standard deviation; constant columns are only
    centred), then project on the right singular vectors of sqrt(w) Z and divide by the
    square roots of the singular values, dropping null directions.
    """
    N = wP.sum()
    mean = (wP @ P) / N
    Z = P - mean
    sd = np.sqrt((wP @ (Z * Z)) / N)
    scale = np.where(sd > 0, sd, 1.0)
    Z /= scale
    C = (Z * wP[:, None]).T @ Z
    C = (C + C.T) / 2
    evals, evecs = np.linalg.eigh(C)
    evals, evecs = evals[::-1], evecs[:, ::-1]          # singular values^2, descending
    sing = np.sqrt(np.clip(evals, 0.0, None))
    tol = sing[0] * max(P.shape) * np.finfo(float).eps if sing.size else 0.0
    keep = sing > tol
    proj = evecs[:, keep] / np.sqrt(sing[keep])
    return lambda A: ((A - mean) / scale) @ proj


def _systematic_counts(wP, n_points):
    """How many of the points (j + 1/2) N / n_points fall in each row's weight interval."""
    cw = np.cumsum(wP)
    t = (np.arange(n_points) + 0.5) * (cw[-1] / n_points)
    rows = np.minimum(np.searchsorted(cw, t, side="right"), wP.size - 1)
    return np.bincount(rows, minlength=wP.size)


def _agglomerate(Y, nw, reg, model):
    """Greedy merges of the leaves Y (weights nw); returns (slots, merges, merge_weights).

    The cost matrix is stored in full (symmetric, +inf on the diagonal and for merged-
    away clusters); each cluster lives in the slot of its smallest leaf.  ``rowmin``
    holds, per row, either its exact minimum (``rowarg``: the minimum's first column) or,
    when ``stale``, a lower bound of it, as in Muellner's (2011) generic algorithm: a
    row is rescanned only when its bound comes out smallest.  The choice is the first
    minimum of the matrix in row-major order -- ties go to the pair of smallest
    canonical leaves: a row ``i`` found by argmin(rowmin) with an exact minimum ``v`` has
    every earlier row's (bound on its) minimum above ``v``, every later one's at least
    ``v``.
    """
    m, r = Y.shape
    slots = np.empty((max(m - 1, 0), 2), dtype=np.intp)
    merges = np.empty((max(m - 1, 0), 4))
    merge_w = np.empty(max(m - 1, 0))
    if m == 1:
        return slots, merges, merge_w
    vvv = model == "VVV"
    n = nw.astype(np.float64).copy()
    mean = Y.copy()
    # The initial costs, all leaves (W = 0), in place (m^2 temporaries are slow to
    # allocate); every operation is elementwise on exactly symmetric arrays, so the
    # matrix is exactly symmetric.
    cost = np.zeros((m, m))
    tmp = np.empty((m, m))
    for j in range(r):                          # squared distances
        np.subtract.outer(Y[:, j], Y[:, j], out=tmp)
        tmp *= tmp
        cost += tmp
    np.multiply.outer(n, n, out=tmp)
    ntot = np.add.outer(n, n)
    tmp /= ntot                                 # n_a n_b / (n_a + n_b)
    cost *= tmp
    if vvv:
        # T_ab = n_ab (r log lam + log(1 + s |d|^2 / lam) - r log n_ab)
        log_reg = np.log(reg)
        T = n * r * (log_reg - np.log(n))       # leaves: W = 0
        cost /= reg
        np.log1p(cost, out=cost)
        np.log(ntot, out=tmp)
        tmp *= -r
        tmp += r * log_reg
        cost += tmp
        cost *= ntot
        np.add.outer(T, T, out=tmp)
        cost -= tmp
        W = np.zeros((m, r, r))
        is_leaf = np.ones(m, dtype=bool)
        eye = np.eye(r)
    del tmp, ntot
    np.fill_diagonal(cost, np.inf)
    rowarg = cost.argmin(axis=1)
    rowmin = cost[np.arange(m), rowarg]
    stale = np.zeros(m, dtype=bool)
    active = np.ones(m, dtype=bool)
    node = np.arange(m)                    # scipy id of the cluster in each slot
    leaves = np.ones(m, dtype=np.intp)
    leaf_of_slot = np.arange(m)            # slots are renumbered when compacted
    n_active = m
    for step in range(m - 1):
        if n_active <= cost.shape[0] // 2 and n_active >= 64:
            # Compact to the active slots (in order, so ties are still broken alike):
            # rows and rescans then cost O(active), not O(m).
            keep = np.flatnonzero(active)
            renumber = np.full(cost.shape[0], -1, dtype=np.intp)
            renumber[keep] = np.arange(keep.size)
            cost = cost[np.ix_(keep, keep)]
            rowarg = np.where(stale[keep], 0, renumber[rowarg[keep]])
            rowmin, stale, n, mean = rowmin[keep], stale[keep], n[keep], mean[keep]
            node, leaves, leaf_of_slot = node[keep], leaves[keep], leaf_of_slot[keep]
            active = np.ones(keep.size, dtype=bool)
            if vvv:
                W, T, is_leaf = W[keep], T[keep], is_leaf[keep]
        while True:
            i = int(np.argmin(rowmin))
            if not stale[i]:
                break
            rowarg[i] = np.argmin(cost[i])
            rowmin[i] = cost[i, rowarg[i]]
            stale[i] = False
        j = int(rowarg[i])
        a, b = min(i, j), max(i, j)
        nab = n[a] + n[b]
        delta = mean[b] - mean[a]
        slots[step] = leaf_of_slot[a], leaf_of_slot[b]
        merges[step] = min(node[a], node[b]), max(node[a], node[b]), cost[a, b], \
            leaves[a] + leaves[b]
        merge_w[step] = nab
        if vvv:
            W[a] = W[a] + W[b] + (n[a] * n[b] / nab) * np.outer(delta, delta)
            W[a] = (W[a] + W[a].T) / 2
            is_leaf[a] = False
        mean[a] = (n[a] * mean[a] + n[b] * mean[b]) / nab
        n[a] = nab
        node[a] = m + step
        leaves[a] += leaves[b]
        active[b] = False
        n_active -= 1
        cost[b, :] = np.inf
        cost[:, b] = np.inf
        rowmin[b] = np.inf
        stale[b] = False
        if step == m - 2:
            break
        others = np.flatnonzero(active)
        others = others[others != a]
        if vvv:
            T[a] = n[a] * (np.linalg.slogdet(W[a] + reg * eye)[1] - r * np.log(n[a]))
            new = _vvv_costs(a, others, n, mean, W, T, is_leaf, reg, eye)
        else:
            dm = mean[others] - mean[a]
            new = (n[a] * n[others] / (n[a] + n[others])) * np.einsum("ij,ij->i", dm, dm)
        cost[a, others] = new
        cost[others, a] = new
        ra = int(np.argmin(cost[a]))
        rowarg[a], rowmin[a] = ra, cost[a, ra]
        # Rows other than a changed only in columns a (new value) and b (now +inf).
        old_arg, old_min, was_stale = rowarg[others], rowmin[others], stale[others]
        lost = ~was_stale & ((old_arg == a) | (old_arg == b))   # exact min moved
        take = (new < old_min) | ((new == old_min) & ~was_stale & (lost | (a < old_arg)))
        rowmin[others[take]] = new[take]
        rowarg[others[take]] = a
        stale[others[take]] = False
        stale[others[lost & ~take]] = True     # the old minimum stays a lower bound
    return slots, merges, merge_w


def _vvv_costs(a, others, n, mean, W, T, is_leaf, reg, eye):
    """Criterion change T_{a+c} - T_a - T_c of merging cluster a with each of others."""
    r = eye.shape[0]
    nc = n[others]
    nac = n[a] + nc
    s = n[a] * nc / nac
    dm = mean[others] - mean[a]
    A = W[a] + reg * eye
    logdet_A = np.linalg.slogdet(A)[1]
    # Leaves (W_c = 0): det(A + s dd^T) = det(A) (1 + s d^T A^{-1} d).  (Not a LAPACK
    # triangular solve: with OpenBLAS threads that costs milliseconds per small call.)
    A_inv = np.linalg.inv(A)
    logdet = logdet_A + np.log1p(s * np.einsum("ij,ij->i", dm @ A_inv, dm))
    merged = np.flatnonzero(~is_leaf[others])
    if merged.size:
        c = others[merged]
        dmc = dm[merged]
        M = A + W[c] + s[merged, None, None] * (dmc[:, :, None] * dmc[:, None, :])
        logdet[merged] = np.linalg.slogdet(M)[1]
    return nac * (logdet - r * np.log(nac)) - T[a] - T[others]


def _classify(Y, Y_leaves, leaf_w, leaf_lab, k, reg, model):
    """Highest-posterior cluster of each row of Y under the regularised cluster Gaussians."""
    if k == 1:
        return np.zeros(Y.shape[0], dtype=np.intp)
    r = Y_leaves.shape[1]
    nk = np.bincount(leaf_lab, weights=leaf_w, minlength=k)
    means = np.zeros((k, r))
    for j in range(r):
        means[:, j] = np.bincount(leaf_lab, weights=leaf_w * Y_leaves[:, j], minlength=k)
    means /= nk[:, None]
    scores = np.empty((Y.shape[0], k))
    if model == "EII":
        resid = Y_leaves - means[leaf_lab]
        var = (np.einsum("i,ij,ij->", leaf_w, resid, resid) + k * r * reg) / (nk.sum() * r)
        for g in range(k):
            dm = Y - means[g]
            scores[:, g] = np.log(nk[g]) - np.einsum("ij,ij->i", dm, dm) / (2 * var)
    else:
        for g in range(k):
            rows = leaf_lab == g
            resid = Y_leaves[rows] - means[g]
            cov = ((resid * leaf_w[rows, None]).T @ resid + reg * np.eye(r)) / nk[g]
            L = np.linalg.cholesky((cov + cov.T) / 2)
            z = (Y - means[g]) @ np.linalg.inv(L).T
            scores[:, g] = (np.log(nk[g]) - np.log(np.diag(L)).sum()
                            - 0.5 * np.einsum("ij,ij->i", z, z))
    return scores.argmax(axis=1)
