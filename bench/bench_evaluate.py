"""Cross-validation costs ``folds`` fits plus little else (issue 12).

    python bench/bench_evaluate.py [--repeat N]

For the default model (neighbors, k=2, manhattan, rank), 5 folds, no baselines, prints side by side:

- ``cross_validate``: the whole evaluation (dealing the folds, the five fits and predictions through the
  models' private kernels, the scoring);
- by hand: for each of the same five folds, the training matrix (``matrix.with_blanks``), then the public
  ``make_model().fit(train).predict_cells(rows, cols)`` of the same held-out cells;

and their ratio, which should be about 1 plus a small overhead. On the Northwind pivot (9 x 89) and on a
synthetic 2,000 x 500 matrix with 10 % of its cells known (fixed seed). Each figure is the best of
``--repeat`` runs, the two interleaved (a shared machine's speed drifts).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from xlrec.core.evaluate import cross_validate, kfold_cells
from xlrec.core.matrix import SalesMatrix
from xlrec.core.models import make_model

NORTHWIND = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "northwind" / "order_lines.csv"


def northwind():
    from xlrec.io.pivot import pivot
    from xlrec.io.workbook import read_matrix_for_model

    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "northwind.xlsx"
        pivot(NORTHWIND, out, salesperson="FirstName+LastName", client="CustomerID", amount="Revenue")
        return read_matrix_for_model(out)


def synthetic(n=2_000, m=500, known=0.10, seed=0):
    rng = np.random.default_rng(seed)
    values = np.round(rng.lognormal(8, 1.2, (n, m)), 2)
    values[rng.random((n, m)) >= known] = np.nan
    return SalesMatrix([f"S{i}" for i in range(n)], [f"C{j}" for j in range(m)], values)


def by_hand(matrix, folds=5, seed=0):
    dealt = kfold_cells(matrix, folds, seed)  # not timed: the same cells as cross_validate's
    t = 0.0
    for f in range(folds):
        t0 = time.perf_counter()
        train = matrix.with_blanks(dealt.test[f])
        rows, cols = np.nonzero(dealt.test[f])
        make_model().fit(train).predict_cells(rows, cols)
        t += time.perf_counter() - t0
    return t


def evaluation(matrix, folds=5, seed=0):
    t0 = time.perf_counter()
    cross_validate(matrix, make_model(), folds=folds, seed=seed, baselines=())
    return time.perf_counter() - t0


def compare(name, matrix, repeat):
    cv, hand = [], []
    for _ in range(repeat):
        cv.append(evaluation(matrix))
        hand.append(by_hand(matrix))
    n, m = matrix.shape
    cv_t, hand_t = min(cv), min(hand)
    print(f"{name}: {n:,} x {m:,}, {int(matrix.known.sum()):,} bookings, 5 folds, default model, no baselines")
    print(f"   cross_validate                      {cv_t:8.3f} s")
    print(f"   5 x (fit + predict_cells) by hand   {hand_t:8.3f} s")
    print(f"   ratio                               {cv_t / hand_t:8.2f} x   (target: about 1 plus a small overhead)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each, the best kept (default 5)")
    args = parser.parse_args()
    if NORTHWIND.exists():
        compare("Northwind pivot", northwind(), args.repeat)
    else:
        print(f"Northwind: skipped ({NORTHWIND} is not there)")
    compare("synthetic", synthetic(), max(2, args.repeat // 2))


if __name__ == "__main__":
    main()
