"""Hostile input to convert and pivot (issue 11): one clear line, never a traceback, in bounded time."""

import zipfile

import openpyxl
import pytest

from xlrec.cli import main

ALYSSA_STAPLES = 433_333.33333333333  # (500,000 + 0.5 x 300,000) / 1.5, the article's rank-weighted k=2
N = 5_000
M = 1_500  # for the circle and the failing chain: deeper than Python's recursion limit, quicker than N


def chain_book(path, example_path, n=N):
    """The example matrix, and on sheet Chain: A1 = 1, A2 = A1+1, ..., An = A(n-1)+1, and B1 an xlrec formula
    that adds An."""
    wb = openpyxl.load_workbook(example_path)
    ws = wb.create_sheet("Chain")
    ws["A1"] = 1
    for r in range(2, n + 1):
        ws.cell(row=r, column=1).value = f"=A{r - 1}+1"
    ws["B1"] = f'=PREDICT_BOOKING(Sales!A1:E7,"Alyssa","Staples")+A{n}'
    wb.save(path)
    return path


def test_convert_a_chain_of_5000_formulas(tmp_path, example_path, capsys):
    book = chain_book(tmp_path / "chain.xlsx", example_path)
    out = tmp_path / "out.xlsx"
    assert main(["convert", str(book), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"{out}: converted 1 formula cells to values"
    ws = openpyxl.load_workbook(out)["Chain"]
    assert ws["B1"].value == pytest.approx(ALYSSA_STAPLES + N)  # A5000 = 5000
    assert ws["A5000"].value == "=A4999+1"  # not an xlrec formula: stays

    assert main(["convert", str(book), "-o", str(tmp_path / "values.xlsx"), "--values-only"]) == 0
    ws = openpyxl.load_workbook(tmp_path / "values.xlsx")["Chain"]
    assert [ws.cell(row=r, column=1).value for r in (1, 2, 4999, 5000)] == [1, 2, 4999, 5000]


def test_convert_a_circle_of_1500_formulas(tmp_path, example_path, capsys):
    """A1 = A1500+1 closes the chain into a circle: the xlrec formula on it is reported in one line, naming
    the cell, and left as it was."""
    book = chain_book(tmp_path / "circle.xlsx", example_path, M)
    wb = openpyxl.load_workbook(book)
    wb["Chain"]["A1"] = f"=A{M}+1"
    wb.save(book)
    out = tmp_path / "out.xlsx"
    assert main(["convert", str(book), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f'xlrec: Chain!B1: =PREDICT_BOOKING(Sales!A1:E7,"Alyssa","Staples")+A{M} was left as a formula: '
                   f"circular reference through Chain!A{M}"]
    assert openpyxl.load_workbook(out)["Chain"]["B1"].value.startswith("=PREDICT_BOOKING")


def test_convert_a_chain_that_fails_at_its_start(tmp_path, example_path, capsys):
    """A1 holds a function convert does not evaluate: every formula along the chain fails for that reason,
    said once, not nested 1,500 times."""
    book = chain_book(tmp_path / "chain.xlsx", example_path, M)
    wb = openpyxl.load_workbook(book)
    wb["Chain"]["A1"] = '=VLOOKUP("x",Sales!A1:B2,2,FALSE)'
    wb.save(book)
    assert main(["convert", str(book), "-o", str(tmp_path / "out.xlsx")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f'xlrec: Chain!B1: =PREDICT_BOOKING(Sales!A1:E7,"Alyssa","Staples")+A{M} was left as a formula: '
                   f"it uses Chain!A{M}, which could not be evaluated (through Chain!A1: the function VLOOKUP is "
                   "not one xlrec convert evaluates) and has no saved value"]


# --- pivot on a file that is not a workbook, or not a safe one

def pivot(path, tmp_path):
    return main(["pivot", str(path), "--salesperson", "Rep", "--client", "Account", "--amount", "Amount",
                 "-o", str(tmp_path / "matrix.xlsx")])


def good_export(path):
    wb = openpyxl.Workbook()
    wb.active.append(["Rep", "Account", "Amount"])
    wb.active.append(["Alyssa", "Google", 500_000])
    wb.save(path)
    return path


def rewrite(src, dst, change):
    """Copy the package ``src`` to ``dst`` with ``change(name, data)`` giving each part's new data (None: left out)."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w") as b:
        for info in a.infolist():
            data = change(info.filename, a.read(info.filename))
            if data is not None:
                b.writestr(info, data)
    return dst


LAUGHS = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10)) + b"]>")


def with_laughs(name, data):
    if name != "xl/worksheets/sheet1.xml":
        return data
    body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
    return LAUGHS + body.replace(b"<v>500000</v>", b"<v>&lol9;</v>", 1)


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("Rep,Account,Amount\nAlyssa,Google,1\n") and p,
     "is not an Excel workbook (the file is not a zip package; is it corrupt, or an old .xls renamed?)"),
    (lambda p: rewrite(good_export(p.with_name("g.xlsx")), p, lambda n, d: d if n.startswith("docProps") else None),
     "is a zip file but not an Excel workbook (no xl/workbook part)"),
    (lambda p: rewrite(good_export(p.with_name("g.xlsx")), p, with_laughs),
     "cannot be read as a workbook: its part xl/worksheets/sheet1.xml declares a document type (DOCTYPE)"),
    (lambda p: p.write_bytes(good_export(p.with_name("g.xlsx")).read_bytes()[:-100]) and p,
     "is not an Excel workbook (the file is not a zip package; is it corrupt, or an old .xls renamed?)"),
    (lambda p: rewrite(good_export(p.with_name("g.xlsx")), p, lambda n, d: None if n.endswith("sheet1.xml") else d),
     "holds no worksheet to read the bookings from (a damaged workbook?); open and save it in Excel or "
     "LibreOffice, or export the bookings as CSV"),
], ids=["text", "zip-without-workbook", "billion-laughs", "truncated", "no-sheet-part"])
def test_pivot_refuses_what_is_not_a_safe_workbook(tmp_path, capsys, make, message):
    path = tmp_path / "bookings.xlsx"
    make(path)
    assert pivot(path, tmp_path) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"xlrec: error: {path}: {message}")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "matrix.xlsx").exists()


def test_pivot_reads_a_good_workbook(tmp_path, capsys):
    """The checks let a plain export through (and the laughs test above differs from it in the DOCTYPE only)."""
    assert pivot(good_export(tmp_path / "bookings.xlsx"), tmp_path) == 0
    assert capsys.readouterr().out.strip().endswith("1 booking lines; Bookings: 1 x 1 matrix, total 500,000.00")
