"""The record of what xlrec wrote, on the command line: predictions in full, by label, checked against the
cell's value; a person's own things (notes, typed bookings, formulas, number formats) kept."""

import zipfile

import numpy as np
import openpyxl
import pytest
from conftest import EXAMPLE, article_cells
from openpyxl.comments import Comment

import xlrec
from xlrec.cli import main
from xlrec.sheet.cells import matrix_from_cells
from xlrec.sheet.records import (
    Record,
    match_record,
    parse_record,
    record_rows,
    same_value,
)
from xlrec.sheet.totals import formulas_over

ALYSSA_STAPLES = (500_000 + 0.5 * 300_000) / 1.5


def fill(src, out, capsys, *args):
    assert main(["fill", str(src), "-o", str(out), *map(str, args)]) == 0
    return capsys.readouterr().out.strip()


def test_same_value_is_the_same_double_or_a_15_digit_copy():
    a = np.array([ALYSSA_STAPLES, ALYSSA_STAPLES, ALYSSA_STAPLES, 0.0, np.nan])
    b = np.array([ALYSSA_STAPLES, float(f"{ALYSSA_STAPLES:.15g}"), round(ALYSSA_STAPLES, 2), 0.0, np.nan])
    assert same_value(b, a).tolist() == [True, True, False, True, False]


def test_record_rows_read_back_by_label_in_any_order():
    m = matrix_from_cells(article_cells())
    written = np.isnan(m.values)
    values = np.where(written, np.arange(24.0).reshape(6, 4), m.values)
    rows = record_rows("Sales", m.salespeople, m.clients, values, written, {("Alyssa", "Staples")})
    record = parse_record({(r, c): v for r, row in enumerate(rows, 1) for c, v in enumerate(row, 1)
                           if v is not None})
    assert record.sheet == "Sales" and len(record) == 6 and record.people_notes == {("Alyssa", "Staples")}
    # the same bookings with the rows reversed and the columns rotated, as after moving rows and columns
    order, cols = [5, 4, 3, 2, 1, 0], [1, 2, 3, 0]
    moved = xlrec.SalesMatrix([m.salespeople[i] for i in order], [m.clients[j] for j in cols],
                              values[np.ix_(order, cols)])
    predicted, typed = match_record(moved, record)
    assert predicted.tolist() == written[np.ix_(order, cols)].tolist() and not typed.any()


def test_a_number_typed_over_a_prediction_is_a_booking_and_a_blank_is_a_blank():
    m = xlrec.SalesMatrix(["A", "B"], ["X", "Y"], np.array([[1.0, 2.0], [np.nan, 4.0]]))
    record = Record("S", ("A", "B", "Gone"), ("Y", "X"), np.array([[2.0, np.nan], [np.nan, 5.0], [1.0, 1.0]]))
    predicted, typed = match_record(m, record)
    # A/Y holds what was written; B/X was written 5 and is blank now; "Gone" left the matrix
    assert predicted.tolist() == [[False, True], [False, False]]
    assert typed.tolist() == [[False, False], [True, False]]


def test_formulas_over_predicted_cells():
    written = np.zeros((3, 3), dtype=bool)
    written[1, 2] = True  # the sheet's D3 (origin B2)
    values = {(1, 1): "=SUM(D:D)", (5, 1): "=SUM(B2:C4)", (5, 2): "=Other!D3", (6, 1): "=$D$3*2",
              (7, 1): '="D3"', (8, 1): "=LOG10(D2)", (9, 1): "='My sheet'!D3", (10, 1): "=SUM(3:3)"}
    assert formulas_over(values, "My sheet", (2, 2), written) == [(1, 1), (6, 1), (9, 1), (10, 1)]


def test_predictions_are_stored_in_full_and_shown_in_the_column_s_format(tmp_path, capsys):
    # a matrix kept in millions: 0.5 is $500,000
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in article_cells():
        ws.append([v / 1e6 if isinstance(v, (int, float)) else v for v in row])
    for c in "BCD":  # Google, Capgemini, ExxonMobil formatted as the owner likes; Staples left General
        for r in range(2, 8):
            ws[f"{c}{r}"].number_format = '0.000 "m"'
    src = tmp_path / "millions.xlsx"
    wb.save(src)
    out = tmp_path / "out.xlsx"
    fill(src, out, capsys)
    ws = openpyxl.load_workbook(out).active
    assert ws["E2"].value == pytest.approx(ALYSSA_STAPLES / 1e6, rel=1e-15)  # 0.4333..., not 0.43
    assert ws["E2"].number_format == '0.000 "m"'  # Staples' bookings have none: Alyssa's row's
    assert ws["B6"].number_format == '0.000 "m"'  # Tom / Google: Google's format
    assert ws["E2"].comment.text.startswith("xlrec prediction: 0.4333 (")


def test_the_openpyxl_writer_uses_the_column_format_too(tmp_path, capsys):
    wb = openpyxl.load_workbook(EXAMPLE)
    wb.active["A10"].comment = Comment("a note of the owner's", "Dana")  # the sheet is written by openpyxl
    for r in range(2, 8):
        wb.active[f"B{r}"].number_format = '"$"#,##0'
    src = tmp_path / "in.xlsx"
    wb.save(src)
    fill(src, tmp_path / "out.xlsx", capsys)
    ws = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert ws["B6"].number_format == '"$"#,##0' and ws["E2"].value == ALYSSA_STAPLES
    assert ws["A10"].comment.text == "a note of the owner's"


@pytest.mark.parametrize("writer", ["package", "openpyxl"])
def test_labels_that_look_like_formulas_are_recorded_as_text(writer, tmp_path, capsys):
    cells = article_cells()
    cells[1][0] = "=HYPERLINK(\"http://x\")"
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, row in enumerate(cells, 1):
        for c, v in enumerate(row, 1):
            cell = ws.cell(row=r, column=c, value=v)
            if isinstance(v, str):
                cell.data_type = "s"
    if writer == "openpyxl":
        ws["H20"].comment = Comment("x", "y")
    src = tmp_path / "in.xlsx"
    wb.save(src)
    out = tmp_path / "out.xlsx"
    fill(src, out, capsys)
    with zipfile.ZipFile(out) as z:
        record_xml = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet") and n.endswith(".xml")]
    assert not any(b"<f>" in x and b"HYPERLINK" in x for x in record_xml)
    record = openpyxl.load_workbook(out)["xlrec"]
    assert record["A3"].value == "=HYPERLINK(\"http://x\")" and record["A3"].data_type == "s"


def test_a_workbook_filled_by_xlrec_0_1_is_filled_again_from_bookings_only(tmp_path, capsys):
    # 0.1 kept no record: its predictions are the cells with xlrec's note that still hold the note's amount
    wb = openpyxl.load_workbook(EXAMPLE)
    ws = wb.active
    ws["E2"] = 433_333.33
    ws["E2"].comment = Comment("xlrec prediction: 433,333.33 (k=2, manhattan distance, rank weights, by "
                               "salesperson)", "xlrec")
    ws["B6"] = 999_999  # typed over 0.1's prediction of 500,000
    ws["B6"].comment = Comment("xlrec prediction: 500,000 (k=2, manhattan distance, rank weights)", "xlrec")
    src = tmp_path / "old.xlsx"
    wb.save(src)
    assert fill(src, tmp_path / "out.xlsx", capsys).endswith(
        "filled 5 of 5 blank cells in Sales!A1:E7; 1 cell typed over a prediction kept as booking")
    ws = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert ws["E2"].value == ALYSSA_STAPLES and ws["B6"].value == 999_999 and ws["B6"].comment is None


def test_a_second_fill_keeps_a_booking_typed_over_a_prediction(tmp_path, capsys):
    f1, f2 = tmp_path / "f1.xlsx", tmp_path / "f2.xlsx"
    fill(EXAMPLE, f1, capsys)
    wb = openpyxl.load_workbook(f1)
    wb.active["E2"] = 1_000  # Excel keeps the colour and the note
    wb.save(f1)
    assert fill(f1, f2, capsys).endswith("filled 5 of 5 blank cells in Sales!A1:E7; 1 cell typed over a "
                                          "prediction kept as booking")
    ws = openpyxl.load_workbook(f2).active
    assert ws["E2"].value == 1_000 and ws["E2"].comment is None and ws["E2"].fill.fill_type is None
    assert main(["predict", str(f2), "Alyssa", "Staples"]) == 0
    assert capsys.readouterr().out.strip() == "Alyssa / Staples: 1,000 (an actual booking, not a prediction)"


def test_totals_over_predictions_are_named_and_left_alone(tmp_path, capsys):
    wb = openpyxl.load_workbook(EXAMPLE)
    ws = wb.active
    ws["F1"], ws["F2"], ws["F3"] = "Total", "=SUM(B2:E2)", "=SUM(B3:E3)"  # Brandon's row has a blank too
    ws["G3"] = "=SUM(B4:D4)"  # Mike's row, but not ExxonMobil... D4 is his blank: counted
    src = tmp_path / "in.xlsx"
    wb.save(src)
    out = tmp_path / "out.xlsx"
    line = fill(src, out, capsys, "--range", "A1:E7")
    assert line.endswith("; formulas F2, F3, G3 now add up predicted cells (left as they are)")
    ws = openpyxl.load_workbook(out).active
    assert (ws["F2"].value, ws["F3"].value, ws["G3"].value) == ("=SUM(B2:E2)", "=SUM(B3:E3)", "=SUM(B4:D4)")
    legend = next(c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str) and
                  c.value.startswith("k=2"))
    assert "formulas F2, F3, G3 now add up predicted cells" in legend


@pytest.mark.parametrize("writer", ["package", "openpyxl"])
def test_all_sheets_fills_every_matrix_and_keeps_a_record_of_each(writer, tmp_path, capsys):
    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "Cover"
    cover["A1"] = "Bookings by quarter"
    q2 = [[v * 2 if isinstance(v, (int, float)) else v for v in row] for row in article_cells()]
    for title, cells in [("Q1", article_cells()), ("Q2", q2)]:
        ws = wb.create_sheet(title)
        for row in cells:
            ws.append(row)
    if writer == "openpyxl":
        wb["Q2"]["H1"].comment = Comment("checked by Dana", "Dana")
    src = tmp_path / "quarters.xlsx"
    wb.save(src)
    f1, f2 = tmp_path / "f1.xlsx", tmp_path / "f2.xlsx"
    lines = fill(src, f1, capsys, "--all-sheets").splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == [
        "filled 6 of 6 blank cells in Q1!A1:E7", "filled 6 of 6 blank cells in Q2!A1:E7",
        "left alone, no sales matrix on: Cover"]
    out = openpyxl.load_workbook(f1)
    assert [ws.sheet_state for ws in out.worksheets] == ["visible"] * 3 + ["hidden"] * 2
    assert out["Q1"]["E2"].value == ALYSSA_STAPLES and out["Q2"]["E2"].value == 2 * ALYSSA_STAPLES
    # filled again: every sheet's predictions are known as predictions
    out["Q2"]["E2"] = 1.0
    out.save(f1)
    assert [line.split(": ", 1)[1] for line in fill(f1, f2, capsys, "--all-sheets").splitlines()[:2]] == [
        "filled 6 of 6 blank cells in Q1!A1:E7",
        "filled 5 of 5 blank cells in Q2!A1:E7; 1 cell typed over a prediction kept as booking"]


def test_above_the_note_limit_cells_are_marked_by_colour_and_record_in_column_order(tmp_path, capsys, monkeypatch):
    from xlrec.io import workbook

    monkeypatch.setattr(workbook, "NOTE_LIMIT", 5)  # the example has 6 blanks
    out = tmp_path / "out.xlsx"
    line = fill(EXAMPLE, out, capsys)
    assert line.endswith("; no note on each of the 6 predicted cells (more than 5 blanks): the colour marks them, "
                         "'xlrec predict' explains any one")
    with zipfile.ZipFile(out) as z:
        assert not any("comments" in n for n in z.namelist())
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    # every row's cells in column order, as Excel expects
    import re

    for row in re.findall(r"<row [^>]*>(.*?)</row>", sheet):
        cols = [openpyxl.utils.column_index_from_string(c) for c in re.findall(r'<c r="([A-Z]+)\d+"', row)]
        assert cols == sorted(cols), row
    ws = openpyxl.load_workbook(out).active
    assert ws["E2"].value == ALYSSA_STAPLES and ws["E2"].comment is None and ws["E2"].fill.fgColor.rgb == "FFFCE4D6"
    # the same as the openpyxl writer gives
    monkeypatch.setattr(workbook, "_package", lambda path: None)
    slow = tmp_path / "slow.xlsx"
    fill(EXAMPLE, slow, capsys)
    a, b = openpyxl.load_workbook(out).active, openpyxl.load_workbook(slow).active
    for row_a, row_b in zip(a.iter_rows(), b.iter_rows()):
        for x, y in zip(row_a, row_b):
            assert (x.value, x.number_format, x.fill.fgColor.rgb, x.comment) == \
                (y.value, y.number_format, y.fill.fgColor.rgb, y.comment), x.coordinate
    # and a second fill knows them as predictions
    assert fill(out, tmp_path / "again.xlsx", capsys).split(": ", 1)[1].startswith("filled 6 of 6 blank cells")


def test_batch_fills_every_sheet(tmp_path, capsys):
    wb = openpyxl.Workbook()
    wb.active.title = "Q1"
    for row in article_cells():
        wb.active.append(row)
    ws = wb.create_sheet("Q2")
    for row in article_cells():
        ws.append(row)
    folder = tmp_path / "in"
    folder.mkdir()
    wb.save(folder / "book.xlsx")
    assert main(["batch", str(folder), "-o", str(tmp_path / "out"), "--all-sheets", "-q"]) == 0
    assert "(12 cells)" in capsys.readouterr().out
    out = openpyxl.load_workbook(tmp_path / "out" / "book.xlsx")
    assert out["Q1"]["E2"].value == out["Q2"]["E2"].value == ALYSSA_STAPLES
