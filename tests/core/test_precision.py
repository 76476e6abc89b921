"""Revenue-scale values must not change which neighbours are chosen through cancellation in the
matrix-product form of the Euclidean distances."""

import numpy as np
import pytest

import reference
from xlrec import NeighborModel, fill


def _tricky_matrix():
    # Salespeople R2..R5 differ from R1 by a single booking of +3, +2, +2.5 and +1 on top of bookings of
    # 5 to 10 million, so their squared distances to R1 are 9, 4, 6.25 and 1. Six small accounts
    # (10,000 to 50,000) pull each client's mean far away, so even centred products cancel badly.
    rng = np.random.default_rng(28)
    m = 300
    base = rng.uniform(5e6, 1e7, m)
    rows = [base.copy()]
    for bump in (3.0, 2.0, 2.5, 1.0):
        r = base.copy()
        r[rng.integers(m - 1)] += bump
        rows.append(r)
    rows += [rng.uniform(1e4, 5e4, m) for _ in range(6)]
    x = np.array(rows)
    x[0, -1] = np.nan  # the cell to predict: R1 / last client
    x[1:5, -1] = [100, 200, 300, 400]
    return x


def _product_form(x, centre):
    known = ~np.isnan(x)
    if centre:
        x = x - np.nanmean(x, axis=0)
    x0, kf = np.where(known, x, 0.0), known.astype(float)
    return (x0 ** 2) @ kf.T + kf @ (x0 ** 2).T - 2 * x0 @ x0.T


def test_the_case_trips_the_product_formula():
    x = _tricky_matrix()
    exact = [9.0, 4.0, 6.25, 1.0]
    for centre in (False, True):
        approx = _product_form(x, centre)[0, 1:5]
        # the three nearest by the formula (ties to the higher row) are not the true three nearest
        assert list(np.argsort(approx, kind="stable")[:3]) != list(np.argsort(exact, kind="stable")[:3])


@pytest.mark.parametrize("metric", ["euclidean", "nan_euclidean"])
def test_neighbours_are_the_exact_nearest(metric, kernels):
    x = _tricky_matrix()
    model = NeighborModel(k=3, metric=metric).fit(x)
    p = model.predict("R1", f"C{x.shape[1]}")
    assert [n.name for n in p.neighbors] == ["R5", "R3", "R4"]  # squared distances 1, 4, 6.25
    expected = (400 + 200 / 2 + 300 / 3) / (1 + 1 / 2 + 1 / 3)
    assert p.value == pytest.approx(expected, rel=1e-12)
    filled = fill(x, k=3, metric=metric).values
    assert filled[0, -1] == pytest.approx(expected, rel=1e-12)
    assert filled[0, -1] == pytest.approx(reference.predict(x.tolist(), 0, x.shape[1] - 1, 3, metric, "rank"),
                                          rel=1e-12)


def test_small_matrices_run_without_loading_the_kernels():
    """Loading the compiled kernels costs more than a small matrix takes in numpy: they load only for large
    ones (and the pure-numpy path gives the same answers, as the other tests check)."""
    import subprocess
    import sys

    code = ("import sys, numpy as np, xlrec; from xlrec.core import _accel; "
            "x = np.arange(600.0).reshape(30, 20); x[::3, ::2] = np.nan; xlrec.fill(x); "
            "print('numba' in sys.modules, _accel.use_for(x.size), "
            "_accel.use_for(_accel.MIN_CELLS) == _accel.enabled())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True"]
