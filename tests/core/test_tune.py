"""The search (xlrec.core.tune): shared-distance predictions equal separate fits, the nested score equals a
plain loop written here, and the search's choice equals an exhaustive search's."""

import math

import numpy as np
import pytest

from xlrec.core.distances import METRICS
from xlrec.core.evaluate import cross_validate, kfold_cells
from xlrec.core.matrix import SalesMatrix
from xlrec.core.models import make_model
from xlrec.core.models.neighbors import BY, WEIGHTINGS
from xlrec.core.tune import (
    AUTO_MIN_BOOKINGS,
    candidates,
    choose_model,
    search,
    search_space,
    tune,
)
from xlrec.exceptions import InputError


def synthetic(seed=7, shape=(12, 15), blank=0.55, ties=False):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, shape).astype(float) * 1000 if ties else np.round(rng.lognormal(8, 1, shape), 2)
    x[rng.random(shape) < blank] = np.nan
    return SalesMatrix([f"S{i}" for i in range(shape[0])], [f"C{j}" for j in range(shape[1])], x)


# -- many k and weightings from one neighbour search ----------------------------------------------------------

@pytest.mark.parametrize("metric", list(METRICS))
@pytest.mark.parametrize("by", BY)
@pytest.mark.parametrize("ties", [False, True])
def test_many_k_and_weightings_equal_separate_fits(kernels, metric, by, ties):
    matrix = synthetic(seed=3, shape=(30, 24), blank=0.5, ties=ties)
    held = kfold_cells(matrix, 4, seed=1).test[0]
    train = matrix.with_blanks(held)
    rows, cols = np.nonzero(held)
    ks = (1, 2, 3, 5, 8, 9, 13, 40)  # past 8 neighbours numpy sums in pairs; 40 is more than there are
    weightings = tuple(WEIGHTINGS)
    many = make_model("neighbors", metric=metric, by=by, k=7).fit(train)._predict_cells_many(rows, cols, ks,
                                                                                             weightings)
    assert many.shape == (len(ks), len(weightings), rows.size)
    # the compiled vote is a running sum, as the shared vote is: the same floats, for the exact-sum metrics;
    # matrix-product metrics recompute near-ties exactly only where a search looks, hence a few ulps
    exact = kernels == "compiled" and metric in ("manhattan", "supremum")
    for ki, k in enumerate(ks):
        for wi, weighting in enumerate(weightings):
            alone = make_model("neighbors", k=k, metric=metric, weighting=weighting, by=by).fit(train)
            one = alone.predict_cells(rows, cols)
            np.testing.assert_array_equal(np.isnan(many[ki, wi]), np.isnan(one))
            if exact:
                np.testing.assert_array_equal(many[ki, wi], one)
            else:
                np.testing.assert_allclose(many[ki, wi], one, rtol=1e-13)
    assert not np.isnan(many).all()
    # the cells asked for in another order, and some twice: each gets its own votes, where it was asked
    shuffle = np.random.default_rng(0).permutation(rows.size)
    again = np.concatenate([shuffle, shuffle[:5]])
    other = make_model("neighbors", metric=metric, by=by, k=7).fit(train)._predict_cells_many(
        rows[again], cols[again], ks, weightings)
    np.testing.assert_array_equal(other, many[:, :, again])
    other = make_model("neighbors", metric=metric, by=by, k=7).fit(train)._predict_cells_many(
        rows[shuffle], cols[shuffle], ks, weightings)
    np.testing.assert_array_equal(other, many[:, :, shuffle])


# -- the nested score against a plain loop --------------------------------------------------------------------

SMALL = {"neighbors": {"k": [1, 2, 3, 6], "metric": ["manhattan", "euclidean"], "weighting": ["rank", "distance"]},
         "baseline": {"reg_client": [0, 10], "reg_salesperson": [15]}, "client_mean": {}}


def plain_rmse(matrix, model, params, folds, seed):
    """Cross-validated RMSE of one setting, written out with the public functions."""
    errors = []
    dealt = kfold_cells(matrix, folds, seed)
    for f in range(folds):
        test = dealt.test[f]
        train = matrix.with_blanks(test)
        rows, cols = np.nonzero(test)
        pred = make_model(model, **params).fit(train).predict_cells(rows, cols)
        mean = float(np.nanmean(train.values))
        errors += [(mean if math.isnan(p) else p) - matrix.values[i, j] for p, i, j in zip(pred, rows, cols)]
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def plain_grid():
    """The SMALL space spelt out by hand, in the order the search lists it (declaration order, last fastest)."""
    grid = [("neighbors", {"k": k, "metric": m, "weighting": w, "by": b, "min_shared": 1, "fallback": None})
            for k in SMALL["neighbors"]["k"] for m in SMALL["neighbors"]["metric"]
            for w in SMALL["neighbors"]["weighting"] for b in BY]
    grid += [("baseline", {"reg_client": float(r), "reg_salesperson": 15.0, "iterations": 10})
             for r in SMALL["baseline"]["reg_client"]]
    return grid + [("client_mean", {})]


@pytest.mark.parametrize("metric", list(METRICS))
@pytest.mark.parametrize("by", BY)
@pytest.mark.parametrize("fallback", [None, "baseline"])
def test_a_units_scores_equal_separate_fits_scored_here(kernels, monkeypatch, metric, by, fallback):
    """The scores of a neighbour unit (compiled: summed by the walk itself, never predicting) against each
    (k, weighting) fitted alone, its blanks completed by the fallback, then the training mean, and scored
    in a plain loop. Rows enough that the walk's prefix is shorter than a row (cells short of k donors go
    client by client), a few clients booked by one or two people (client by client too), one booked by
    nobody in training (no donor: the fallback), and ties. Compiled, by either road: the walk along each
    row's nearest, or each cell's donors picked from its client's."""
    import xlrec.core.models.neighbors as nb
    from xlrec.core.tune import _units


    rng = np.random.default_rng(5)
    x = rng.integers(0, 6, (600, 40)).astype(float) * 500
    x[rng.random(x.shape) < 0.6] = np.nan
    x[:150] += 1e6  # far from the others, and most of client 3's bookers: the others' walks end short of
    x[:150, 3] = 1e6 + 500.0 * np.arange(150) % 3000  # its k donors
    x[150:, 3] = np.where(np.arange(450) % 20 == 0, 1500.0, np.nan)
    x[:, :3] = np.nan
    x[[4, 90], 0], x[7, 1], x[[1, 2, 140, 599], 2] = 1000.0, 2500.0, 0.0
    x[[1, 2, 140], 10] = 500.0
    x[599, 3:] = np.nan
    x[599, [10, 11]] = 3000.0
    matrix = SalesMatrix([f"S{i}" for i in range(600)], [f"C{j}" for j in range(40)], x)
    held = kfold_cells(matrix, 3, seed=2).test[0]
    held[:, 1] = ~np.isnan(x[:, 1])  # client 1's only booking held out: nobody left to vote for it
    held[599] = ~np.isnan(x[599])  # salesperson 599's neighbours are the three who share client 2 with them
    held[599, 2] = False           # (their walk runs out of neighbours short of k donors)
    train = matrix.with_blanks(held)
    rows, cols = np.nonzero(held)
    truth = matrix.values[rows, cols]
    mean = float(np.nanmean(train.values))
    space = {"neighbors": {"k": [1, 2, 5, 12], "metric": [metric], "by": [by], "fallback": [fallback]}}
    grid = candidates(["neighbors"], space)
    (unit,) = _units(grid)
    roads = {}
    for road, cost in ([("walk", 0.0), ("pick", np.inf)] if kernels == "compiled" else [("numpy", 0.0)]):
        monkeypatch.setattr(nb, "_WALK_COST", cost)
        roads[road] = {pos: (s2, s1, own) for pos, s2, s1, own in unit.scores(train, rows, cols, truth, mean)}
        assert sorted(roads[road]) == list(range(len(grid)))
    short = 0
    for pos, (_, params) in enumerate(grid):
        alone = make_model("neighbors", **params).fit(train)
        pred = alone.predict_cells(rows, cols)
        own = ~np.isnan(pred)
        short += int((~own).sum())
        if fallback and not own.all():
            pred[~own] = make_model(fallback).fit(train).predict_cells(rows[~own], cols[~own])
        pred[np.isnan(pred)] = mean
        sse = sum((p - t) ** 2 for p, t in zip(pred.tolist(), truth.tolist()))
        sae = sum(abs(p - t) for p, t in zip(pred.tolist(), truth.tolist()))
        for got in roads.values():
            assert got[pos][0] == pytest.approx(sse, rel=1e-12)
            assert got[pos][1] == pytest.approx(sae, rel=1e-12)
            assert got[pos][2] == own.sum()
    assert short  # the cells of client 1 had no donor


@pytest.mark.parametrize("metric", ["manhattan", "euclidean"])
@pytest.mark.parametrize("by", BY)
def test_the_tuners_walk_sorts_on_as_far_as_it_goes(monkeypatch, metric, by):
    """The compiled walk sorts a row's neighbours only as far as it expects to go, then on when it goes
    further (within its first threshold, then past it): a first guess far too short gives the same sums,
    to the last bit, as sorting every neighbour first."""
    import xlrec.core.models.neighbors as nb
    from xlrec.core import _accel

    if not _accel.available():
        pytest.skip("no compiled kernels")
    monkeypatch.setattr(_accel, "MIN_CELLS", 0)
    monkeypatch.setattr(nb, "_WALK_COST", 0.0)  # the walk, never each cell's donors
    matrix = synthetic(seed=6, shape=(400, 60), blank=0.7, ties=True)
    held = kfold_cells(matrix, 4, seed=0).test[0]
    train = matrix.with_blanks(held)
    rows, cols = np.nonzero(held)
    truth = matrix.values[rows, cols]
    got = {}
    for reach in (0.0, 1.0, 1e9):  # k + 2 neighbours first; the estimate; every neighbour
        monkeypatch.setattr(nb, "_REACH", reach)
        model = make_model("neighbors", metric=metric, by=by, k=30).fit(train)
        got[reach] = model._score_many(rows, cols, truth, (1, 4, 30), tuple(WEIGHTINGS))
    for reach in (0.0, 1.0):
        for a, b in zip(got[reach], got[1e9]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("blank", [0.5, 0.8, 0.95])
def test_metrics_computed_together_equal_each_alone(monkeypatch, blank):
    """A fold's neighbour searches share their data (``NeighborModel._fit(..., share)``): the distances one
    metric's call computes for the others, kept for their calls, equal each metric's own, to the last bit
    column by column; the matrix products' (dense enough) within their rounding bound."""
    from xlrec.core import _accel
    from xlrec.core.distances import _block_distances, _prepare

    if not _accel.available():
        pytest.skip("no compiled kernels")
    monkeypatch.setattr(_accel, "MIN_CELLS", 0)
    x = synthetic(seed=9, shape=(70, 50), blank=blank, ties=True).values
    known = ~np.isnan(x)
    every = slice(0, x.shape[0])
    shared = _prepare(x, known, "manhattan")
    shared["share"] = frozenset(METRICS)
    for metric in ("supremum", "nan_euclidean", "manhattan", "euclidean"):
        got = _block_distances(shared, metric, every)
        alone = _block_distances(_prepare(x, known, metric), metric, every)
        np.testing.assert_array_equal(got[1], alone[1])
        if alone[2] is None and got[2] is None:
            np.testing.assert_array_equal(got[0], alone[0])
        else:  # within the products' rounding bound on the squared distances
            tol = alone[2] if alone[2] is not None else got[2]
            np.testing.assert_array_equal(np.isinf(got[0]), np.isinf(alone[0]))
            fin = np.isfinite(alone[0])
            gap = np.abs(np.where(fin, got[0], 0.0) ** 2 - np.where(fin, alone[0], 0.0) ** 2)
            assert (gap <= tol[:, None]).all()
    assert not any(key[0] == "stash" for key in shared if isinstance(key, tuple))  # each taken back


def test_candidates_are_the_grid_in_order():
    assert candidates(list(SMALL), SMALL) == plain_grid()


def test_nested_score_equals_a_plain_loop():
    matrix = synthetic(seed=11, shape=(14, 16), blank=0.5)
    folds, seed = 3, 5
    got = tune(matrix, models=list(SMALL), spaces=SMALL, folds=folds, seed=seed)
    grid = plain_grid()
    errors, winners = [], []
    outer = kfold_cells(matrix, folds, seed)
    for f in range(folds):
        test = outer.test[f]
        train = matrix.with_blanks(test)
        scores = [plain_rmse(train, name, params, folds, seed) for name, params in grid]
        best = min(range(len(grid)), key=lambda i: (scores[i], i))
        name, params = grid[best]
        winners.append((name, params))
        rows, cols = np.nonzero(test)
        pred = make_model(name, **params).fit(train).predict_cells(rows, cols)
        mean = float(np.nanmean(train.values))
        errors += [(mean if math.isnan(p) else p) - matrix.values[i, j] for p, i, j in zip(pred, rows, cols)]
    assert [(o["model"], o["params"]) for o in got.outer] == winners
    assert got.nested_rmse == pytest.approx(math.sqrt(sum(e * e for e in errors) / len(errors)), rel=1e-12)
    assert got.nested_mae == pytest.approx(sum(abs(e) for e in errors) / len(errors), rel=1e-12)
    # the search over every cell: its scores, and so its winner
    scores = [plain_rmse(matrix, name, params, folds, seed) for name, params in grid]
    by_setting = {(r["model"], tuple(sorted(r["params"].items(), key=str))): r["mean_test_score"]
                  for r in got.search.results}
    assert [by_setting[(n, tuple(sorted(p.items(), key=str)))] for n, p in grid] == pytest.approx(scores, rel=1e-12)
    best = min(range(len(grid)), key=lambda i: (scores[i], i))
    assert (got.best["model"], got.best["params"]) == grid[best]


def test_the_search_chooses_what_an_exhaustive_search_chooses(kernels):
    """Every setting cross-validated on its own (cross_validate, one model at a time) against the search that
    shares one neighbour search among k and weightings."""
    matrix = synthetic(seed=2, shape=(16, 12), blank=0.45)
    space = {"neighbors": {"k": [1, 2, 4, 7, 12]}, "baseline": {}, "mean": {}}
    grid = candidates(list(space), space)
    assert len(grid) == 5 * 4 * 3 * 2 + 16 + 1  # neighbours; the baseline over its two regularizations; mean
    res = search(matrix, grid, folds=4, seed=9)
    assert res.strategy == "grid" and len(res.results) == len(grid)
    alone = [cross_validate(matrix, make_model(n, **p), folds=4, seed=9, baselines=()).scores[0].rmse
             for n, p in grid]
    best = min(range(len(grid)), key=lambda i: (alone[i], i))
    assert (res.best["model"], res.best["params"]) == grid[best]
    got = {r["position"]: r["mean_test_score"] for r in res.results}
    assert [got[i] for i in range(len(grid))] == pytest.approx(alone, rel=1e-12)
    assert [r["rank_test_score"] for r in res.results] == list(range(1, len(grid) + 1))
    assert all(a["mean_test_score"] <= b["mean_test_score"] for a, b in zip(res.results, res.results[1:]))


# -- mf's warm-started path of l2 values ----------------------------------------------------------------------

MF = {"mf": {"rank": [2, 4], "l2": [0.3, 3.0, 1.0, 0.1], "l1": [0.0, 0.05]}}


def test_mf_scores_are_a_warm_path_from_the_largest_l2_written_out_here():
    matrix = synthetic(seed=8, shape=(25, 20), blank=0.5)
    grid = candidates(["mf"], MF)
    res = search(matrix, grid, folds=3, seed=2)
    got = {r["position"]: r["mean_test_score"] for r in res.results}
    dealt = kfold_cells(matrix, 3, 2)
    sse = dict.fromkeys(range(len(grid)), 0.0)
    for f in range(3):
        train = matrix.with_blanks(dealt.test[f])
        rows, cols = np.nonzero(dealt.test[f])
        for rank in (2, 4):
            for l1 in (0.0, 0.05):
                previous = None
                for l2 in (3.0, 1.0, 0.3, 0.1):
                    pos = next(i for i, (_, p) in enumerate(grid) if (p["rank"], p["l2"], p["l1"]) == (rank, l2, l1))
                    model = make_model("mf", **grid[pos][1])._fit(train, start=previous)
                    e = model.predict_cells(rows, cols) - matrix.values[rows, cols]
                    sse[pos] += float(e @ e)
                    previous = model
    n = int(dealt.test.sum())
    assert [got[i] for i in range(len(grid))] == pytest.approx([math.sqrt(sse[i] / n) for i in range(len(grid))],
                                                               rel=1e-12)


def planted(seed=9, shape=(40, 30), rank=3, blank=0.5, noise=0.5):
    """Bookings with a low-rank structure and noise (mf's case; on pure noise its fits are many local minima)."""
    rng = np.random.default_rng(seed)
    x = 5000 + 1000 * (rng.normal(size=(shape[0], rank)) @ rng.normal(size=(rank, shape[1])) +
                       noise * rng.normal(size=shape))
    x[rng.random(shape) < blank] = np.nan
    return SalesMatrix([f"S{i}" for i in range(shape[0])], [f"C{j}" for j in range(shape[1])], x)


def test_the_warm_path_scores_within_a_small_tolerance_of_cold_fits():
    matrix = planted()
    grid = candidates(["mf"], MF)
    warm = search(matrix, grid, folds=4, seed=1)
    cold = search(matrix, grid, folds=4, seed=1, warm_start=False)
    alone = [cross_validate(matrix, make_model(n, **p), folds=4, seed=1, baselines=()).scores[0].rmse for n, p in grid]
    by_cold = {r["position"]: r["mean_test_score"] for r in cold.results}
    assert [by_cold[i] for i in range(len(grid))] == pytest.approx(alone, rel=1e-12)  # cold: every fit alone
    # warm: no worse than cold fits within 2 % (at small l2 the path reaches better minima than a cold start
    # within its 30 sweeps, so it may be better by more)
    by_warm = {r["position"]: r["mean_test_score"] for r in warm.results}
    assert all(by_warm[i] <= alone[i] * 1.02 for i in range(len(grid))), (by_warm, alone)
    close = sum(by_warm[i] == pytest.approx(alone[i], rel=0.02) for i in range(len(grid)))
    assert close >= len(grid) // 2  # most settings land on the cold fit's minimum


# -- successive halving -----------------------------------------------------------------------------------------

def test_a_budget_that_runs_out_still_scores_the_defaults_on_every_fold():
    matrix = synthetic(seed=4, shape=(20, 20))
    # the baselines' defaults come first: the budget spent on them, the client mean is the only one scored
    res = search(matrix, candidates(["neighbors", "client_mean"]), folds=3, budget=1e-9)
    assert res.strategy == "halving" and res.rounds == [(1, 1), (1, 3)]
    assert [(r["model"], r["folds_scored"]) for r in res.results] == [("client_mean", 3)]
    res = search(matrix, candidates(["neighbors"]), folds=3, budget=1e-9)
    assert res.strategy == "halving"
    # one unit always runs: the one holding the neighbour model's defaults, with its 150 k x weighting
    # settings; the budget spent on its first fold, it is the best reached and is scored on every fold
    assert len(res.results) == 150 and res.rounds == [(150, 1), (150, 3)]
    assert all(r["folds_scored"] == 3 and r["split2_test_score"] is not None for r in res.results)
    assert any(r["params"] == make_model("neighbors").get_params() for r in res.results)


def test_an_ample_budget_scores_the_grid_and_chooses_what_an_exhaustive_search_chooses():
    matrix = synthetic(seed=4, shape=(20, 20))
    grid = candidates(["neighbors", "baseline", "client_mean"], {"neighbors": {"k": [1, 3, 6]}})
    with_budget = search(matrix, grid, folds=3, budget=600)
    assert with_budget.strategy == "halving" and with_budget.rounds == [(len(grid), 1), (len(grid), 3)]
    alone = [cross_validate(matrix, make_model(n, **p), folds=3, seed=0, baselines=()).scores[0].rmse for n, p in grid]
    best = min(range(len(grid)), key=lambda i: (alone[i], i))
    assert (with_budget.best["model"], with_budget.best["params"]) == grid[best]
    got = {r["position"]: r["mean_test_score"] for r in with_budget.results}
    assert [got[i] for i in range(len(grid))] == pytest.approx(alone, rel=1e-12)


def halving_by_hand(grid, split, counts, units, factor=3):
    """Successive halving over ``units`` (lists of grid positions), from every setting's RMSE on each fold
    (``split[pos][f]``, an exhaustive search's) and the folds' cell counts: the survivors after each round."""
    folds = len(counts)

    def pooled(pos, r):
        return math.sqrt(sum(split[pos][f] ** 2 * counts[f] for f in range(r)) / sum(counts[:r]))

    alive, r, target, history = list(range(len(units))), 0, 1, []
    while True:
        r = target
        history.append(sorted(alive))
        if r == folds:
            break
        alive.sort(key=lambda u: (min(pooled(p, r) for p in units[u]), min(units[u])))
        alive = alive[:max(1, math.ceil(len(alive) / factor))]
        target = min(folds, r * factor)
    best = min((p for u in alive for p in units[u]), key=lambda p: (pooled(p, folds), p))
    return history, best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_halving_keeps_the_best_third_of_the_units_and_chooses_what_a_loop_over_the_grid_chooses(seed):
    matrix = synthetic(seed=12 + seed, shape=(18, 16), blank=0.45)
    space = {"neighbors": {"k": [1, 2, 4, 8], "weighting": ["uniform", "rank"]},
             "baseline": {"reg_client": [0, 5, 25], "reg_salesperson": [0, 15, 30]}, "client_mean": {}}
    grid = candidates(list(space), space)
    folds = 9  # rounds: every unit on 1 fold, a third on 3, a ninth on 9
    exhaustive = search(matrix, grid, folds=folds, seed=seed)
    split = {r["position"]: [r[f"split{f}_test_score"] for f in range(folds)] for r in exhaustive.results}
    counts = kfold_cells(matrix, folds, seed).test.sum(axis=(1, 2)).tolist()
    # the units written out: a neighbour search per (metric, by), one setting of any other model
    units = {}
    for pos, (name, p) in enumerate(grid):
        key = (name, p["metric"], p["by"]) if name == "neighbors" else (name, pos)
        units.setdefault(key, []).append(pos)
    units = list(units.values())
    assert len(units) == 4 * 2 + 9 + 1
    history, best = halving_by_hand(grid, split, counts, units)

    res = search(matrix, grid, folds=folds, seed=seed, strategy="halving")
    assert res.strategy == "halving"
    assert res.rounds == [(sum(len(units[u]) for u in kept), f) for kept, f in zip(history, (1, 3, 9))]
    survivors = sorted(r["position"] for r in res.results if r["folds_scored"] == folds)
    assert survivors == sorted(p for u in history[-1] for p in units[u])
    assert (res.best["model"], res.best["params"]) == grid[best]
    # the survivors' scores are the exhaustive search's; the others rank after them
    full = {r["position"]: r["mean_test_score"] for r in exhaustive.results}
    assert [r["mean_test_score"] for r in res.results[:len(survivors)]] == \
        pytest.approx([full[r["position"]] for r in res.results[:len(survivors)]], rel=1e-12)
    assert [r["folds_scored"] for r in res.results] == sorted((r["folds_scored"] for r in res.results), reverse=True)
    assert len(res.results) == len(grid)  # every setting reached the first round


def test_halving_is_deterministic_for_a_seed_and_named_in_the_summary():
    matrix = synthetic(seed=6, shape=(16, 16), blank=0.4)
    space = {"neighbors": {"k": [1, 3]}, "baseline": {"reg_client": [0, 10], "reg_salesperson": [0, 15]}}
    a = tune(matrix, models=list(space), spaces=space, folds=3, seed=4, strategy="halving")
    b = tune(matrix, models=list(space), spaces=space, folds=3, seed=4, strategy="halving")
    def untimed(result):
        return [{k: v for k, v in r.items() if k != "mean_fit_time"} for r in result.search.results]

    assert untimed(a) == untimed(b)
    assert a.outer == b.outer and a.nested_rmse == b.nested_rmse
    assert a.search.strategy == "halving" and a.to_dict()["strategy"] == "halving"
    assert a.to_dict()["rounds"] == [list(r) for r in a.search.rounds]
    assert "(successive halving: " in a.summary()
    assert a.search.rounds[0] == (len(candidates(list(space), space)), 1) and a.search.rounds[-1][1] == 3
    grid = tune(matrix, models=list(space), spaces=space, folds=3, seed=4)
    assert grid.search.strategy == "grid" and "halving" not in grid.summary()


def test_nested_halving_never_sees_the_outer_fold():
    """Each outer fold's search is the search of that fold's training matrix alone."""
    matrix = synthetic(seed=10, shape=(16, 14), blank=0.4)
    space = {"neighbors": {"k": [1, 2, 5]}, "baseline": {"reg_client": [0, 10]}, "client_mean": {}}
    got = tune(matrix, models=list(space), spaces=space, folds=3, seed=3, strategy="halving")
    outer = kfold_cells(matrix, 3, 3)
    for f in range(3):
        inner = search(matrix.with_blanks(outer.test[f]), candidates(list(space), space), folds=3, seed=3,
                       strategy="halving")
        assert (got.outer[f]["model"], got.outer[f]["params"]) == (inner.best["model"], inner.best["params"])
        assert got.outer[f]["inner_rmse"] == inner.best["mean_test_score"]


def test_default_space_comes_from_the_declarations():
    space = search_space("neighbors")
    assert space["k"] == tuple(range(1, 51))
    assert space["weighting"] == tuple(WEIGHTINGS) and space["by"] == BY and space["fallback"] == (None,)
    assert len(candidates(["neighbors"])) == 1200
    assert search_space("mean") == {}


@pytest.mark.parametrize("call, match", [
    (lambda m: tune(m, models=["neighbours"]), "unknown model 'neighbours'.*did you mean 'neighbors'"),
    (lambda m: tune(m, models=["cp"]), "model 'cp' predicts periods"),
    (lambda m: tune(m, budget=0), "budget must be a number of seconds above 0"),
    (lambda m: tune(m, models=["neighbors"], spaces={"neighbors": {"kk": [1]}}), "has no parameter 'kk'"),
    (lambda m: tune(m, models=["neighbors"], spaces={"neighbors": {"k": [0]}}), "k must be a whole number"),
    (lambda m: tune(m, folds=1), "folds must be a whole number of at least 2"),
])
def test_mistakes_are_one_clear_line(call, match):
    with pytest.raises(InputError, match=match):
        call(synthetic())


def test_auto_tunes_a_full_matrix_and_not_a_thin_one():
    matrix = synthetic(seed=5, shape=(15, 15), blank=0.3)
    model = choose_model(matrix, "auto")
    assert model.tuning_.text.startswith(f"auto: {model.name}")
    assert "typical error +/- " in model.tuning_.text and "5-fold" in model.tuning_.text
    thin = synthetic(seed=5, shape=(7, 8), blank=0.3)
    assert thin.known.sum() < AUTO_MIN_BOOKINGS
    model = choose_model(thin, "auto")
    assert model.get_params() == make_model("neighbors").get_params()
    assert "the article's settings" in model.tuning_.text
    with pytest.raises(InputError, match="auto chooses the settings itself"):
        choose_model(matrix, "auto", k=3)
    assert choose_model(matrix, "baseline", reg_client=1.0).get_params()["reg_client"] == 1.0


@pytest.mark.parametrize("strategy", ["grid", "halving"])
def test_progress_counts_up_to_its_total(strategy):
    matrix = synthetic(seed=6, shape=(16, 16), blank=0.4)
    space = {"neighbors": {"k": [1, 3]}, "baseline": {"reg_client": [0, 10], "reg_salesperson": [0, 15]}}
    calls = []
    tune(matrix, models=list(space), spaces=space, folds=3, seed=4, strategy=strategy,
         progress=lambda done, total: calls.append((done, total)))
    dones = [d for d, _ in calls]
    assert dones == sorted(dones) and all(d <= t for d, t in calls)
    units = 8 + 4  # a neighbour search per (metric, by); the baseline's four settings
    per_search = units * 3 if strategy == "grid" else units * 1 + 4 * 2 + 0  # halving: 12 on 1 fold, 4 on 3
    assert calls[-1] == (4 * per_search, 4 * per_search)  # 3 outer searches and the final one


class _Clock:
    """A clock the search reads, advanced only by the units' fits: each (unit, fold) fit of a model takes
    ``cost[model]`` seconds, so the budget's accounting is checked without timing anything."""

    def __init__(self, cost):
        self.now, self.cost = 0.0, cost

    def perf_counter(self):
        return self.now


@pytest.mark.parametrize("budget", [40, 90, 200, 400])
def test_a_budgeted_search_and_tune_keep_to_the_budget(monkeypatch, budget):
    import xlrec.core.tune as tuning

    clock = _Clock({"neighbors": 2.0, "mf": 9.0, "client_mean": 0.5, "baseline": 0.5, "mean": 0.5,
                    "salesperson_mean": 0.5})
    original = tuning._Unit.scores

    def timed(unit, *args):
        clock.now += clock.cost[unit.model]
        return original(unit, *args)

    monkeypatch.setattr(tuning, "time", clock)
    monkeypatch.setattr(tuning._Unit, "scores", timed)
    matrix = synthetic(seed=4, shape=(20, 20))
    spaces = {"neighbors": {"k": [1, 3], "weighting": ["uniform"], "min_shared": [1]},
              "mf": {"rank": [1, 2, 3, 4], "l2": [0.1, 1.0], "iterations": [20]}}
    grid = candidates(["neighbors", "mf", "client_mean", "baseline"], spaces)
    res = search(matrix, grid, folds=3, budget=budget)
    # the first unit's three folds always fit these budgets: nothing else may run over
    assert res.seconds <= budget
    assert res.best["folds_scored"] == 3
    if budget >= 400:  # enough for the whole grid on every fold
        assert res.rounds[-1] == (len(grid), 3)
    start = clock.now
    result = tune(matrix, models=["neighbors", "mf", "client_mean", "baseline"], spaces=spaces, folds=3,
                  budget=budget * 4)
    assert clock.now - start <= budget * 4
    assert result.search.best["folds_scored"] == 3
