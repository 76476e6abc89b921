"""Forecasting a quarter with ``cp`` against the naive forecasts, on Northwind by quarter.

    python bench/bench_tensor.py [--data ../shared/data/northwind/order_lines.csv]

The bookings are Northwind's order lines summed per salesperson (FirstName+LastName), client (CustomerID)
and quarter (OrderDate), as ``xlrec pivot --date OrderDate --period quarter`` sums them. The last quarter is
held out; every forecast sees only the quarters before it. Scored on the held-out quarter's known cells
(salesperson x client pairs with a booking in it):

- ``last period``: the pair's most recent earlier booking;
- ``mean of past periods``: the mean of the pair's earlier bookings;
- ``cp``: the tensor model forecasting the next period. Its settings (rank, l2, forecast rule) are chosen
  on an inner split (fit on all quarters but the last two, forecast the one before the held-out one), never
  on the held-out quarter; the defaults are scored too.

The naive forecasts have nothing for a pair with no earlier booking, so the table scores every forecast on
the cells whose pair has one ("with history"); cp's score over every held-out cell is given besides.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xlrec.core.evaluate import holdout_last_period, split_period  # noqa: E402
from xlrec.core.models import make_model  # noqa: E402
from xlrec.core.tensor import SalesTensor  # noqa: E402
from xlrec.io.bookings import read_bookings  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "northwind" / "order_lines.csv"
GRID = {"rank": [1, 2, 3, 5], "l2": [1.0, 5.0, 20.0], "forecast": ["last", "mean", "trend"]}


def northwind(path=DATA) -> SalesTensor:
    return read_bookings(path, salesperson="FirstName+LastName", client="CustomerID", amount="Revenue",
                         date="OrderDate", period="quarter")[0]


def cp_forecast(past: SalesTensor, ii, jj, **params):
    model = make_model("cp", **params).fit(past)
    return model.predict_tensor_cells(ii, jj, np.full(ii.shape, len(past.periods)))


def rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


def tune(tensor: SalesTensor):
    """The grid's best settings for forecasting the next-to-last period from those before it."""
    past, ii, jj, truth = split_period(tensor, len(tensor.periods) - 2)
    best = None
    for values in itertools.product(*GRID.values()):
        params = dict(zip(GRID, values))
        score = rmse(cp_forecast(past, ii, jj, **params), truth)
        if best is None or score < best[0]:
            best = (score, params)
    return best[1]


def table(tensor: SalesTensor):
    """Rows (forecast, settings, RMSE, MAE, cells, fit time) for forecasting the last period: the core's
    :func:`~xlrec.core.evaluate.holdout_last_period` (as ``xlrec evaluate --holdout last-period`` prints it)
    with the defaults and with the settings tuned on the inner split."""
    rows = []
    for label, params in (("cp (defaults)", {}), ("cp (tuned on the inner split)", tune(tensor))):
        ev = holdout_last_period(tensor, make_model("cp", **params))
        if not rows:
            rows += [(s.model, "", s.rmse, s.mae, ev.n_scored, s.seconds) for s in ev.scores[1:]]
        settings = ", ".join(f"{k}={v}" for k, v in params.items()) or "rank=3, l2=5, forecast=mean"
        cp = ev.scores[0]
        rows.append((label, settings, cp.rmse, cp.mae, ev.n_scored, cp.seconds))
        rows.append((label + ", every cell", settings, *ev.every, len(ev.held_out["actual"]), cp.seconds))
    return tensor.periods[-1], tensor.periods[:-1], rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DATA))
    args = p.parse_args(argv)
    tensor = northwind(args.data)
    held, seen, rows = table(tensor)
    print(f"Northwind by quarter: {tensor.shape[0]} salespeople x {tensor.shape[1]} clients x {tensor.shape[2]} "
          f"quarters, {int(tensor.known.sum())} known cells; forecasting {held} from {seen[0]}..{seen[-1]}")
    print(f"{'forecast':<40} {'settings':<34} {'RMSE':>10} {'MAE':>10} {'cells':>6} {'fit s':>6}")
    for name, settings, r, a, n, took in rows:
        print(f"{name:<40} {settings:<34} {r:>10,.1f} {a:>10,.1f} {n:>6} {took:>6.2f}")


if __name__ == "__main__":
    main()
