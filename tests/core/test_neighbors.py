import functools
import math

import numpy as np
import pytest
import reference

from xlrec import (
    METRICS,
    WEIGHTINGS,
    InputError,
    NeighborModel,
    SalesMatrix,
    fill,
    pairwise_distances,
    predict,
)

# -- the article ------------------------------------------------------------------------------------------


def test_article_distances(article):
    d, shared = pairwise_distances(article.values, "manhattan")
    assert d[0, 1] == 200_000  # Alyssa - Brandon
    assert d[0, 2] == 0  # Alyssa - Mike
    assert shared[0, 1] == 2


def test_article_nearest_with_a_staples_value_are_mike_then_brandon(article):
    p = predict(article, "Alyssa", "Staples", k=2)
    assert [n.name for n in p.neighbors] == ["Mike", "Brandon"]
    assert [n.distance for n in p.neighbors] == [0, 200_000]


def test_article_uniform_prediction_is_400000(article):
    assert predict(article, "Alyssa", "Staples", k=2, weighting="uniform").value == 400_000


def test_article_rank_prediction_is_433333_33(article):
    p = predict(article, "Alyssa", "Staples", k=2, weighting="rank")
    assert p.value == pytest.approx((500_000 + 0.5 * 300_000) / 1.5, rel=1e-15)
    assert round(p.value, 2) == 433_333.33
    assert [n.weight for n in p.neighbors] == [1.0, 0.5]


def test_fill_agrees_with_predict_on_the_article(article):
    r = fill(article, k=2)
    assert r.values[0, 3] == pytest.approx(433_333.333333, rel=1e-12)
    np.testing.assert_array_equal(r.values[article.known], article.values[article.known])


# -- every metric and weighting, by hand --------------------------------------------------------------------

# distances from Alyssa (500k, 400k, 400k, -) to Jessica (200k, 100k, 300k), Tom (-, 700k, 100k),
# Priya (300k, -, 700k) and Brandon (500k, -, 200k), worked out by hand over the shared clients
HAND = {
    "manhattan": {"Jessica": 700_000, "Tom": 600_000, "Priya": 500_000, "Brandon": 200_000},
    "euclidean": {"Jessica": math.sqrt(19e10), "Tom": math.sqrt(18e10), "Priya": math.sqrt(13e10),
                  "Brandon": 200_000},
    "supremum": {"Jessica": 300_000, "Tom": 300_000, "Priya": 300_000, "Brandon": 200_000},
    "nan_euclidean": {"Jessica": math.sqrt(4 / 3 * 19e10), "Tom": math.sqrt(4 / 2 * 18e10),
                      "Priya": math.sqrt(4 / 2 * 13e10), "Brandon": math.sqrt(4 / 2 * 4e10)},
}


@pytest.mark.parametrize("metric", list(METRICS))
def test_distances_by_hand(article, metric):
    d, _ = pairwise_distances(article.values, metric)
    for name, expected in HAND[metric].items():
        assert d[0, article.salesperson_index(name)] == pytest.approx(expected, rel=1e-12)
    assert d[0, 2] == 0


@pytest.mark.parametrize("metric, third", [("manhattan", "Tom"), ("euclidean", "Tom"),
                                           ("supremum", "Jessica"), ("nan_euclidean", "Jessica")])
def test_third_neighbour_per_metric(article, metric, third):
    # supremum: Jessica and Tom are both at 300,000 from Alyssa; the tie goes to Jessica, higher in the matrix
    p = predict(article, "Alyssa", "Staples", k=3, metric=metric)
    assert [n.name for n in p.neighbors] == ["Mike", "Brandon", third]


@pytest.mark.parametrize("weighting, expected", [
    ("uniform", (500_000 + 300_000 + 400_000) / 3),
    ("rank", (500_000 + 300_000 / 2 + 400_000 / 3) / (1 + 1 / 2 + 1 / 3)),
    ("distance", 500_000),  # Mike is at distance 0: only he counts
])
def test_weightings_by_hand_supremum_k3(article, weighting, expected):
    p = predict(article, "Alyssa", "Staples", k=3, metric="supremum", weighting=weighting)
    assert p.value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("weighting, expected", [
    ("uniform", 450_000),
    ("rank", (500_000 + 400_000 / 2) / 1.5),
    ("distance", (500_000 / 200_000 + 400_000 / 500_000) / (1 / 200_000 + 1 / 500_000)),
])
def test_weightings_by_hand_priya(article, weighting, expected):
    # Priya/Staples: Mike (shares Google only, distance 200k, 500k) and Jessica (distance 500k, 400k)
    p = predict(article, "Priya", "Staples", k=2, weighting=weighting)
    assert [n.name for n in p.neighbors] == ["Mike", "Jessica"]
    assert p.value == pytest.approx(expected, rel=1e-12)
    assert fill(article, k=2, weighting=weighting).values[5, 3] == pytest.approx(expected, rel=1e-12)


def test_by_client(article):
    # Staples is nearest to ExxonMobil (300k over Brandon, Jessica, Tom), then Google (400k over Brandon,
    # Mike, Jessica); Alyssa booked 400k and 500k with them.
    p = predict(article, "Alyssa", "Staples", k=2, by="client")
    assert [(n.name, n.distance) for n in p.neighbors] == [("ExxonMobil", 300_000), ("Google", 400_000)]
    assert p.value == pytest.approx((400_000 + 500_000 / 2) / 1.5, rel=1e-12)
    r = fill(article, k=2, by="client", weighting="uniform")
    assert r.values[0, 3] == 450_000


def test_fewer_than_k_neighbours_are_used_and_said(article):
    p = predict(article, "Alyssa", "Staples", k=10)
    assert len(p.neighbors) == 4
    assert "only 4 of the k=10" in p.remark


def test_min_shared_raises_the_bar(article):
    # Priya shares only Google with Mike; with min_shared=2 Mike is no longer her neighbour, and Brandon
    # (Google and ExxonMobil, 700k) comes after Jessica (500k)
    p = predict(article, "Priya", "Staples", k=2, min_shared=2)
    assert [n.name for n in p.neighbors] == ["Jessica", "Brandon"]


def test_no_neighbour_leaves_the_cell_blank_and_says_why():
    nan = math.nan
    m = SalesMatrix(["a", "b", "c"], ["X", "Y", "W"], [[1, nan, nan], [nan, 2, nan], [nan, 3, nan]])
    r = fill(m, k=2)
    assert r.unfilled[0, 1] and math.isnan(r.values[0, 1])
    assert r.n_unfilled == 6 and r.n_filled == 0
    assert "none of the 2 salesperson(s) with a value for 'Y' shares a client with 'a'" in r.summary()
    p = predict(m, "a", "Y")
    assert p.value is None and p.reason == "none of the 2 salesperson(s) with a value for 'Y' shares a client with 'a'"
    assert predict(m, "b", "W").reason == "no other salesperson has a value for client 'W'"


def test_fallback_is_marked():
    nan = math.nan
    m = SalesMatrix(["a", "b", "c"], ["X", "Y"], [[1, nan], [nan, 2], [nan, 4]])
    r = fill(m, k=2, fallback="client_mean")
    assert r.values[0, 1] == 3 and r.fallback[0, 1] and not r.predicted[0, 1]
    p = predict(m, "a", "Y", fallback="client_mean")
    assert p.value == 3 and p.fallback == "client mean"


def test_known_cells_never_change_and_blank_differs_from_zero():
    nan = math.nan
    m = SalesMatrix(["a", "b", "c"], ["X", "Y"], [[0, nan], [0, 10], [5, 0]])
    r = fill(m, k=1)
    assert r.values[0, 0] == 0 and r.values[2, 1] == 0
    assert r.values[0, 1] == 10  # b is at distance 0 from a (both booked 0 with X)


@pytest.mark.parametrize("params, message", [
    ({"metric": "cosine"}, "unknown metric 'cosine'; choose one of: manhattan, euclidean, supremum, nan_euclidean"),
    ({"weighting": "x"}, "unknown weighting 'x'; choose one of: rank, uniform, distance"),
    ({"by": "row"}, "unknown by 'row'"),
    ({"k": 0}, "k must be a whole number of at least 1, got 0"),
    ({"k": 1.5}, "k must be a whole number"),
    ({"min_shared": 0}, "min_shared must be a whole number of at least 1"),
    ({"fallback": "zero"}, "unknown fallback 'zero'"),
])
def test_bad_parameters(article, params, message):
    with pytest.raises(InputError, match=message):
        NeighborModel(**params).fit(article)


# -- against independent references -------------------------------------------------------------------------


def test_nan_euclidean_uniform_matches_knnimputer(kernels):
    KNNImputer = pytest.importorskip("sklearn.impute").KNNImputer
    for seed in range(6):
        rng = np.random.default_rng(seed)
        n, m = rng.integers(20, 120), rng.integers(5, 40)
        x = rng.lognormal(12, 1, (n, m))
        x[rng.random((n, m)) < rng.uniform(0.2, 0.7)] = np.nan
        x[:, 0] = rng.lognormal(12, 1, n)  # every pair of rows shares a client: KNNImputer's mean never kicks in
        x[0] = rng.lognormal(12, 1, m)  # every column keeps a value
        k = int(rng.integers(1, 7))
        ours = fill(x, k=k, metric="nan_euclidean", weighting="uniform").values
        theirs = KNNImputer(n_neighbors=k).fit_transform(x)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def _random_matrix(rng, n, m, blank, levels):
    x = rng.integers(0, levels, (n, m)).astype(float) * 1000  # few levels: many ties
    x[rng.random((n, m)) < blank] = np.nan
    return x


def _as_array(rows):
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)


@pytest.mark.parametrize("metric", list(METRICS))
@pytest.mark.parametrize("weighting", list(WEIGHTINGS))
def test_fill_matches_reference_small(metric, weighting, kernels):
    for seed in range(8):
        rng = np.random.default_rng(seed)
        x = _random_matrix(rng, int(rng.integers(2, 25)), int(rng.integers(1, 12)), rng.uniform(0.1, 0.8),
                           levels=4 if metric in ("manhattan", "supremum") else 1000)
        if np.isnan(x).all():
            continue
        for by in ("salesperson", "client"):
            k, ms = int(rng.integers(1, 5)), int(rng.integers(1, 3))
            ours = fill(x, k=k, metric=metric, weighting=weighting, by=by, min_shared=ms).values
            expected = _as_array(reference.fill(x.tolist(), k, metric, weighting, by, ms))
            np.testing.assert_allclose(ours, expected, rtol=1e-9, err_msg=f"seed {seed} by {by}")


def _tie_matrix(blank):
    return _random_matrix(np.random.default_rng(int(blank * 100)), 150, 20, blank, levels=4)


@functools.lru_cache(maxsize=None)
def _tie_reference(blank, metric, weighting, k):
    return _as_array(reference.fill(_tie_matrix(blank).tolist(), k, metric, weighting))


@pytest.mark.parametrize("blank", [0.3, 0.8, 0.97])
@pytest.mark.parametrize("metric", list(METRICS))
def test_fill_matches_reference_block_paths_with_ties(blank, metric, kernels):
    # 150 rows: the prefix scan and the client-by-client path both run; 4 levels make many exact ties,
    # which the matrix-product metrics must break exactly as the reference does (by row order)
    x = _tie_matrix(blank)
    for weighting, k in (("rank", 3), ("distance", 2), ("uniform", 5)):
        ours = fill(x, k=k, metric=metric, weighting=weighting).values
        np.testing.assert_allclose(ours, _tie_reference(blank, metric, weighting, k), rtol=1e-9)


def test_explained_fill_matches_predict():
    rng = np.random.default_rng(3)
    x = _random_matrix(rng, 120, 15, 0.6, levels=5)
    for by in ("salesperson", "client"):
        model = NeighborModel(k=3, by=by).fit(x)
        r = model.fill(explain=True)
        for i, j in list(zip(*np.nonzero(r.predicted)))[::7]:
            a = r.explain(i, j)
            b = model.predict(r.matrix.salespeople[i], r.matrix.clients[j])
            assert [n.name for n in a.neighbors] == [n.name for n in b.neighbors]
            assert a.value == pytest.approx(b.value, rel=1e-12)


# -- invariants ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", list(METRICS))
def test_scaling_values_scales_predictions(article, metric):
    a = fill(article, k=2, metric=metric).values
    b = fill(SalesMatrix(article.salespeople, article.clients, article.values * 3), k=2, metric=metric).values
    np.testing.assert_allclose(b, 3 * a, rtol=1e-12)


def test_permuting_rows_permutes_predictions():
    rng = np.random.default_rng(5)
    x = rng.lognormal(10, 1, (40, 10))
    x[rng.random(x.shape) < 0.5] = np.nan
    perm = rng.permutation(40)
    a = fill(x, k=3).values
    b = fill(x[perm], k=3).values
    np.testing.assert_allclose(b, a[perm], rtol=1e-12)
