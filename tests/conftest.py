import math
import os
import sys

# The Excel tests drive xlwings' own Office.js machinery (xlwings Server / Lite code paths), which is chosen
# when xlwings is first imported; the noncommercial key is for that test use (see shared/EXCEL_NOTES.md).
os.environ.setdefault("XLWINGS_ON_SERVER", "true")
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
from pathlib import Path

import numpy as np
import pytest

from xlrec import SalesMatrix

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "workbook_templates" / "sales_matrix.xlsx"
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))

nan = math.nan
SALESPEOPLE = ["Alyssa", "Brandon", "Mike", "Jessica", "Tom", "Priya"]
CLIENTS = ["Google", "Capgemini", "ExxonMobil", "Staples"]
# The article's matrix (its text fixes Alyssa's row, Brandon's Google and ExxonMobil, Mike's Google and
# Capgemini; the rest is the issue's).
VALUES = [
    [500_000, 400_000, 400_000, nan],
    [500_000, nan, 200_000, 300_000],
    [500_000, 400_000, nan, 500_000],
    [200_000, 100_000, 300_000, 400_000],
    [nan, 700_000, 100_000, 200_000],
    [300_000, nan, 700_000, nan],
]


@pytest.fixture
def article():
    return SalesMatrix(SALESPEOPLE, CLIENTS, np.array(VALUES, dtype=float))


NORTHWIND = DATA / "northwind" / "order_lines.csv"


@pytest.fixture(scope="session")
def northwind(tmp_path_factory):
    """The Northwind orders pivoted by ``xlrec pivot`` into a 9 x 89 sales matrix workbook (once per run)."""
    from xlrec.cli import main

    if not NORTHWIND.exists():
        pytest.skip(f"the Northwind data is not at {NORTHWIND}")
    out = tmp_path_factory.mktemp("nw") / "matrix.xlsx"
    assert main(["pivot", str(NORTHWIND), "--salesperson", "FirstName+LastName", "--client", "CustomerID",
                 "--amount", "Revenue", "-o", str(out)]) == 0
    return out


@pytest.fixture
def example_path():
    return EXAMPLE


def article_cells():
    """The article's matrix as a block of cells, as a sheet holds it."""
    rows = [["Bookings ($)"] + CLIENTS]
    for name, row in zip(SALESPEOPLE, VALUES):
        rows.append([name] + [None if math.isnan(v) else v for v in row])
    return rows


@pytest.fixture(params=["compiled", "numpy"])
def kernels(request):
    """Run a test with the optional compiled kernels and with the pure-numpy path."""
    from xlrec.core import _accel

    if request.param == "compiled" and not _accel.available():
        pytest.skip("numba is not installed: the compiled kernels are optional")
    previous, min_cells = _accel.set_enabled(request.param == "compiled"), _accel.MIN_CELLS
    _accel.MIN_CELLS = 0  # the test matrices are small: run the kernels on them all the same
    yield request.param
    _accel.set_enabled(previous)
    _accel.MIN_CELLS = min_cells
