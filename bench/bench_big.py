"""The core fill of a big sparse matrix: Online Retail customers x products, time and peak memory.

    python bench/bench_big.py            # compiled kernels and pure numpy, fill(explain=False) and (True)
    python bench/bench_big.py --quick    # compiled kernels only (the numpy runs take about 2 minutes each)
    python bench/bench_big.py --workbook # the whole `xlrec fill` of the pivoted workbook, with and without numba

The matrix is what ``xlrec pivot transactions.csv.gz --salesperson CustomerID --client StockCode --amount
'Quantity*UnitPrice'`` builds (lines without a customer left out): 4,372 x 3,684, 1.7 % known, 15.8 million
blanks. Each run is a child process of its own, so its peak resident memory (ru_maxrss) is its own: Python,
numpy (and numba when used), the matrix, and the fill with the default model (k=2, manhattan, rank weights).
The data (UCI Online Retail, Daqing Chen, CC BY 4.0) is read from ../shared/data beside the repository.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RETAIL = ROOT.parent / "shared" / "data" / "online_retail" / "transactions.csv.gz"


def retail_matrix():
    """Customers x stock codes, the sum of Quantity * UnitPrice; NaN where a customer never bought a code."""
    customers, products, cells = {}, {}, {}
    with gzip.open(RETAIL, "rt", newline="") as f:
        for row in csv.DictReader(f):
            cust, code = row["CustomerID"].strip(), row["StockCode"].strip()
            if not cust:
                continue
            key = (customers.setdefault(cust, len(customers)), products.setdefault(code, len(products)))
            cells[key] = cells.get(key, 0.0) + float(row["Quantity"]) * float(row["UnitPrice"])
    x = np.full((len(customers), len(products)), np.nan)
    ij = np.array(list(cells), dtype=np.intp).reshape(-1, 2)
    x[ij[:, 0], ij[:, 1]] = list(cells.values())
    return x


def child(path, compiled, explain):
    from xlrec.core import NeighborModel, _accel

    _accel.set_enabled(compiled)
    x = np.load(path)
    if compiled:
        NeighborModel().fit(x[:200]).fill()  # load the kernels outside the timing
    blocks = []
    t = time.perf_counter()
    r = NeighborModel().fit(x).fill(explain=explain, progress=lambda done, total: blocks.append(done))
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    print(json.dumps({"seconds": seconds, "peak": peak, "predicted": int(r.predicted.sum()),
                      "unfilled": int(r.unfilled.sum()), "blocks": len(blocks)}))


def command(args, env=None):
    """Run ``args`` as a process of its own: (seconds, peak resident memory in bytes, last line of stdout)."""
    import os

    t = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, **(env or {})})
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(map(str, args))} exited with {proc.returncode}")
    return time.perf_counter() - t, usage.ru_maxrss * 1024, out.strip().splitlines()[-1]


def workbook_runs():
    """``xlrec pivot`` of the transactions, then ``xlrec fill`` of the workbook: with numba and without."""
    from xlrec.core import _accel

    xlrec = [sys.executable, "-m", "xlrec"]
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "retail.xlsx"
        seconds, peak, line = command(xlrec + ["pivot", str(RETAIL), "--salesperson", "CustomerID", "--client",
                                               "StockCode", "--amount", "Quantity*UnitPrice", "-o", str(book)])
        print(f"xlrec pivot: {seconds:.1f} s, peak memory {peak / 1e9:.2f} GB\n  {line[:140]}")
        runs = [("with numba", {})] if _accel.available() else []
        runs.append(("numpy alone", {"XLREC_ACCELERATE": "0"}))
        for label, env in runs:
            out = Path(tmp) / "filled.xlsx"
            seconds, peak, line = command(xlrec + ["fill", str(book), "-o", str(out)], env)
            print(f"xlrec fill, {label}: {seconds:.1f} s, peak memory {peak / 1e9:.2f} GB, "
                  f"output {out.stat().st_size / 1e6:.0f} MB\n  {line[:140]}...")
            out.unlink()
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="compiled kernels only")
    parser.add_argument("--workbook", action="store_true",
                        help="the whole xlrec fill of the pivoted workbook (read, fill, write), with and without numba")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, compiled, explain = args.child
        return child(path, compiled == "1", explain == "1")
    if not RETAIL.exists():
        print(f"skipped: the Online Retail data is not at {RETAIL} (the shared data folder beside the repository)")
        return 0
    if args.workbook:
        return workbook_runs()
    from xlrec.core import _accel

    x = retail_matrix()
    n, m = x.shape
    known = int((~np.isnan(x)).sum())
    print(f"Online Retail customers x products: {n:,} x {m:,}, {known / x.size:.1%} known, "
          f"{x.size - known:,} blanks; NeighborModel() (k=2, manhattan, rank), one child process per run")
    paths = [True] if args.quick or not _accel.available() else [True, False]
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "retail.npy")
        np.save(path, x)
        del x
        for compiled in paths:
            for explain in (False, True):
                out = subprocess.run([sys.executable, __file__, "--child", path, str(int(compiled)),
                                      str(int(explain))], capture_output=True, text=True, check=True).stdout
                r = json.loads(out)
                print(f"  {'compiled' if compiled else 'numpy   '} fill(explain={explain!s:5}) "
                      f"{r['seconds']:6.1f} s, peak memory {r['peak'] / 2**30:.2f} GiB "
                      f"({r['predicted']:,} predicted, {r['unfilled']:,} left blank, {r['blocks']} blocks)")
    if not _accel.available():
        print("  (numba is not installed: pip install -e '.[fast]' for the compiled kernels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
