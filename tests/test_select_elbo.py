"""select(..., method="variational", criterion="elbo"): variational fits ranked by
-2 ELBO (what ``gaussmix fit --method variational`` uses)."""

import numpy as np
import pytest

from gaussmix import GaussianMixture, load_faithful, select
from gaussmix._selection import SKLEARN_MODELS


@pytest.fixture(scope="module")
def faithful():
    return load_faithful()[0]


@pytest.fixture(scope="module")
def grid(faithful):
    return select(faithful, [1, 2, 3], "all", method="variational", criterion="elbo",
                  n_init=2, max_iter=200)


def test_all_means_the_four_variational_models(grid):
    assert list(grid.table.columns) == list(SKLEARN_MODELS)
    assert grid.criterion == "elbo" and grid.table is grid.criteria["elbo"]


def test_cells_are_minus_twice_the_elbo_of_the_estimator(grid, faithful):
    for G in (1, 3):
        for model in ("diag", "full"):
            gm = GaussianMixture(G, covariance_type=model, method="variational", n_init=2,
                                 max_iter=200, random_state=0).fit(faithful)
            assert grid.table.loc[G, model] == pytest.approx(-2 * gm.lower_bound_,
                                                             rel=1e-12)
    # the BIC-like criteria of EM are not computed for variational fits
    assert grid.criteria["bic"].isna().to_numpy().all()


def test_best_is_the_lowest_cell(grid):
    values = grid.table.to_numpy()
    i, j = np.unravel_index(np.nanargmin(values), values.shape)
    assert grid.best_params_ == {"n_components": int(grid.table.index[i]),
                                 "covariance_type": grid.table.columns[j]}
    assert grid.best_estimator_.method == "variational"
    text = grid.summary()
    assert "-2 ELBO" in text and "mclust ELBO" not in text


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "variational"}, "criterion='elbo'"),
    ({"criterion": "elbo"}, "method must be 'variational'"),
    ({"method": "variational", "criterion": "elbo", "covariance_type": ["VEV"]}, "VEV"),
])
def test_method_and_criterion_must_agree(faithful, kwargs, match):
    kwargs = {"n_components": [1, 2], "covariance_type": ["full"], **kwargs}
    with pytest.raises(ValueError, match=match):
        select(faithful, **kwargs)
