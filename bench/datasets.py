"""The real matrices the benchmarks use, built from ../shared/data (not copied into the project).

- :func:`northwind`: salespeople x clients, revenue summed (9 x 89).
- :func:`online_retail`: customers x products, net revenue per cell (product stock codes only: fees such as
  POST, D, M, BANK CHARGES left out; cancellations netted), cells with a positive net, value log1p(revenue),
  then customers and products with at least 5 filled cells (repeated until every one has 5).
"""

from __future__ import annotations

import csv
import gzip
import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from xlrec import SalesMatrix

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
_PRODUCT = re.compile(r"^\d{5}[A-Za-z]*$")


def _matrix(cells, rows_label="", min_filled=0):
    rows = sorted({r for r, _ in cells})
    cols = sorted({c for _, c in cells})
    while min_filled:
        per_row, per_col = defaultdict(int), defaultdict(int)
        for r, c in cells:
            per_row[r] += 1
            per_col[c] += 1
        keep = {k: v for k, v in cells.items() if per_row[k[0]] >= min_filled and per_col[k[1]] >= min_filled}
        if len(keep) == len(cells):
            break
        cells = keep
    rows = sorted({r for r, _ in cells})
    cols = sorted({c for _, c in cells})
    ri, ci = {r: i for i, r in enumerate(rows)}, {c: j for j, c in enumerate(cols)}
    x = np.full((len(rows), len(cols)), np.nan)
    for (r, c), v in cells.items():
        x[ri[r], ci[c]] = v
    return SalesMatrix([str(r) for r in rows], [str(c) for c in cols], x)


def northwind() -> SalesMatrix:
    cells = defaultdict(float)
    with open(DATA / "northwind" / "order_lines.csv", newline="") as f:
        for r in csv.DictReader(f):
            cells[(f"{r['FirstName']} {r['LastName']}", r["CustomerID"])] += float(r["Revenue"])
    return _matrix(dict(cells))


def online_retail(min_filled=5) -> SalesMatrix:
    net = defaultdict(float)
    with gzip.open(DATA / "online_retail" / "transactions.csv.gz", "rt", newline="") as f:
        for r in csv.DictReader(f):
            if not r["CustomerID"] or not _PRODUCT.match(r["StockCode"]):
                continue
            net[(r["CustomerID"].removesuffix(".0"), r["StockCode"].upper())] += float(r["Quantity"]) * float(r["UnitPrice"])
    cells = {k: math.log1p(v) for k, v in net.items() if v > 0}
    return _matrix(cells, min_filled=min_filled)
