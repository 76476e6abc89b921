"""How long the assignment takes: ``python bench/bench_assign.py [--big]``.

- 500 salespeople x 5,000 clients, capacity 12 clients each (6,000 places for 5,000 clients: binding for the
  most attractive salespeople), a keep bonus of 5% of the typical booking, today's owner of each client drawn
  at random: solved to optimality by successive shortest paths (compiled, then the pure-numpy twin that
  xlwings Lite runs), ties on the optimal face; beside it the same problem by the column generation over
  HiGHS' dual simplex (``--lp``: it takes minutes), and scipy's linear_sum_assignment on the capacity-expanded
  matrix (``--lsa``: 5,000 x 6,000 dense, about 40 s), which must reach the same total.
- ``--big``: 2,000 x 50,000 with a keep bonus (no capacities: solved per client), and with capacity 30 each.

The expected bookings are a low-rank matrix plus noise (salespeople and clients that are alike), so the
best salespeople of a client compete for the same clients, as they do in a real matrix.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from xlrec.core import _accel  # noqa: E402
from xlrec.core.assign import solve_assignment  # noqa: E402


def case(n, m, seed=0):
    rng = np.random.default_rng(seed)
    E = np.abs(rng.normal(size=(n, 4)) @ rng.normal(size=(4, m)) + rng.normal(scale=0.5, size=(n, m))) * 1000
    current = np.zeros((n, m), bool)
    current[rng.integers(0, n, m), np.arange(m)] = True
    return E, current


def run(n, m, label="", **kw):
    E, current = case(n, m)
    bonus = 0.05 * float(np.median(E))
    t = time.perf_counter()
    s = solve_assignment(E, current=current, keep_bonus=bonus, **kw)
    total = time.perf_counter() - t
    print(f"{n:,} x {m:,} {kw or ''}{label} keep bonus {bonus:,.1f}: {total:.2f} s, solver {s.solver}, "
          f"{s.rounds} LP round(s), {s.candidates:,} candidate pairs, objective {s.objective:,.0f}, "
          f"kept {s.kept:,} of {m:,}")
    return s


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--lp", action="store_true")
    ap.add_argument("--lsa", action="store_true")
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores; numba {'installed' if _accel.available() else 'missing'}")
    if _accel.available():
        run(2, 200, capacity=120)  # loads the compiled kernel from its cache (or compiles it once)
        run(500, 5000, " compiled", capacity=12)
    _accel.set_enabled(False)
    run(500, 5000, " pure numpy", capacity=12)
    _accel.set_enabled(True)
    if args.lp:
        run(500, 5000, solver="transportation LP", capacity=12)
    if args.lsa:
        from scipy.optimize import linear_sum_assignment

        E, current = case(500, 5000)
        W = E + current * 0.05 * float(np.median(E))
        t = time.perf_counter()
        r, c = linear_sum_assignment(np.repeat(W, 12, axis=0).T, maximize=True)
        print(f"500 x 5,000 linear_sum_assignment on the expansion (5,000 x 6,000): {time.perf_counter() - t:.2f} s, "
              f"objective {np.repeat(W, 12, axis=0).T[r, c].sum():,.0f}")
    if args.big:
        run(2000, 50000)
        run(2000, 50000, capacity=30)
