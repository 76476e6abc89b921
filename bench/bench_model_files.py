"""Model files: loading the Online Retail ``mf`` model and predicting one cell, then 10,000 PREDICT_BOOKING calls
against the loaded model.

    python bench/bench_model_files.py [--model mf] [--calls 10000]

The model is trained once (not timed) on the Online Retail matrix (bench/datasets.py, customers x products,
log1p revenue) and saved. Timed:

- a cold load and one cell: ``load_model(path)`` (the whole file checked: zip, card, every array's header,
  shapes, positions) then ``model.value(customer, product)``, best and median of 20 (target: < 50 ms; the
  machine is shared, so the best is the figure of the code);
- ``functions.predict_booking`` with the model's name as its first argument, as a sheet of formulas calls it
  (the name resolved in XLREC_MODELS, the file's modification time and size checked, the loaded model
  reused), over 10,000 random (customer, product) pairs, about half of them blanks: the mean per call
  (target: < 1 ms).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datasets import online_retail  # noqa: E402

from xlrec import functions  # noqa: E402
from xlrec.core.models import make_model  # noqa: E402
from xlrec.core.persist import load_model, save_model  # noqa: E402
from xlrec.sheet.cache import fitted_for  # noqa: E402
from xlrec.sheet.models import default_models  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mf")
    p.add_argument("--calls", type=int, default=10_000)
    args = p.parse_args(argv)

    t = time.perf_counter()
    matrix = online_retail()
    print(f"Online Retail: {matrix.shape[0]:,} customers x {matrix.shape[1]:,} products, "
          f"{int(matrix.known.sum()):,} known cells (read in {time.perf_counter() - t:.1f} s)")
    t = time.perf_counter()
    model = make_model(args.model).fit(matrix)
    fit_s = time.perf_counter() - t
    folder = Path(tempfile.mkdtemp(prefix="xlrec-bench-"))
    path = folder / "online-retail.xlrec"
    save_model(model, path)
    print(f"{args.model}: fitted in {fit_s:.1f} s; model file {path.stat().st_size / 1e6:.1f} MB")

    rng = np.random.default_rng(0)
    rows = rng.integers(0, matrix.shape[0], args.calls)
    cols = rng.integers(0, matrix.shape[1], args.calls)
    blanks = int((~matrix.known[rows, cols]).sum())
    people = [matrix.salespeople[i] for i in rows]
    products = [matrix.clients[j] for j in cols]
    i0, j0 = np.argwhere(~matrix.known)[0]
    expected = float(model.fill().values[i0, j0]) if args.model != "mf" else \
        float(model.predict_cells(np.array([i0]), np.array([j0]))[0])

    cold = []
    for _ in range(20):
        t = time.perf_counter()
        loaded = load_model(path)
        value = loaded.value(matrix.salespeople[i0], matrix.clients[j0])
        cold.append(time.perf_counter() - t)
    assert value == expected, (value, expected)
    print(f"load the model file and predict one cell: {min(cold) * 1e3:.1f} ms (best of 20; "
          f"median {np.median(cold) * 1e3:.1f} ms)  [target < 50 ms]")

    os.environ["XLREC_MODELS"] = str(folder)
    default_models.clear()
    ref = [["online-retail"]]
    functions.predict_booking(fitted_for, ref, people[0], products[0])  # the first call loads the file
    t = time.perf_counter()
    out = [functions.predict_booking(fitted_for, ref, s, c) for s, c in zip(people, products)]
    per_call = (time.perf_counter() - t) / args.calls
    check = model.predict_cells(rows, cols)
    known = matrix.known[rows, cols]
    check[known] = matrix.values[rows, cols][known]
    assert np.allclose(out, check, rtol=1e-12, atol=0)
    print(f"{args.calls:,} PREDICT_BOOKING calls against the loaded model ({blanks:,} blanks): "
          f"{per_call * 1e6:.0f} us per call  [target < 1 ms]")


if __name__ == "__main__":
    main()
