"""Hostile input to fill and predict (issue 11): what openpyxl reads, one clear line, bounded memory, never
``inf`` and never a cell past Excel's last column."""

import re
import subprocess
import sys
import zipfile

import openpyxl
import pytest
from conftest import EXAMPLE, article_cells

ALYSSA_STAPLES = (500_000 + 0.5 * 300_000) / 1.5


def rewrite(dst, edit, src=EXAMPLE):
    """A copy of ``src`` with its first sheet's XML passed through ``edit``."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w") as b:
        for item in a.infolist():
            data = a.read(item)
            b.writestr(item, edit(data) if item.filename == "xl/worksheets/sheet1.xml" else data)
    return dst


def run(*args):
    """The command line in a process of its own with 1.5 GB of address space: a run-away grid fails it."""
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000)); "
            "from xlrec.cli import main; sys.exit(main(sys.argv[1:]))")
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout.strip(), out.stderr.strip()


def test_rows_without_their_number_are_read_where_openpyxl_reads_them(tmp_path):
    # the matrix starts at row 3; its rows carry no r, their cells do (the schema allows it)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    ws["A1"] = "Q3"
    for r, row in enumerate(article_cells(), 3):
        for c, v in enumerate(row, 1):
            ws.cell(row=r, column=c, value=v)
    src = tmp_path / "src.xlsx"
    wb.save(src)
    bare = rewrite(tmp_path / "bare.xlsx", lambda d: re.sub(rb'<row r="\d+"', b"<row", d), src)
    assert openpyxl.load_workbook(bare).active["B3"].value == "Google"  # openpyxl reads by the cells' addresses
    status, text, err = run("fill", bare, "-o", tmp_path / "out.xlsx")
    assert status == 0, err
    assert text.endswith("filled 6 of 6 blank cells in Sales!A3:E9")
    out = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert [out.cell(row=3, column=c).value for c in range(1, 6)] == article_cells()[0]
    assert out["E4"].value == ALYSSA_STAPLES and out["B5"].value == 500_000


def test_a_cell_outside_its_row_is_read_where_openpyxl_reads_it(tmp_path):
    # row 7 holding a cell addressed A8: openpyxl puts Priya in A8, so row 7 has no name (the package reader
    # would have read her into row 7 and written the fill there)
    bad = rewrite(tmp_path / "bad.xlsx", lambda d: d.replace(b'<c r="A7"', b'<c r="A8"', 1))
    assert openpyxl.load_workbook(bad).active["A8"].value == "Priya"
    status, text, err = run("fill", bad, "-o", tmp_path / "out.xlsx")
    assert status == 2 and err == ("xlrec: error: Sales!A7: the salesperson name is empty (every row of bookings "
                                   "needs a salesperson name in the first column)"), err


@pytest.mark.parametrize("huge", ["1E+308", "1" * 400])
def test_amounts_too_large_are_one_line_never_inf(huge, tmp_path):
    wb = openpyxl.load_workbook(EXAMPLE)
    ws = wb.active
    for r in range(2, 8):
        if ws.cell(row=r, column=2).value is not None:
            ws.cell(row=r, column=2).value = float(huge) if huge.startswith("1E") else huge
    src = tmp_path / "huge.xlsx"
    wb.save(src)
    for args in (["fill", src, "-o", tmp_path / "out.xlsx", "--k", "3"], ["predict", src, "Alyssa", "Staples"]):
        status, text, err = run(*args)
        assert status == 2 and err.startswith("xlrec: error: Sales!B2: ") and "\n" not in err, err
    assert not (tmp_path / "out.xlsx").exists()


def test_the_largest_amounts_xlrec_takes_give_finite_predictions(tmp_path):
    import numpy as np

    import xlrec
    from xlrec.sheet.cells import matrix_from_cells

    cells = [[v * 1e94 if isinstance(v, (int, float)) else v for v in row] for row in article_cells()]
    m = matrix_from_cells(cells)  # up to 7e99
    for metric in ("manhattan", "euclidean", "nan_euclidean", "supremum"):
        for weighting in ("rank", "uniform", "distance"):
            result = xlrec.fill(m, k=5, metric=metric, weighting=weighting)
            assert np.isfinite(result.values).all(), (metric, weighting)
    # by distance, Mike (at distance 0 from Alyssa) alone counts
    assert xlrec.fill(m, k=5, weighting="distance").values[0, 3] == 500_000 * 1e94


def test_a_matrix_ending_at_the_last_column_gets_its_legend_below(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, row in enumerate(article_cells(), 1):
        for c, v in enumerate(row, 16_380):  # the clients end at XFD, Excel's last column
            ws.cell(row=r, column=c, value=v)
    src = tmp_path / "edge.xlsx"
    wb.save(src)
    status, text, err = run("fill", src, "-o", tmp_path / "out.xlsx")
    assert status == 0, err
    with zipfile.ZipFile(tmp_path / "out.xlsx") as z:
        refs = re.findall(rb'<c r="([A-Z]+)\d+"', z.read("xl/worksheets/sheet1.xml"))
    assert max(openpyxl.utils.column_index_from_string(r.decode()) for r in refs) == 16_384
    out = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert out.cell(row=9, column=16_380).value == "xlrec prediction (not an actual booking)"


def test_a_far_cell_costs_no_memory(tmp_path):
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>far</t></is></c></row>'
    book = rewrite(tmp_path / "far.xlsx", lambda d: d.replace(b"</sheetData>", far + b"</sheetData>"))
    status, text, err = run("fill", book, "-o", tmp_path / "out.xlsx")
    assert status == 0 and text.endswith("filled 6 of 6 blank cells in Sales!A1:E7"), err
    status, text, err = run("predict", book, "Alyssa", "Staples")
    assert status == 0 and text.startswith("Alyssa / Staples: 433,333.33 predicted"), err


@pytest.mark.parametrize("ref", ['r="A99999999999"', ""])  # the cell's own address, or its row's only
def test_a_cell_beyond_excel_s_last_row_is_a_damaged_file(ref, tmp_path):
    far = b'<row r="99999999999"><c ' + ref.encode() + b' t="inlineStr"><is><t>far</t></is></c></row>'
    book = rewrite(tmp_path / "far.xlsx", lambda d: d.replace(b"</sheetData>", far + b"</sheetData>"))
    for args in (["fill", book, "-o", tmp_path / "out.xlsx"], ["predict", book, "Alyssa", "Staples"],
                 ["convert", book, "-o", tmp_path / "conv.xlsx"]):
        status, text, err = run(*args)
        assert status == 2 and "beyond Excel's last cell XFD1048576: the file is damaged" in err, (args, err)
        assert "\n" not in err


def test_a_name_over_the_whole_sheet_reads_its_cells_only(tmp_path):
    from openpyxl.workbook.defined_name import DefinedName

    wb = openpyxl.load_workbook(EXAMPLE)
    wb.defined_names["SalesMatrix"] = DefinedName("SalesMatrix", attr_text="Sales!$A$1:$XFD$1048576")
    src = tmp_path / "named.xlsx"
    wb.save(src)
    status, text, err = run("fill", src, "-o", tmp_path / "out.xlsx")
    assert status == 0 and text.endswith("filled 6 of 6 blank cells in Sales!A1:E7 (the name SalesMatrix)"), err
    wb.active["XFD1048576"] = "far"
    wb.save(src)
    status, _, err = run("fill", src, "-o", tmp_path / "out2.xlsx")
    assert status == 2 and "give --range around the matrix" in err and "\n" not in err, err
