"""A sheet of 10,000 =PREDICT_BOOKING cells over one 500 x 100 matrix: Python time per call after the first.

    python bench/bench_udf_cache.py

Each call gets the matrix afresh, as Excel sends it (new lists, new float objects). Printed: the first call
(parse, fit, fill), then the mean per call of the next 10,000, (a) in xlrec's function alone, and (b) through
xlwings' own custom-function machinery (xlwings Server / Lite path) on a few calls, which adds xlwings'
conversion of the 50,000-cell argument.
"""

import asyncio
import os
import time

os.environ.setdefault("XLWINGS_ON_SERVER", "true")
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import numpy as np  # noqa: E402
import xlwings as xw  # noqa: E402
from xlwings.server import custom_functions_call  # noqa: E402

import xlrec.excel as module  # noqa: E402
from xlrec.sheet.cache import default_cache  # noqa: E402

N_CALLS = 10_000


def sheet(n=500, m=100, blank=0.5, seed=0):
    rng = np.random.default_rng(seed)
    x = np.round(rng.lognormal(12, 1, (n, m)), 2)
    x[rng.random(x.shape) < blank] = np.nan
    rows = [["Bookings"] + [f"Client {j}" for j in range(m)]]
    rows += [[f"Rep {i}"] + [None if np.isnan(v) else float(v) for v in x[i]] for i in range(n)]
    return rows


def fresh(rows):
    """What each call receives: a new copy of the range's values."""
    return [[v * 1.0 + 0.0 if isinstance(v, float) else v for v in r] for r in rows]  # new float objects


def main():
    import sys

    blank = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    print(f"matrix: 500 x 100, {blank:.0%} blank")
    rows = sheet(blank=blank)
    rng = np.random.default_rng(1)
    who = [(f"Rep {rng.integers(500)}", f"Client {rng.integers(100)}") for _ in range(N_CALLS)]
    default_cache.clear()
    t = time.perf_counter()
    module.PREDICT_BOOKING(fresh(rows), *who[0])
    print(f"first call (parse, fit, fill 500 x 100): {time.perf_counter() - t:.3f} s")

    copies = [fresh(rows) for _ in range(200)]  # made outside the timing
    t = time.perf_counter()
    for i, (sp, cl) in enumerate(who):
        module.PREDICT_BOOKING(copies[i % 200], sp, cl)
    per_call = (time.perf_counter() - t) / N_CALLS
    print(f"(a) xlrec's PREDICT_BOOKING: {per_call * 1e3:.3f} ms per call over {N_CALLS:,} calls "
          f"(target <= 1 ms); cache hits {default_cache.hits:,}, misses {default_cache.misses}")

    def data(sp, cl, matrix):
        return {"func_name": "PREDICT_BOOKING", "args": [matrix, [[sp]], [[cl]]], "caller_address": "Sheet1!A1",
                "version": xw.__version__, "client": "Office.js", "runtime": "1.4", "culture_info_name": "en-US",
                "date_format": "m/d/yyyy"}

    calls = 3  # see the note printed below
    payloads = [data(sp, cl, copies[i % 200]) for i, (sp, cl) in enumerate(who[:calls])]

    async def run():
        for d in payloads:
            await custom_functions_call(d, module)

    t = time.perf_counter()
    asyncio.run(run())
    per_call_xw = (time.perf_counter() - t) / calls
    print(f"(b) through xlwings' custom_functions_call: {per_call_xw:.2f} s per call over {calls} calls, almost all "
          "of it xlwings converting the 50,000-cell argument: on CPython its per-cell JsNull check retries a "
          "failing 'from pyodide.ffi import JsNull' for every cell; in xlwings Lite (Pyodide) that import "
          "succeeds, and classic Excel converts through COM")


if __name__ == "__main__":
    main()
