"""Revenue-scale values must not change which neighbours are chosen through cancellation in the
matrix-product form of the Euclidean distances."""

import numpy as np
import pytest
import reference

from xlrec import NeighborModel, fill


def _tricky_matrix(small_accounts_book_the_target=False):
    # R1 books four clients at about 1e9 each; R2..R5 each share exactly ONE of them with R1, at R1's
    # booking +3, +2, +2.5 and +1, so their squared distances to R1 are 9, 4, 6.25 and 1, and the three
    # nearest are R5, R3, R4. Squares of 1e9 are about 1e18, where a double's spacing (ulp) is 128: the
    # product form a**2 + b**2 - 2*a*b cannot hold differences of 1 to 9. Because each pair shares one
    # client and every other term of its three dot products is an exact 0 (a value times a 0 mask, or 0 times
    # a value), every dot product is one correctly rounded term whatever the BLAS kernel's summation order or
    # its use of FMA, so the formula's result, and its misorder, are the same on every machine (IEEE double).
    # Six small accounts (10,000 to 63,000) pull each client's mean to about a quarter of R1's booking, so the
    # centred products (squares about 5e17, ulp 64) cancel as badly.
    nan = np.nan
    x = np.full((11, 5), nan)
    x[0, :4] = [987_654_321.0, 1_012_345_678.0, 1_055_555_555.0, 1_077_777_777.0]
    for c, bump in enumerate((3.0, 2.0, 2.5, 1.0)):
        x[1 + c, c] = x[0, c] + bump  # exact: bookings near 1e9 are spaced 2**-23 apart
    x[1:5, -1] = [100, 200, 300, 400]  # the cell to predict is R1 / last client
    x[5:, :4] = 10_000 * np.arange(1, 7)[:, None] + 1_000 * np.arange(4)
    if small_accounts_book_the_target:
        # then the target client is booked by 10 of the 11: the fill walks each row's nearest neighbours (the
        # scan) rather than searching that client's bookers alone; the small accounts, ~1e9 away, never vote
        x[5:, -1] = 1e6
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
        # one term per dot product: the matrix products give exactly the scalar formula, on any BLAS
        xc = x - np.nanmean(x, axis=0) if centre else x
        a, b = xc[0, :4], np.diag(xc[1:5, :4])
        assert list(approx) == list(a * a + b * b - 2 * (a * b))
        # the three nearest by the formula (ties to the higher row) are not the true three nearest
        assert list(np.argsort(approx, kind="stable")[:3]) != list(np.argsort(exact, kind="stable")[:3])


@pytest.mark.parametrize("scan", [False, True], ids=["by-client", "scan"])
@pytest.mark.parametrize("metric", ["euclidean", "nan_euclidean"])
def test_neighbours_are_the_exact_nearest(metric, scan, kernels):
    x = _tricky_matrix(small_accounts_book_the_target=scan)
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
