"""Every writer of xlrec writes text as text: names from strangers' workbooks and CSV exports never become live
formulas (issue 11, formula injection), and a control character in a name never stops a write.

The writers: fill's package editor, fill through openpyxl (a sheet with a note of its own forces it), the
record sheet and the legend they write, convert (spilled tables and --values-only), pivot, and the batch
summary (CSV and JSON). Each gets the same hostile names; each output is checked with openpyxl (every string
cell has data type "s"; the only formulas are the input's own) and in the raw XML (no ``<f>`` element holds
a hostile name).
"""

import csv
import html
import json
import re
import zipfile

import openpyxl
import pytest
from conftest import CLIENTS, VALUES
from openpyxl.comments import Comment

from xlrec.cli import main
from xlrec.io.batch import BatchItem, write_summary
from xlrec.io.cells import put
from xlrec.style import LEGEND_TEXT

BELL = "Bell\x07name"  # a control character: no workbook can hold it
HOSTILE = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+1+1", "-1+1", "@SUM(1)", BELL]
# what a workbook holds for each: the same text, less the control character
STORED = {h: h.replace("\x07", "") for h in HOSTILE}
# a client whose name starts a formula too, so that client names (RECOMMEND_CLIENTS, the record) are covered
HOSTILE_CLIENT = '=HYPERLINK("http://leak","x")'
FORMULA_START = ("=", "+", "-", "@")


def hostile_matrix(ws, salespeople=HOSTILE[:5] + ["Priya"]):
    """The article's matrix on A1:E7 with hostile salesperson names and one hostile client, all written as
    text (a cell whose text begins with "=" is text, as Excel stores '=1+1)."""
    put(ws["A1"], "Bookings")
    for j, client in enumerate([HOSTILE_CLIENT] + CLIENTS[1:], start=2):
        put(ws.cell(row=1, column=j), client)
    for i, (name, row) in enumerate(zip(salespeople, VALUES), start=2):
        put(ws.cell(row=i, column=1), name)
        for j, v in enumerate(row, start=2):
            if v == v:  # not nan
                ws.cell(row=i, column=j).value = v


def formulas_in_xml(path):
    """The text of every <f> element of every worksheet part of a package."""
    found = []
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = z.read(name).decode("utf-8")
                found += [html.unescape(f) for f in re.findall(r"<f(?:\s[^>]*)?>(.*?)</f>", xml, re.S)]
    return found


def check_text_only(path, own_formulas=()):
    """``path`` holds no formula but ``own_formulas`` (the input's), every string cell is text, and every
    hostile name it holds is text. Returns the set of string values of its cells."""
    strings = set()
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    assert cell.value in own_formulas, f"{ws.title}!{cell.coordinate}: {cell.value!r} is a formula"
                elif isinstance(cell.value, str):
                    assert cell.data_type == "s", f"{ws.title}!{cell.coordinate}: {cell.value!r}"
                    strings.add(cell.value)
    for f in formulas_in_xml(path):
        assert "=" + f in own_formulas or f in own_formulas, f"<f>{f}</f> was written"
        for name in [*STORED.values(), HOSTILE_CLIENT]:
            assert name.lstrip("=") not in f, f"<f>{f}</f> holds the name {name!r}"
    return strings


@pytest.fixture
def hostile_book(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    hostile_matrix(ws)
    path = tmp_path / "hostile.xlsx"
    wb.save(path)
    return path


NAMES_IN_A_WORKBOOK = {STORED[h] for h in HOSTILE[:5]} | {HOSTILE_CLIENT}
# the record lists the salespeople and clients of predicted cells: all but the fourth row ("-1+1"), which is full
RECORD_NAMES = set(HOSTILE[:3]) | {HOSTILE[4], "Priya", HOSTILE_CLIENT, *CLIENTS[1:]}


def test_fill_package_editor(hostile_book, tmp_path):
    out = tmp_path / "filled.xlsx"
    assert main(["fill", str(hostile_book), "-o", str(out)]) == 0
    strings = check_text_only(out)
    record = openpyxl.load_workbook(out)["xlrec"]  # the record names people by their names: as text
    assert RECORD_NAMES == {c.value for row in record.iter_rows(min_row=2) for c in row if isinstance(c.value, str)}
    assert NAMES_IN_A_WORKBOOK <= strings


def test_fill_through_openpyxl(hostile_book, tmp_path):
    wb = openpyxl.load_workbook(hostile_book)
    wb["Sales"]["E2"].comment = Comment("ask her first", "Ann")  # a note of its own: written through openpyxl
    wb.save(hostile_book)
    out = tmp_path / "filled.xlsx"
    assert main(["fill", str(hostile_book), "-o", str(out)]) == 0
    strings = check_text_only(out)
    ws = openpyxl.load_workbook(out)["Sales"]
    assert ws["E2"].comment.text.startswith("ask her first")  # the openpyxl path was taken
    assert ws["A2"].value == '=HYPERLINK("http://x","y")' and ws["A2"].data_type == "s"
    record = openpyxl.load_workbook(out)["xlrec"]
    assert RECORD_NAMES == {c.value for row in record.iter_rows(min_row=2) for c in row if isinstance(c.value, str)}
    assert LEGEND_TEXT in strings  # the legend, written through cells.put too


XLREC_FORMULAS = {
    "H1": '=EXPLAIN_BOOKING(Sales!A1:E7,Sales!A3,"Capgemini")',  # neighbours' names spill
    "H10": "=SIMILAR_SALESPEOPLE(Sales!A1:E7,Sales!A2,5)",
    "H20": "=RECOMMEND_CLIENTS(Sales!A1:E7,Sales!A6)",  # row 6 ("@SUM(1)") has no booking of the hostile client
    "H30": "=FILL_MATRIX(Sales!A1:E7)",
}


@pytest.fixture
def convert_book(hostile_book):
    wb = openpyxl.load_workbook(hostile_book)
    ws = wb.create_sheet("Out")
    for address, formula in XLREC_FORMULAS.items():
        ws[address] = formula
    ws["A1"] = "=Sales!A2"  # a plain formula whose value is a hostile name (--values-only writes it)
    ws["A2"] = "=Sales!B1"  # the hostile client
    put(ws["A3"], "=1+1")  # text that begins with "=": a text cell, not a formula
    wb.save(hostile_book)
    return hostile_book


def test_convert_spilled_tables(convert_book, tmp_path, capsys):
    out = tmp_path / "converted.xlsx"
    assert main(["convert", str(convert_book), "-o", str(out)]) == 0
    capsys.readouterr()
    strings = check_text_only(out, own_formulas={"=Sales!A2", "=Sales!B1"})
    ws = openpyxl.load_workbook(out)["Out"]
    # EXPLAIN_BOOKING of row 3 ("=cmd|..."), Capgemini: its neighbours with a Capgemini booking
    explained = [ws.cell(row=r, column=8).value for r in range(1, 5)]
    assert explained[0] == "Neighbour" and set(explained[1:3]) <= NAMES_IN_A_WORKBOOK | {"Priya"}
    assert HOSTILE_CLIENT in [ws.cell(row=r, column=8).value for r in range(21, 24)]  # RECOMMEND_CLIENTS
    # FILL_MATRIX repeats the labels: every hostile name, as text
    assert ws["H30"].value == "Bookings" and ws["I30"].value == HOSTILE_CLIENT and ws["I30"].data_type == "s"
    assert [ws.cell(row=r, column=8).value for r in range(31, 37)] == [STORED[h] for h in HOSTILE[:5]] + ["Priya"]
    assert ws["A3"].value == "=1+1" and ws["A3"].data_type == "s"  # not 2, not a formula
    assert NAMES_IN_A_WORKBOOK <= strings


def test_convert_values_only(convert_book, tmp_path, capsys):
    out = tmp_path / "values.xlsx"
    assert main(["convert", str(convert_book), "-o", str(out), "--values-only"]) == 0
    capsys.readouterr()
    check_text_only(out)  # no formula at all is left
    ws = openpyxl.load_workbook(out)["Out"]
    assert (ws["A1"].value, ws["A1"].data_type) == ('=HYPERLINK("http://x","y")', "s")
    assert (ws["A2"].value, ws["A2"].data_type) == (HOSTILE_CLIENT, "s")
    assert (ws["A3"].value, ws["A3"].data_type) == ("=1+1", "s")


def test_pivot(tmp_path, capsys):
    export = tmp_path / "bookings.csv"
    with open(export, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Rep", "Account", "Amount"])
        for i, name in enumerate(HOSTILE):
            w.writerow([name, HOSTILE[-1 - i], 100 * (i + 1)])
    out = tmp_path / "matrix.xlsx"
    assert main(["pivot", str(export), "--salesperson", "Rep", "--client", "Account", "--amount", "Amount",
                 "-o", str(out)]) == 0
    capsys.readouterr()
    check_text_only(out)
    ws = openpyxl.load_workbook(out)["Bookings"]
    rows = list(ws.iter_rows(values_only=True))
    # sorted by casefolded name; the bell is gone from the name, in the row and in the column
    names = sorted(STORED.values(), key=str.casefold)
    assert [r[0] for r in rows[1:]] == names
    assert list(rows[0][1:]) == names
    got = {(r[0], c): v for r in rows[1:] for c, v in zip(rows[0][1:], r[1:]) if v is not None}
    assert got == {(STORED[s], STORED[c]): 100.0 * (i + 1) for i, (s, c) in enumerate(zip(HOSTILE, HOSTILE[::-1]))}


def test_batch_summary(tmp_path):
    items = [BatchItem(name, name, "failed", error=name) for name in HOSTILE]
    path = write_summary(items, tmp_path / "summary.csv")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for name, row in zip(HOSTILE, rows):
        escaped = "'" + name if name.startswith(FORMULA_START) else name
        assert (row["input"], row["output"], row["error"]) == (escaped, escaped, escaped)
    assert not any(v.startswith(FORMULA_START) for row in rows for v in row.values())

    path = write_summary(items, tmp_path / "summary.json")  # JSON is data, not a sheet: the names as they are
    assert [(r["input"], r["error"]) for r in json.loads(path.read_text(encoding="utf-8"))] == [
        (name, name) for name in HOSTILE]
