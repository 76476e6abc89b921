"""xlrec fill --model cp on a workbook of period sheets: one tensor fit, every sheet's blanks filled from it."""

import csv
import math
import os
import subprocess

import numpy as np
import openpyxl
import pytest
from test_libreoffice import CSV_FILTER, SOFFICE, same, shown

from xlrec.cli import main
from xlrec.core.models import make_model
from xlrec.core.tensor import SalesTensor
from xlrec.style import PREDICTED_COLOR

PEOPLE = ["Ann", "Bob", "Cyd", "Dee", "Eve"]
CLIENTS = ["Acme", "Bolt", "Core", "Dyno", "Echo", "Flux", "Gear"]
QUARTERS = {"2024-Q1": "2024-02-10", "2024-Q2": "2024-05-10", "2024-Q3": "2024-08-10", "2024-Q4": "2024-11-10"}
COLUMNS = ["--salesperson", "Rep", "--client", "Account", "--amount", "Amount", "--date", "Date", "--period", "quarter"]


def bookings():
    """(quarter, salesperson, client, amount) rows: about 60 % of the cells of each quarter booked."""
    rng = np.random.default_rng(4)
    rows = []
    for q in QUARTERS:
        for sp in PEOPLE:
            for cl in CLIENTS:
                if rng.random() < 0.6:
                    rows.append((q, sp, cl, round(float(rng.lognormal(7, 0.6)), 2)))
    return rows


@pytest.fixture(scope="module")
def periods(tmp_path_factory):
    d = tmp_path_factory.mktemp("periods")
    table = d / "bookings.csv"
    with open(table, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Rep", "Account", "Date", "Amount"])
        for q, sp, cl, amount in bookings():
            w.writerow([sp, cl, QUARTERS[q], amount])
    book = d / "periods.xlsx"
    assert main(["pivot", str(table), *COLUMNS, "-o", str(book)]) == 0
    return table, book


@pytest.fixture(scope="module")
def filled(periods, tmp_path_factory):
    out = tmp_path_factory.mktemp("filled") / "filled.xlsx"
    assert main(["fill", str(periods[1]), "-o", str(out), "--model", "cp"]) == 0
    return out


def matrix_cells(ws):
    """{(salesperson, client): (value, cell)} of a pivot sheet (names in row 1 and column A)."""
    header = [c.value for c in ws[1]]
    clients = header[1:header.index(None)] if None in header else header[1:]
    out = {}
    for row in ws.iter_rows(min_row=2):
        if row[0].value is None:
            break
        for j, cl in enumerate(clients, 1):
            out[row[0].value, cl] = (row[j].value, row[j])
    return out


def test_every_sheet_filled_from_one_tensor_fit(periods, filled, capsys):
    tensor = SalesTensor.from_rows([(sp, cl, q, v) for q, sp, cl, v in bookings()])
    model = make_model("cp").fit(tensor)  # what fill must have fitted, through the public functions
    source, out = openpyxl.load_workbook(periods[1]), openpyxl.load_workbook(filled)
    assert [n for n in out.sheetnames if out[n].sheet_state == "visible"] == list(QUARTERS)
    predicted = known = 0
    for t, q in enumerate(QUARTERS):
        before, after = matrix_cells(source[q]), matrix_cells(out[q])
        assert before.keys() == after.keys() and len(after) == len(PEOPLE) * len(CLIENTS)
        for (sp, cl), (value, cell) in after.items():
            old = before[sp, cl][0]
            if old is not None:  # a booking: untouched
                assert value == old and cell.comment is None
                known += 1
                continue
            want = model.predict_tensor_cells(np.array([tensor.salesperson_index(sp)]),
                                              np.array([tensor.client_index(cl)]), np.array([t]))[0]
            assert value == pytest.approx(float(want), rel=1e-9)
            assert str(cell.fill.fgColor.rgb).upper().endswith(PREDICTED_COLOR.lstrip("#").upper())
            assert cell.comment is not None and f"period {q}" in cell.comment.text
            predicted += 1
    assert predicted > 20 and known == int(tensor.known.sum())
    records = [n for n in out.sheetnames if out[n].sheet_state == "hidden"]
    assert len(records) == len(QUARTERS)


def test_the_summary_names_the_one_fit(periods, tmp_path, capsys):
    out = tmp_path / "f.xlsx"
    assert main(["fill", str(periods[1]), "-o", str(out), "--model", "cp"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(QUARTERS)
    for line, q in zip(lines, QUARTERS):
        assert f"in '{q}'!" in line and "cp fitted once on the 4 period sheets (2024-Q1 to 2024-Q4" in line


def test_filled_again_the_predictions_are_read_as_blanks_and_typed_over_ones_kept(filled, tmp_path, capsys):
    again = tmp_path / "again.xlsx"
    assert main(["fill", str(filled), "-o", str(again), "--model", "cp"]) == 0
    a, b = openpyxl.load_workbook(filled), openpyxl.load_workbook(again)
    for q in QUARTERS:
        assert {k: v for k, (v, _) in matrix_cells(a[q]).items()} == {k: v for k, (v, _) in matrix_cells(b[q]).items()}
    # a predicted cell typed over is a booking now: kept, unmarked, and learned from
    cell = next(c for _, (v, c) in matrix_cells(a["2024-Q2"]).items() if c.comment is not None)
    cell.value = 12345.0
    typed = tmp_path / "typed.xlsx"
    a.save(typed)
    capsys.readouterr()
    out = tmp_path / "typed_out.xlsx"
    assert main(["fill", str(typed), "-o", str(out), "--model", "cp"]) == 0
    assert "typed over" in capsys.readouterr().out
    c = openpyxl.load_workbook(out)["2024-Q2"][cell.coordinate]
    assert c.value == 12345.0 and c.comment is None


def test_other_models_fill_each_sheet_from_its_own_matrix(periods, tmp_path):
    out = tmp_path / "mf.xlsx"
    assert main(["fill", str(periods[1]), "-o", str(out), "--model", "mf", "--all-sheets"]) == 0
    source, wb = openpyxl.load_workbook(periods[1]), openpyxl.load_workbook(out)
    for q in QUARTERS:
        cells = matrix_cells(source[q])
        people = list(dict.fromkeys(sp for sp, _ in cells))
        clients = list(dict.fromkeys(cl for _, cl in cells))
        x = np.array([[np.nan if cells[sp, cl][0] is None else cells[sp, cl][0] for cl in clients] for sp in people])
        from xlrec.core.matrix import SalesMatrix

        want = make_model("mf").fit(SalesMatrix(people, clients, x)).fill().values
        got = matrix_cells(wb[q])
        assert np.array([[got[sp, cl][0] for cl in clients] for sp in people]) == pytest.approx(want, rel=1e-9)


def test_a_bookings_table_is_refused_in_one_line(periods, tmp_path, capsys):
    assert main(["fill", str(periods[0]), "-o", str(tmp_path / "x.xlsx"), "--model", "cp"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fill writes into a copy of a workbook; make one of this bookings table first: " \
        "'xlrec pivot" in err and "--model cp'" in err
    assert not (tmp_path / "x.xlsx").exists()


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_the_filled_workbook_opens_in_libreoffice(filled, tmp_path):
    home = tmp_path / "home"
    run = subprocess.run([SOFFICE, f"-env:UserInstallation=file://{home}", "--headless", "--norestore",
                          "--convert-to", CSV_FILTER, "--outdir", str(tmp_path / "csv"), str(filled)],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "HOME": str(home)})
    assert run.returncode == 0, run.stderr
    wb = openpyxl.load_workbook(filled)
    checked = 0
    for q in QUARTERS:
        path = tmp_path / "csv" / f"{filled.stem}-{q}.csv"
        assert path.exists(), f"LibreOffice did not open sheet {q}: {run.stdout}"
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        for row in wb[q].iter_rows():
            for c in row:
                if c.value is not None:
                    assert same(shown(rows, c.coordinate), c.value), (q, c.coordinate, c.value)
                    checked += isinstance(c.value, float) and not math.isnan(c.value)
    assert checked > 100
