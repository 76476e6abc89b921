"""How fast is tuning? ``xlrec tune``'s neighbour search against scikit-surprise's GridSearchCV, and real data.

    python bench/bench_tune.py                 # everything
    python bench/bench_tune.py --skip-data     # only the 2,000 x 1,000 comparison
    python bench/bench_tune.py --skip-surprise # no surprise (it takes minutes)

Figures:
1. The neighbour model over k in 1..50 x 4 metrics x 3 weightings x 2 ``by`` (1,200 settings), 5 folds, on a
   random 2,000 x 1,000 matrix with 80 % blanks (bench_speed.py's): the search's time against
   - one fill of that matrix per fold (default settings, the fold's training cells): target at most 10 x;
   - scikit-surprise's GridSearchCV over the equivalent KNNBasic grid on the same folds (k 1..50 x 4
     similarities x user- or item-based; surprise has no weighting, so the 1,200-setting grid refits each
     (k, similarity, user_based) 3 times): only a sample of its grid is timed (``--surprise-settings``, 2 by
     default) and the time per setting and fold scaled up to 1,200 x 5; the ratio is printed against the 400
     KNNBasic settings as well. Target: at least 20 x.
2. ``tune`` on Northwind (every tunable model, nested; the grid, then within ``--northwind-budget``) and on
   Online Retail (every tunable model within ``--retail-budget``, nested, so successive halving): the winner,
   its nested score beside the baselines' cross-validated scores on the same folds, the time.
0. (first) mf's grid with its l2 paths warm-started against every fit cold, same folds: Northwind and a
   synthetic 600 x 300 planted matrix (``--skip-mf`` skips it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_speed import random_matrix, surprise_data  # noqa: E402

from xlrec.core import _accel  # noqa: E402
from xlrec.core.evaluate import kfold_cells  # noqa: E402
from xlrec.core.matrix import SalesMatrix  # noqa: E402
from xlrec.core.models import make_model  # noqa: E402
from xlrec.core.tune import _settings_text, candidates, search, tune  # noqa: E402


class _OurFolds:
    """A surprise cross-validation iterator giving xlrec's folds (the same held-out cells)."""

    def __init__(self, x, dealt):
        self.x, self.dealt = x, dealt

    def get_n_folds(self):
        return self.dealt.folds

    def split(self, data):
        known = ~np.isnan(self.x)
        for f in range(self.dealt.folds):
            test = self.dealt.test[f]
            train = [(str(i), str(j), float(self.x[i, j]), None) for i, j in zip(*np.nonzero(known & ~test))]
            held = [(str(i), str(j), float(self.x[i, j]), None) for i, j in zip(*np.nonzero(test))]
            yield data.construct_trainset(train), data.construct_testset(held)


def neighbour_grid(a):
    x = random_matrix(a.grid_rows, a.grid_cols, 0.8)
    matrix = SalesMatrix([f"S{i}" for i in range(x.shape[0])], [f"C{j}" for j in range(x.shape[1])], x)
    dealt = kfold_cells(matrix, 5, 0)
    cands = candidates(["neighbors"])
    print(f"1. neighbours, {len(cands):,} settings, 5 folds, {x.shape[0]:,} x {x.shape[1]:,}, "
          f"{np.isnan(x).mean():.0%} blank, compiled kernels: {_accel.enabled()}")
    # both timed warm: the kernels each calls loaded (or compiled) first, by the same search on 2 folds and a
    # fill of the same matrix
    search(matrix, cands, folds=2, seed=0)
    make_model("neighbors").fit(matrix).fill()
    t = time.perf_counter()
    res = search(matrix, cands, folds=5, seed=0)
    t_tune = time.perf_counter() - t
    print(f"   xlrec search: {t_tune:.1f} s; best {res.best['params']} RMSE {res.best['mean_test_score']:,.0f}")
    t_fill = 0.0
    for f in range(5):
        train = matrix.with_blanks(dealt.test[f])
        t = time.perf_counter()
        make_model("neighbors").fit(train).fill()
        t_fill += time.perf_counter() - t
    print(f"   one fill per fold (k=2 manhattan rank, every blank of the fold's training matrix): {t_fill:.1f} s "
          f"for 5 -> the search is {t_tune / t_fill:.1f} x that (target <= 10 x)")
    if a.skip_surprise:
        return
    try:
        import surprise
        from surprise.model_selection import GridSearchCV
    except ImportError:
        print("   scikit-surprise is not installed: skipped")
        return
    data = surprise_data(x)
    sims = ["msd", "cosine", "pearson", "pearson_baseline"][:max(1, a.surprise_settings // 2)]
    grid = {"k": [25], "sim_options": {"name": sims, "user_based": [True, False]}, "verbose": [False]}
    n_sample = len(sims) * 2
    t = time.perf_counter()
    gs = GridSearchCV(surprise.KNNBasic, grid, measures=["rmse"], cv=_OurFolds(x, dealt), n_jobs=1)
    gs.fit(data)
    t_gs = time.perf_counter() - t
    per = t_gs / (n_sample * 5)
    full, basic = per * 1200 * 5, per * 400 * 5
    print(f"   surprise GridSearchCV(KNNBasic), sample of {n_sample} settings ({', '.join(sims)} x user/item, k=25) "
          f"x 5 folds timed: {t_gs:.1f} s = {per:.2f} s per setting and fold")
    print(f"   scaled up to the 1,200-setting grid x 5 folds: {full:,.0f} s -> xlrec {full / t_tune:.0f} x faster "
          f"(target >= 20 x); to the 400 KNNBasic settings alone: {basic:,.0f} s -> {basic / t_tune:.0f} x")


def planted_matrix(n=600, m=300, rank=5, blank=0.8, seed=0):
    """Bookings with a planted low-rank structure, offsets and noise (standardized units), ``blank`` of them
    blank: mf's case."""
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(n, rank)) @ rng.normal(size=(rank, m)) + rng.normal(size=(n, 1)) + rng.normal(size=(1, m))
         + rng.normal(size=(n, m)))
    x[rng.random((n, m)) < blank] = np.nan
    return SalesMatrix([f"S{i}" for i in range(n)], [f"C{j}" for j in range(m)], x)


def mf_path(a):
    """mf's grid searched with the l2 path warm-started and with every fit cold, on the same folds."""
    import datasets

    cands = candidates(["mf"])
    print(f"\n0. mf's grid ({len(cands)} settings: rank x l2 x l1), 5 folds, searched with l2 paths warm-started "
          "(largest l2 first) against every fit cold, same folds; runs interleaved warm, cold, warm, cold")
    mats = [("synthetic 600 x 300 planted rank 5, 80 % blank", planted_matrix())]
    try:
        mats.insert(0, ("Northwind", datasets.northwind()))
    except FileNotFoundError as exc:
        print(f"   Northwind: data absent ({exc}): skipped")
    for name, matrix in mats:
        times = {True: [], False: []}
        res = {}
        for warm in (True, False) * a.mf_repeats:
            t = time.perf_counter()
            res[warm] = search(matrix, cands, folds=5, seed=0, warm_start=warm)
            times[warm].append(time.perf_counter() - t)
        w, c = ({r["position"]: r["mean_test_score"] for r in res[k].results} for k in (True, False))
        rel = [(w[p] - c[p]) / c[p] for p in c]
        tw, tc = min(times[True]), min(times[False])
        print(f"   {name}: warm {tw:.2f} s, cold {tc:.2f} s (best of {a.mf_repeats}) -> warm / cold {tw / tc:.2f}")
        print(f"     best RMSE warm {res[True].best['mean_test_score']:,.4f} ({_mf_text(res[True].best)}), cold "
              f"{res[False].best['mean_test_score']:,.4f} ({_mf_text(res[False].best)}); per setting, warm against cold: "
              f"median {np.median(rel):+.2%}, from {min(rel):+.2%} to {max(rel):+.2%}")


def _mf_text(row):
    p = row["params"]
    return f"rank {p['rank']}, l2 {p['l2']:g}, l1 {p['l1']:g}"


def real_data(a):
    import datasets

    from xlrec.core.evaluate import cross_validate

    print("\n2. xlrec tune on real data, every tunable model (nested: 5 outer folds, each with its own 5-fold "
          "search; a budget is shared by the 6 searches, each a successive halving within its share)")
    runs = [("Northwind", datasets.northwind, None), ("Northwind", datasets.northwind, a.northwind_budget),
            ("Online Retail", datasets.online_retail, a.retail_budget)]
    loaded, baselines = {}, {}
    for name, load, budget in runs:
        try:
            if name not in loaded:
                t = time.perf_counter()
                loaded[name] = load()
                print(f"   {name}: read in {time.perf_counter() - t:.0f} s")
        except FileNotFoundError as exc:
            print(f"   {name}: data absent ({exc}): skipped")
            continue
        matrix = loaded[name]
        t = time.perf_counter()
        r = tune(matrix, budget=budget)
        seconds = time.perf_counter() - t
        print(f"   {name} {matrix.shape[0]:,} x {matrix.shape[1]:,}, {int(matrix.known.sum()):,} bookings, "
              f"models {', '.join(r.models)}, budget {'none (grid)' if budget is None else f'{budget:g} s'}: "
              f"{seconds:.0f} s")
        print(f"     {r.summary()}")
        print("     outer folds' winners: " + "; ".join(
            f"{o['model']} ({_settings_text(o['params'], o['model'])}) RMSE {o['rmse']:,.4f}" for o in r.outer))
        if name not in baselines:
            ev = cross_validate(matrix, "mean", folds=5, seed=0)  # the same outer folds: kfold_cells(seed 0)
            baselines[name] = ", ".join(f"{s.model} {s.rmse:,.4f}" for s in ev.scores)
        print(f"     nested RMSE {r.nested_rmse:,.4f} beside the baselines (5-fold, the same folds): "
              f"{baselines[name]}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip-surprise", action="store_true")
    p.add_argument("--skip-data", action="store_true")
    p.add_argument("--skip-grid", action="store_true")
    p.add_argument("--surprise-settings", type=int, default=2, help="settings of surprise's grid timed (2, 4, 6, 8)")
    p.add_argument("--skip-mf", action="store_true", help="skip mf's warm-start comparison")
    p.add_argument("--grid-rows", type=int, default=2000, help="rows of the neighbour grid's matrix (a smoke test)")
    p.add_argument("--grid-cols", type=int, default=1000, help="columns of the neighbour grid's matrix")
    p.add_argument("--mf-repeats", type=int, default=2, help="runs of each mf search (default 2; the best is kept)")
    p.add_argument("--retail-budget", type=float, default=600.0, help="seconds for Online Retail (default 600)")
    p.add_argument("--northwind-budget", type=float, default=20.0, help="seconds for Northwind's budgeted run "
                   "(default 20; it is also run without a budget)")
    a = p.parse_args()
    if not a.skip_mf:
        mf_path(a)
    if not a.skip_grid:
        neighbour_grid(a)
    if not a.skip_data:
        real_data(a)


if __name__ == "__main__":
    main()
