"""Headless figures (issue 4): fill vs openpyxl's own load + save, convert of 10,000 formulas, batch -j 2 vs -j 1.

    python bench/bench_headless.py [--quick]

Prints each figure with its target. Workbooks are generated in a temporary folder (fixed seed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import openpyxl

from xlrec.cli import main as xlrec


def matrix_workbook(path, n_people, n_clients, blank=0.5, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.integers(1, 1000, size=(n_people, n_clients)) * 1000.0
    values[rng.random(values.shape) < blank] = np.nan
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    ws.append(["Bookings"] + [f"Client {j + 1}" for j in range(n_clients)])
    for i, row in enumerate(values):
        ws.append([f"Salesperson {i + 1}"] + [None if np.isnan(v) else float(v) for v in row])
    wb.save(path)
    return int(np.isnan(values).sum())


def best(f, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def quiet(argv):
    """Run the xlrec command line with its stdout silenced; fail loudly on a non-zero exit."""
    saved = sys.stdout
    sys.stdout = open(os.devnull, "w")
    try:
        status = xlrec(argv)
    finally:
        sys.stdout.close()
        sys.stdout = saved
    if status != 0:
        raise SystemExit(f"xlrec {' '.join(argv)} exited with {status}")


def bench_fill(d, repeat):
    src = d / "m500x200.xlsx"
    blanks = matrix_workbook(src, 500, 200)

    def load_save():
        openpyxl.load_workbook(src).save(d / "resaved.xlsx")

    def fill():
        quiet(["fill", str(src), "-o", str(d / "filled.xlsx")])

    fill()  # warm: imports and compiled kernels
    load_save()
    # interleaved, so that both see the same machine (shared machines drift by tens of percent)
    t_io, t_fill = [], []
    for _ in range(repeat):
        t_io.append(best(load_save, 1)[0])
        t_fill.append(best(fill, 1)[0])
    ratios = sorted(f / i for f, i in zip(t_fill, t_io))
    print(f"fill 500 x 200, {blanks:,} blanks (50 %, every one coloured and given a note): "
          f"xlrec fill {min(t_fill):.2f} s, openpyxl load + save {min(t_io):.2f} s (best of {repeat}) -> "
          f"{min(t_fill) / min(t_io):.2f} x; per-pair ratios {ratios[0]:.2f} .. {ratios[-1]:.2f}, median "
          f"{statistics.median(ratios):.2f} (target <= 1.5 x)")


def bench_convert(d, n_cells=10_000):
    src = d / "formulas.xlsx"
    matrix_workbook(src, 500, 100, blank=0.5, seed=1)
    wb = openpyxl.load_workbook(src)
    ws = wb.create_sheet("Forecast")
    rng = np.random.default_rng(2)
    for r in range(n_cells):
        ws.cell(row=r + 1, column=1, value=f"Salesperson {rng.integers(1, 501)}")
        ws.cell(row=r + 1, column=2, value=f"Client {rng.integers(1, 101)}")
        ws.cell(row=r + 1, column=3, value=f"=PREDICT_BOOKING(Sales!$A$1:$CW$501,A{r + 1},B{r + 1})")
    wb.save(src)
    t = time.perf_counter()
    quiet(["convert", str(src), "-o", str(d / "converted.xlsx")])
    elapsed = time.perf_counter() - t
    out = openpyxl.load_workbook(d / "converted.xlsx")["Forecast"]
    numbers = sum(isinstance(v, (int, float)) and not isinstance(v, bool)  # known bookings load as int
                  for v in (out.cell(row=r + 1, column=3).value for r in range(n_cells)))
    print(f"convert {n_cells:,} PREDICT_BOOKING cells over one 500 x 100 matrix: {elapsed:.2f} s "
          f"({numbers:,} became numbers) (target < 30 s)")


def bench_batch(d, n_books=50, repeat=2):
    folder = d / "batch_in"
    folder.mkdir()
    for i in range(n_books):
        matrix_workbook(folder / f"team{i:02d}.xlsx", 200, 50, blank=0.4, seed=10 + i)
    times = {1: [], 2: []}
    for _ in range(repeat):  # interleaved: both see the same machine
        for jobs in (1, 2):
            out = d / f"batch_out{jobs}"
            t = time.perf_counter()
            quiet(["batch", str(folder), "-o", str(out), "-j", str(jobs), "-q"])
            times[jobs].append(time.perf_counter() - t)
            shutil.rmtree(out)
    j1, j2 = min(times[1]), min(times[2])
    print(f"batch {n_books} workbooks of 200 x 50: -j 1 {j1:.2f} s, -j 2 {j2:.2f} s (best of {repeat}) -> "
          f"{j1 / j2:.2f} x faster (target >= 1.6 x; {os.cpu_count()} cores)")


def run(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, fewer workbooks")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        bench_fill(d, 1 if args.quick else 7)
        bench_convert(d, 2_000 if args.quick else 10_000)
        bench_batch(d, 10 if args.quick else 50, 1 if args.quick else 3)


if __name__ == "__main__":
    run()
