"""The compiled kernels and the pure-numpy path give the same fill, to 1e-12 relative, on data with ties.

Ties are where the paths used to part: values drawn from a few amounts (log1p of prices, as Online Retail's
log1p revenue) make many pairs of salespeople exactly as far apart (and duplicated rows put some at
distance 0, near-duplicates some at distances far below the products' rounding), so the order among equals and the ``"distance"`` weighting (1/d, or only the neighbours at
distance 0) both depend on every distance being the same float on both paths; the amounts are not whole
numbers, so sums of their squares round, and differently in a different order.
"""

import numpy as np
import pytest

from xlrec import NeighborModel
from xlrec.core import _accel

pytestmark = pytest.mark.skipif(not _accel.available(), reason="numba is not installed")


def _ratings(n, m, filled, seed):
    rng = np.random.default_rng(seed)
    x = np.log1p(rng.choice([1.25, 2.1, 3.99, 9.95, 19.9, 0.85], (n, m)))  # a few amounts: ties everywhere
    spread = rng.random(n) < 0.5  # and half the rows without ties, whose distances the products round
    x[spread] = np.log1p(rng.lognormal(2, 1, (spread.sum(), m)))
    x[rng.random((n, m)) >= filled] = np.nan
    t = n // 20
    x[:t] = x[2 * t: 3 * t]  # duplicated rows: neighbours at distance 0
    x[t: 2 * t] = x[3 * t: 4 * t] * (1 + 1e-9 * rng.random((t, m)))  # near-duplicates: tiny distances, where
    # the matrix products' rounding is largest against the distance itself
    return x


def _paths():
    """Yields True (compiled kernels, even on a small matrix), then False (pure numpy); restores both after."""
    previous, min_cells = _accel.set_enabled(True), _accel.MIN_CELLS
    _accel.MIN_CELLS = 0
    try:
        for flag in (True, False):
            _accel.set_enabled(flag)
            yield flag
    finally:
        _accel.set_enabled(previous)
        _accel.MIN_CELLS = min_cells


def _both(x, explain=False, **params):
    return [NeighborModel(**params).fit(x).fill(explain=explain) for _ in _paths()]


@pytest.mark.parametrize("filled", [0.05, 0.3], ids=["sparse", "dense"])
@pytest.mark.parametrize("weighting", ["distance", "rank", "uniform"])
@pytest.mark.parametrize("metric", ["manhattan", "euclidean", "supremum", "nan_euclidean"])
def test_compiled_and_numpy_fills_agree_on_ties(metric, weighting, filled):
    x = _ratings(200, 300, filled, seed=3)
    compiled, pure = _both(x, k=4, metric=metric, weighting=weighting)
    assert np.array_equal(np.isnan(compiled.values), np.isnan(pure.values))
    assert compiled.predicted.sum() > 10_000  # the test fills enough cells to mean something
    np.testing.assert_allclose(pure.values, compiled.values, rtol=1e-12, atol=0)  # the promise
    # and, by construction, the very same floats: the same distances, neighbours and sums in the same order
    np.testing.assert_array_equal(pure.values, compiled.values)


@pytest.mark.parametrize("by", ["salesperson", "client"])
def test_the_same_neighbours_vote_on_both_paths(by):
    x = _ratings(150, 200, 0.08, seed=5)
    compiled, pure = _both(x, explain=True, k=5, metric="nan_euclidean", weighting="distance", by=by)
    np.testing.assert_array_equal(compiled.detail.index, pure.detail.index)
    np.testing.assert_allclose(pure.detail.distance, compiled.detail.distance, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(pure.values, compiled.values)


@pytest.mark.parametrize("by", ["salesperson", "client"])
@pytest.mark.parametrize("metric", ["manhattan", "nan_euclidean"])
def test_every_k_and_weighting_at_once_on_both_paths_equals_one_model_each(by, metric):
    # the tuner's shared vote (compiled kernel and numpy twin) against a model of each k and weighting. With
    # the matrix-product metrics a row whose near-ties are recomputed exactly depends on how far the walk
    # looks (k), so a near-duplicate's 1/d can differ in the 8th digit: there the model check is to 1e-6
    x = _ratings(60, 40, 0.35, seed=5)
    rng = np.random.default_rng(1)
    known = ~np.isnan(x)
    rows, cols = np.nonzero(known & (rng.random(x.shape) < 0.3))
    train = np.where(np.isin(np.arange(x.size), rows * x.shape[1] + cols).reshape(x.shape), np.nan, x)
    ks, weightings = [7, 1, 3, 12, 3], ["distance", "uniform", "rank"]
    many = []
    for _ in _paths():
        model = NeighborModel(k=max(ks), metric=metric, by=by).fit(train)
        many.append(model._predict_cells_many(rows, cols, ks, weightings))
        for ki, k in enumerate(ks):
            for wi, weighting in enumerate(weightings):
                one = NeighborModel(k=k, metric=metric, weighting=weighting, by=by).fit(train)
                np.testing.assert_allclose(many[-1][ki, wi], one.predict_cells(rows, cols),
                                           rtol=1e-12 if metric == "manhattan" else 1e-6)
    np.testing.assert_allclose(many[0], many[1], rtol=1e-12)


@pytest.mark.parametrize("weighting", ["distance", "rank", "uniform"])
@pytest.mark.parametrize("metric", ["manhattan", "nan_euclidean"])
def test_neighbours_with_fewer_bookings_than_words_on_both_paths(metric, weighting):
    # 700 clients: 11 words of 64 in the compiled walk, the last one part-filled. A third of the salespeople
    # book 1 to 9 clients, fewer than the words, so the walk reads their bookings rather than their words;
    # the fill (the walk writing the matrix) and the explained fill (the walk over a list of cells) give the
    # same floats as the pure path
    x = _ratings(150, 700, 0.3, seed=7)
    rng = np.random.default_rng(2)
    for i in range(0, 150, 3):
        few = rng.choice(700, rng.integers(1, 10), replace=False)
        keep = x[i, few]
        x[i] = np.nan
        x[i, few] = np.where(np.isnan(keep), 1.5, keep)
    fills = [NeighborModel(k=4, metric=metric, weighting=weighting).fit(x).fill(explain=explain)
             for _ in _paths() for explain in (False, True)]
    assert fills[0].predicted.sum() > 50_000
    for other in fills[1:]:
        np.testing.assert_array_equal(other.values, fills[0].values)


@pytest.mark.parametrize("n, k", [(7, 7), (40, 3), (300, 101), (2000, 102), (5000, 1), (3000, 200)])
def test_each_rows_k_smallest_by_value_then_position_on_both_paths(n, k):
    # the prefix of nearest neighbours the walk takes: against a plain reference (a stable sort of the row), on
    # rows of few distinct values (ties everywhere), with inf (no neighbour) and NaN (sorted last, as numpy)
    from xlrec.core.models.neighbors import _k_smallest

    rng = np.random.default_rng(n + k)
    rows = np.round(rng.random((30, n)) * rng.choice([3, 50, 10_000], (30, 1)))
    rows[rng.random(rows.shape) < 0.3] = np.inf
    rows[:3, : n // 2] = np.inf  # rows with fewer finite entries than k, or none at all
    rows[3] = np.inf
    rows[4, ::3] = np.nan
    want = np.argsort(rows, axis=1, kind="stable")[:, :k]
    for compiled in (True, False):
        pos, vals = _k_smallest(rows, k, compiled)
        np.testing.assert_array_equal(pos, want)
        np.testing.assert_array_equal(vals, np.take_along_axis(rows, want, axis=1))


def test_the_products_operands_are_the_same_floats_on_both_paths():
    # the centred values and their squares (each column less the mean of its known values, summed row by
    # row as numpy's column sums add), down to the sign of zero: a column with no bookings, one of zeros
    # and minus zeros, one whose first row is blank
    from xlrec.core.distances import _centred, _prepare

    x = _ratings(130, 90, 0.3, seed=11) * 1e3
    x[:, 3] = np.nan
    x[:, 4] = np.where(np.arange(130) % 2, -0.0, 0.0)
    x[0, 5] = np.nan
    known = ~np.isnan(x)
    got = []
    for _ in _paths():
        state = _prepare(x, known, "euclidean")
        got.append(_centred(state))
    for a, b in zip(*got):
        np.testing.assert_array_equal(a, b)
        assert np.array_equal(np.signbit(a), np.signbit(b))
