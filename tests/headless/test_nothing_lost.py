"""Only the intended cells change: a cell-by-cell comparison over workbooks built like real ones."""

import hashlib
import shutil
import zipfile

import openpyxl
import pytest
from conftest import ROOT
from corpus import (
    changed_cells,
    named_workbook,
    report_workbook,
    snapshot,
    table_workbook,
)

from xlrec.cli import main
from xlrec.style import LEGEND_TEXT

# the article's matrix filled with the defaults (manhattan, rank, k=2), as `xlrec fill` gives it on the example
EXPECTED = {("Alyssa", "Staples"): (500_000 + 0.5 * 300_000) / 1.5}


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def example_fill(tmp_path_factory):
    out = tmp_path_factory.mktemp("ex") / "filled.xlsx"
    assert main(["fill", str(ROOT / "workbook_templates" / "sales_matrix.xlsx"), "-o", str(out)]) == 0
    ws = openpyxl.load_workbook(out).active
    return {(ws.cell(row=r, column=1).value, ws.cell(row=1, column=c).value): ws.cell(row=r, column=c).value
            for r in range(2, 8) for c in range(2, 6)}


def check_only_blanks_and_legend_changed(src, out, blanks, example_fill, keep_vba=False):
    before, after = snapshot(src, keep_vba), snapshot(out, keep_vba)
    record = [s for s in after["order"] if s not in before["order"]]
    assert [after["sheets"][s]["state"] for s in record] == ["hidden"], "one hidden record of what xlrec wrote"
    for s in record:
        after["order"].remove(s)
        del after["sheets"][s]
    after["cells"] = {k: v for k, v in after["cells"].items() if k[0] not in record}
    changed = changed_cells(before, after)
    legend = changed - blanks
    assert blanks <= changed, "every blank of the matrix is filled"
    # the legend: two cells one above the other, that were empty, beside the matrix
    (sheet, r, c), below = sorted(legend)[0], sorted(legend)[1:]
    assert below == [(sheet, r + 1, c)] and after["cells"][(sheet, r, c)][0] == LEGEND_TEXT, legend
    assert "filled 6 of 6 blank cells" in after["cells"][(sheet, r + 1, c)][0]
    assert not legend & before["cells"].keys()
    for key in ("order", "active", "names", "sheets"):
        assert before[key] == after[key], key
    wb = openpyxl.load_workbook(out)
    for sheet, r, c in blanks:  # the same numbers as on the bare example: totals were not taken as bookings
        ws = wb[sheet]
        header_row = min(row for s, row, _ in blanks if s == sheet)
        top = next(rr for rr in range(header_row, 0, -1) if ws.cell(row=rr, column=c).value in
                   ("Google", "Capgemini", "ExxonMobil", "Staples"))
        left = next(cc for cc in range(c, 0, -1) if ws.cell(row=r, column=cc).value in
                    ("Alyssa", "Brandon", "Mike", "Jessica", "Tom", "Priya"))
        key = (ws.cell(row=r, column=left).value, ws.cell(row=top, column=c).value)
        assert ws.cell(row=r, column=c).value == example_fill[key], key


@pytest.mark.parametrize("build, where", [
    (report_workbook, "'Q3 report'!A3:E9; formulas F4, F5, F6, F8, F9 and 4 more now add up predicted cells "
                      "(left as they are)"),
    (table_workbook, "Data!B2:F8 (the table SalesMatrix); formulas C9, D9, E9, F9 now add up predicted cells "
                     "(left as they are)"),
    (named_workbook, "Board!C12:G18 (the name SalesMatrix)"),
])
def test_fill_changes_only_the_blanks(build, where, tmp_path, capsys, example_fill):
    src = tmp_path / "in.xlsx"
    blanks = build(src)
    digest = sha(src)
    out = tmp_path / "out.xlsx"
    assert main(["fill", str(src), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"{out}: filled 6 of 6 blank cells in {where}"
    assert sha(src) == digest
    check_only_blanks_and_legend_changed(src, out, blanks, example_fill)


def test_xlsm_keeps_its_macros(tmp_path, capsys, example_fill):
    src = tmp_path / "book.xlsm"
    shutil.copy(ROOT / "workbook_templates" / "xlrec_functions.xlsm", src)
    wb = openpyxl.load_workbook(src, keep_vba=True)
    blanks = {("Sales", c.row, c.column) for row in wb["Sales"]["B2:E7"] for c in row if c.value is None}
    out = tmp_path / "out.xlsm"
    assert main(["fill", str(src), "-o", str(out), "--sheet", "Sales"]) == 0
    check_only_blanks_and_legend_changed(src, out, blanks, example_fill, keep_vba=True)
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(out) as b:
        assert a.read("xl/vbaProject.bin") == b.read("xl/vbaProject.bin")
        assert b"macroEnabled" in b.read("[Content_Types].xml")


def test_convert_changes_only_formula_cells(tmp_path):
    src = tmp_path / "in.xlsx"
    report_workbook(src)
    wb = openpyxl.load_workbook(src)
    ws = wb["Notes"]
    ws["B8"] = "=ROUND(PREDICT_BOOKING('Q3 report'!A3:E9,\"Alyssa\",\"Staples\"),2)"
    ws["B8"].number_format = '"$"#,##0.00'
    wb.save(src)
    out = tmp_path / "out.xlsx"
    assert main(["convert", str(src), "-o", str(out)]) == 0
    before, after = snapshot(src), snapshot(out)
    assert changed_cells(before, after) == {("Notes", 8, 2)}
    assert after["cells"][("Notes", 8, 2)][0] == 433_333.33
    assert after["cells"][("Notes", 8, 2)][1] == before["cells"][("Notes", 8, 2)][1]  # same style
    for key in ("order", "active", "names", "sheets"):
        assert before[key] == after[key], key
