"""``mf`` on a matrix too large to hold whole: 100,000 salespeople x 50,000 clients, 5 million known cells
(random positions, a planted rank-20 matrix plus noise), fitted from the known cells alone
(``FactorizationModel.fit_known``). Prints the time per sweep and the peak memory of the process.

    python bench/bench_mf_scale.py [--salespeople 100000] [--clients 50000] [--known 5000000] [--rank 20]
                                   [--sweeps 3] [--l1 0]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from xlrec.core.models import make_model


def planted(n, m, known, rank, seed=0):
    rng = np.random.default_rng(seed)
    flat = np.unique(rng.integers(0, n * m, size=int(known * 1.001), dtype=np.int64))[:known]
    rows, cols = np.divmod(flat, m)
    P, Q = rng.normal(size=(n, rank)), rng.normal(size=(m, rank))
    values = np.empty(rows.size)
    for lo in range(0, rows.size, 1 << 20):
        hi = min(rows.size, lo + (1 << 20))
        values[lo:hi] = 1000 + 100 * np.einsum("ij,ij->i", P[rows[lo:hi]], Q[cols[lo:hi]])
    values += 50 * rng.normal(size=rows.size)
    return rows, cols, values


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--salespeople", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=50_000)
    ap.add_argument("--known", type=int, default=5_000_000)
    ap.add_argument("--rank", type=int, default=20)
    ap.add_argument("--sweeps", type=int, default=3)
    ap.add_argument("--l1", type=float, default=0.0)
    a = ap.parse_args()
    t = time.perf_counter()
    rows, cols, values = planted(a.salespeople, a.clients, a.known, a.rank)
    print(f"{a.salespeople:,} x {a.clients:,}, {rows.size:,} known cells (planted rank {a.rank}); "
          f"built in {time.perf_counter() - t:.1f} s")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    model = make_model("mf", rank=a.rank, l2=5.0, l1=a.l1, iterations=a.sweeps, tol=0)
    t = time.perf_counter()
    model.fit_known(rows, cols, values, (a.salespeople, a.clients))
    seconds = time.perf_counter() - t
    sweeps = len(model.objective_) - 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    test = np.random.default_rng(1).integers(0, rows.size, 100_000)
    err = model.predict_cells(rows[test], cols[test]) - values[test]
    print(f"mf rank {a.rank}, l1 {a.l1:g}: {sweeps} sweeps in {seconds:.1f} s = {seconds / sweeps:.1f} s per sweep; "
          f"peak memory {peak:.2f} GiB (the data alone {base:.2f} GiB); training RMSE {np.sqrt(np.mean(err ** 2)):.1f} "
          f"(noise 50, bookings' deviation {values.std():.0f})")


if __name__ == "__main__":
    main()
