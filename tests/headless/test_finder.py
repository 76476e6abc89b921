"""Finding the sales matrix on a sheet, or saying why not: empty rows and columns bridged or skipped, hidden
rows and columns said, formulas read as the values a spreadsheet program stored, and where the finder
guesses, the message says what it guessed and how to override it.

Each test runs through both readers and writers where it matters: the package reader (a plain sheet) and
openpyxl (a sheet with a note of its own)."""

import datetime
import re
import zipfile

import openpyxl
import pytest
from openpyxl.comments import Comment

from xlrec.cli import main


def write_book(path, rows, *, title="Sheet", via="package", hidden_rows=(), hidden_cols=(), sheets=None):
    """A workbook with ``rows`` (lists, None for an empty cell) from A1 on the active sheet ``title``.

    ``via="openpyxl"`` adds a note of the user's own far from the matrix, so that xlrec reads and writes the
    sheet through openpyxl; ``sheets`` are further sheets ({title: rows}) after the active one.
    """
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r, row in enumerate(rows, 1):
        for c, v in enumerate(row, 1):
            if v is not None:
                ws.cell(row=r, column=c, value=v)
    if via == "openpyxl":
        ws["Z50"] = "see notes"
        ws["Z50"].comment = Comment("the user's own note", "someone")
    for r in hidden_rows:
        ws.row_dimensions[r].hidden = True
    for letter in hidden_cols:
        ws.column_dimensions[letter].hidden = True
    for name, more in (sheets or {}).items():
        other = wb.create_sheet(name)
        for r, row in enumerate(more, 1):
            for c, v in enumerate(row, 1):
                if v is not None:
                    other.cell(row=r, column=c, value=v)
    wb.save(path)
    return path


def store_values(path, stored):
    """Give formula cells the value a spreadsheet program stores when it saves (``{"C2": "12500"}``):
    openpyxl writes formulas with an empty ``<v/>``."""
    with zipfile.ZipFile(path) as z:
        parts = {info.filename: z.read(info) for info in z.infolist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, text in stored.items():
        xml, n = re.subn(rf'(<c r="{ref}"[^>]*>\s*<f>[^<]*</f>\s*)<v\s*/>', rf"\g<1><v>{text}</v>", xml)
        assert n == 1, ref
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def fill(args, capsys):
    status = main(["fill", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out.strip(), err.strip()


VIA = pytest.mark.parametrize("via", ["package", "openpyxl"])

# With k=1 and the manhattan distance, every prediction is the booking of the one nearest salesperson:
#   Brandon/Zeta: Alyssa is at |100-100| + |200-200| = 0 (Priya 20, Tom 400, Mike 1,100): 300
#   Tom/Acme: Mike is at |500-500| + |800-700| = 100 (Brandon 400, Priya 860, Alyssa 900): 900
GAP_ROW = [
    ["Bookings", "Google", "Acme", "Zeta"],
    ["Alyssa", 100, 200, 300],
    ["Brandon", 100, 200, None],
    ["Mike", 500, 900, 700],
    [None, None, None, None],  # row 5: empty
    ["Tom", 500, None, 800],
    ["Priya", 110, 210, 330],
]


# -- 1. an empty row or column inside the matrix ------------------------------------------------------------


@VIA
def test_an_empty_row_is_bridged_and_said(via, tmp_path, capsys):
    book = write_book(tmp_path / "gap.xlsx", GAP_ROW, via=via)
    out = tmp_path / "out.xlsx"
    status, text, err = fill([book, "-o", out, "--k", "1"], capsys)
    assert status == 0, err
    assert text == f"{out}: filled 2 of 2 blank cells in Sheet!A1:D7; bridged the empty row 5"
    ws = openpyxl.load_workbook(out)["Sheet"]
    assert ws["D3"].value == 300 and ws["C6"].value == 900  # Brandon/Zeta, Tom/Acme
    assert all(ws.cell(row=5, column=c).value is None for c in range(1, 5))  # row 5 is no salesperson
    assert all(ws.cell(row=5, column=c).comment is None for c in range(1, 5))


def test_predict_across_a_bridged_row(tmp_path, capsys):
    book = write_book(tmp_path / "gap.xlsx", GAP_ROW)
    assert main(["predict", str(book), "Tom", "Acme", "--k", "1"]) == 0
    assert capsys.readouterr().out.startswith("Tom / Acme: 900 predicted")


@VIA
def test_an_empty_column_is_bridged_and_said(via, tmp_path, capsys):
    rows = [[*row[:3], None, row[3]] for row in GAP_ROW[:4] + GAP_ROW[5:]]  # column D empty, Zeta in E
    book = write_book(tmp_path / "gap.xlsx", rows, via=via)
    out = tmp_path / "out.xlsx"
    status, text, err = fill([book, "-o", out, "--k", "1"], capsys)
    assert status == 0, err
    assert text == f"{out}: filled 2 of 2 blank cells in Sheet!A1:E6; bridged the empty column D"
    ws = openpyxl.load_workbook(out)["Sheet"]
    assert ws["E3"].value == 300 and ws["C5"].value == 900
    assert all(ws.cell(row=r, column=4).value is None for r in range(1, 7))
    assert ws["G1"].value is not None  # the legend, after an empty column beyond the matrix


def test_a_second_table_below_is_not_joined(tmp_path, capsys):
    # a header of its own below the empty row: another table, not the matrix's continuation
    rows = GAP_ROW[:4] + [[None] * 4, ["Q2", "Google", "Acme", "Zeta"], ["Tom", 500, None, 800]]
    book = write_book(tmp_path / "two.xlsx", rows)
    out = tmp_path / "out.xlsx"
    status, text, err = fill([book, "-o", out], capsys)
    assert status == 0, err
    assert text == f"{out}: filled 1 of 1 blank cells in Sheet!A1:D4"


@VIA
def test_a_range_over_an_empty_row_skips_it(via, tmp_path, capsys):
    book = write_book(tmp_path / "gap.xlsx", GAP_ROW, via=via)
    out = tmp_path / "out.xlsx"
    status, text, err = fill([book, "-o", out, "--k", "1", "--range", "A1:D7"], capsys)
    assert status == 0, err
    assert text == f"{out}: filled 2 of 2 blank cells in Sheet!A1:D7 (the range given); skipped the empty row 5"
    ws = openpyxl.load_workbook(out)["Sheet"]
    assert ws["C6"].value == 900 and all(ws.cell(row=5, column=c).value is None for c in range(1, 5))


def test_a_cell_after_a_gap_is_named_by_its_own_address(tmp_path, capsys):
    rows = [list(r) for r in GAP_ROW]
    rows[6][2] = "n/a"  # Priya / Acme, in C7
    book = write_book(tmp_path / "gap.xlsx", rows)
    status, _, err = fill([book, "-o", tmp_path / "out.xlsx"], capsys)
    assert status == 2
    assert err.startswith("xlrec: error: Sheet!C7: 'n/a' is not a number")


# -- 2. hidden rows and columns --------------------------------------------------------------------------------


@VIA
def test_hidden_rows_and_columns_are_used_and_said(via, tmp_path, capsys):
    book = write_book(tmp_path / "hidden.xlsx", GAP_ROW[:4] + GAP_ROW[5:], via=via, hidden_rows=(3, 4),
                      hidden_cols=("C",))
    out = tmp_path / "out.xlsx"
    status, text, err = fill([book, "-o", out, "--k", "1"], capsys)
    assert status == 0, err
    assert text == f"{out}: filled 2 of 2 blank cells in Sheet!A1:D6; uses hidden rows 3-4 and column C"
    assert openpyxl.load_workbook(out)["Sheet"]["D3"].value == 300  # Brandon, in a hidden row, is filled


# -- 3. formulas with a value stored by a spreadsheet program ------------------------------------------------

# Alyssa's Zeta booking is =250+50 (300 when computed): Brandon/Zeta, by Alyssa at distance 0, is 300.
FORMULA_ROWS = [
    ["Bookings", "Google", "Acme", "Zeta"],
    ["Alyssa", 100, 200, "=250+50"],
    ["Brandon", 100, 200, None],
    ["Mike", 500, 900, 700],
]


@VIA
def test_a_formula_reads_as_its_stored_value_and_stays_a_formula(via, tmp_path, capsys):
    book = store_values(write_book(tmp_path / "f.xlsx", FORMULA_ROWS, via=via), {"D2": "300"})
    out = tmp_path / "out.xlsx"
    status, text, err = fill([book, "-o", out, "--k", "1"], capsys)
    assert status == 0, err
    ws = openpyxl.load_workbook(out)["Sheet"]
    assert ws["D3"].value == 300
    assert ws["D2"].value == "=250+50"  # the formula is left as it is


def test_predict_reads_a_stored_value(tmp_path, capsys):
    book = store_values(write_book(tmp_path / "f.xlsx", FORMULA_ROWS), {"D2": "300"})
    assert main(["predict", str(book), "Brandon", "Zeta", "--k", "1"]) == 0
    assert capsys.readouterr().out.startswith("Brandon / Zeta: 300 predicted")


@VIA
def test_a_formula_without_a_stored_value_says_how_to_get_one(via, tmp_path, capsys):
    book = write_book(tmp_path / "f.xlsx", FORMULA_ROWS, via=via)  # openpyxl computes no formula
    status, _, err = fill([book, "-o", tmp_path / "out.xlsx"], capsys)
    assert status == 2
    assert re.match(r"xlrec: error: Sheet!D2: holds the formula '=250\+50' and no value computed from it "
                    r"\(.*open and save it in Excel or LibreOffice, or paste values", err), err
    assert "\n" not in err


@VIA
def test_sum_totals_are_left_out_even_without_a_total_label(via, tmp_path, capsys):
    rows = [*FORMULA_ROWS[:1], ["Alyssa", 100, 200, 300], *FORMULA_ROWS[2:],
            ["All", "=SUM(B2:B4)", "=SUM(C2:C4)", "=SUM(D2:D4)"]]
    book = store_values(write_book(tmp_path / "t.xlsx", rows, via=via), {"B5": "700", "C5": "1300", "D5": "1000"})
    out = tmp_path / "out.xlsx"
    status, text, err = fill([book, "-o", out, "--k", "1"], capsys)
    assert status == 0, err
    # the totals are left out of the matrix, and the one over the predicted cell is named
    assert text == (f"{out}: filled 1 of 1 blank cells in Sheet!A1:D4; formula D5 now adds up predicted cells "
                    "(left as they are)")


# -- 4. where the finder guesses, the message says what it guessed and how to override it -------------------


@VIA
def test_a_cover_sheet_names_the_sheets_that_hold_a_matrix(via, tmp_path, capsys):
    cover = [["Sales report 2024"], [None], ["This workbook holds the bookings of the sales team by client."]]
    book = write_book(tmp_path / "cover.xlsx", cover, title="Cover", via=via,
                      sheets={"Notes": [["see Cover"]], "Sales 2024": GAP_ROW[:4]})
    status, _, err = fill([book, "-o", tmp_path / "out.xlsx"], capsys)
    assert status == 2
    assert err.startswith("xlrec: error: sheet 'Cover', the active sheet, holds no sales matrix (")
    assert err.endswith("sheets that look like they hold one: 'Sales 2024' (pick one with --sheet NAME, "
                        "e.g. --sheet 'Sales 2024')")
    status, _, err = fill([book, "-o", tmp_path / "out.xlsx", "--sheet", "Sales 2024"], capsys)
    assert status == 0, err


@VIA
def test_a_column_of_dates_among_bookings_is_named_as_dates(via, tmp_path, capsys):
    rows = [["Bookings", "Google", "Signed", "Zeta"],
            ["Alyssa", 100, datetime.datetime(2024, 3, 15), 300],
            ["Brandon", 100, datetime.datetime(2024, 4, 1), None]]
    book = write_book(tmp_path / "d.xlsx", rows, via=via)
    status, _, err = fill([book, "-o", tmp_path / "out.xlsx"], capsys)
    assert status == 2
    assert err.startswith("xlrec: error: Sheet!C2: holds the date or time 2024-03-15, not a booking (")
    assert "--range" in err and "datetime" not in err


def test_dates_as_client_names_are_fine(tmp_path, capsys):
    rows = [["Bookings", datetime.datetime(2024, 1, 1), datetime.datetime(2024, 2, 1)],
            ["Alyssa", 100, 200], ["Brandon", 100, None]]
    book = write_book(tmp_path / "d.xlsx", rows)
    assert main(["predict", str(book), "Brandon", "2024-02-01", "--k", "1"]) == 0
    assert capsys.readouterr().out.startswith("Brandon / 2024-02-01: 200 predicted")


@VIA
def test_long_cell_text_is_cut_in_the_message(via, tmp_path, capsys):
    long = "see the contract signed in March with the regional office for the amounts"
    rows = [list(r) for r in FORMULA_ROWS]
    rows[1][3] = long
    book = write_book(tmp_path / "long.xlsx", rows, via=via)
    status, _, err = fill([book, "-o", tmp_path / "out.xlsx"], capsys)
    assert status == 2
    assert err.startswith(f"xlrec: error: Sheet!D2: '{long[:39]}…' is not a number")
