"""Fill a random 2,000 x 1,000 matrix with 80 % blanks (k=5, nan_euclidean, uniform) with xlrec and with
scikit-learn's KNNImputer, and print both times and their ratio.

    python bench/bench_fill.py [--rows 2000] [--cols 1000] [--blank 0.8] [--k 5]
"""

import argparse
import os
import platform
import time

import numpy as np

import xlrec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--cols", type=int, default=1000)
    ap.add_argument("--blank", type=float, default=0.8)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--no-sklearn", action="store_true")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.lognormal(12, 1, (a.rows, a.cols))
    x[rng.random(x.shape) < a.blank] = np.nan
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")
    print(f"matrix: {a.rows} x {a.cols}, {a.blank:.0%} blank, k={a.k}, nan_euclidean, uniform")
    t = time.perf_counter()
    ours = xlrec.fill(x, k=a.k, metric="nan_euclidean", weighting="uniform").values
    t_ours = time.perf_counter() - t
    print(f"xlrec fill:          {t_ours:8.2f} s")
    if a.no_sklearn:
        return
    from sklearn.impute import KNNImputer

    t = time.perf_counter()
    theirs = KNNImputer(n_neighbors=a.k).fit_transform(x)
    t_theirs = time.perf_counter() - t
    print(f"sklearn KNNImputer:  {t_theirs:8.2f} s")
    print(f"ratio: xlrec is {t_theirs / t_ours:.1f} x faster")
    diff = np.nanmax(np.abs(ours - theirs) / np.abs(theirs))
    print(f"largest relative difference between the two fills: {diff:.2e}")


if __name__ == "__main__":
    main()
