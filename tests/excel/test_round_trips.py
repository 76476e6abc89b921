"""The command line and the Fill blanks button keep one record of what xlrec wrote: a workbook goes from one to
the other, with typing, inserted and deleted rows and columns, and clearing in between, and a prediction is
never taken for a booking, nor a booking for a prediction.

The button runs on xlwings' own workbook object built from the add-in's JSON payload; its actions are applied
to the workbook file here as Excel would apply them (values, colours, notes, a hidden sheet)."""

import openpyxl
import pytest
import xlwings as xw
from conftest import EXAMPLE
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

import xlrec
from xlrec.cli import main
from xlrec.excel.macros import clear_predictions
from xlrec.sheet.cells import matrix_from_cells
from xlrec.style import PREDICTED_COLOR

ORANGE = PREDICTED_COLOR.lstrip("#").upper()


def payload(wb, selection):
    sheets = []
    for ws in wb.worksheets:
        values = [["" if v is None else v for v in row]
                  for row in ws.iter_rows(min_row=1, min_col=1, max_row=ws.max_row, max_col=ws.max_column,
                                          values_only=True)]
        notes = [{"address": f"${c.column_letter}${c.row}"} for row in ws.iter_rows() for c in row if c.comment]
        sheets.append({"name": ws.title, "values": values, "pictures": [], "tables": [], "notes": notes})
    return {"client": "Office.js", "version": xw.__version__,
            "book": {"name": "sales.xlsx", "active_sheet_index": 0, "selection": selection},
            "names": [], "sheets": sheets}


def apply(actions, wb):
    """What Excel does with the actions the button sends back."""
    for a in actions:
        f = a["func"]
        ws = wb.worksheets[a["sheet_position"]] if a["sheet_position"] is not None else None
        at = (a["start_row"] or 0) + 1, (a["start_column"] or 0) + 1
        if f == "setValues":
            for i, row in enumerate(a["values"]):
                for j, v in enumerate(row):
                    if isinstance(v, str) and v.startswith("'"):  # Excel's mark of text: not part of the value
                        v = v[1:]
                    ws.cell(row=at[0] + i, column=at[1] + j).value = None if v == "" else v
        elif f == "setRangeColor":
            for r in range(a["row_count"]):
                for c in range(a["column_count"]):
                    color = a["args"][0]
                    ws.cell(row=at[0] + r, column=at[1] + c).fill = (
                        PatternFill("solid", fgColor="FF" + color.lstrip("#")) if color else PatternFill())
        elif f == "rangeClearContents":
            for r in range(a["row_count"]):
                for c in range(a["column_count"]):
                    ws.cell(row=at[0] + r, column=at[1] + c).value = None
        elif f == "addNote":
            ws[a["args"][0].replace("$", "")].comment = Comment(a["args"][1], "xlrec")
        elif f == "setNoteText":
            ws[a["args"][0].replace("$", "")].comment = Comment(a["args"][1], "xlrec")
        elif f == "deleteNote":
            ws[a["args"][0].replace("$", "")].comment = None
        elif f == "addSheet":
            wb.create_sheet(a["args"][1], a["args"][0])
        elif f == "setSheetVisibility":
            ws.sheet_state = a["args"][0].lower()
        elif f != "alert":
            raise AssertionError(f"an action this test does not apply: {a}")


def button(path, out, selection="B2", clear=False):
    wb = openpyxl.load_workbook(path)
    book = xw.Book(json=payload(wb, selection))
    if clear:
        message = clear_predictions(book)
    else:
        book.set_mock_caller()
        message = xlrec.main()
    apply(book.json()["actions"], wb)
    wb.save(out)
    return message


def cli(*args, capsys):
    assert main(list(map(str, args))) == 0
    return capsys.readouterr().out.strip()


def orange(cell):
    return str(cell.fill.fgColor.rgb).upper().endswith(ORANGE) and cell.fill.fill_type == "solid"


def grid(path, sheet="Sales"):
    ws = openpyxl.load_workbook(path)[sheet]
    names = {ws.cell(row=r, column=1).value: r for r in range(2, ws.max_row + 1) if ws.cell(row=r, column=1).value}
    clients = {ws.cell(row=1, column=c).value: c for c in range(2, ws.max_column + 1)
               if ws.cell(row=1, column=c).value}
    return ws, lambda who, client: ws.cell(row=names[who], column=clients[client])


ALYSSA_STAPLES = (500_000 + 0.5 * 300_000) / 1.5


def test_cli_then_button_then_cli_with_typing_inserted_rows_and_clearing(tmp_path, capsys):
    f1 = tmp_path / "f1.xlsx"
    assert cli("fill", EXAMPLE, "-o", f1, capsys=capsys).endswith("filled 6 of 6 blank cells in Sales!A1:E7")

    # In Excel: type a real booking over Alyssa / Staples (Excel keeps the colour and the note), and insert a
    # salesperson above Tom whose Google booking is exactly what xlrec wrote for Tom / Google: at Tom's old
    # address, B6, that equal number is a booking, not a prediction.
    wb = openpyxl.load_workbook(f1)
    ws = wb["Sales"]
    tom_google = ws["B6"].value
    assert ws["A6"].value == "Tom" and orange(ws["B6"])
    ws["E2"] = 450_000
    ws.insert_rows(6)
    for c, v in enumerate(["Zoe", tom_google, 300_000, None, 250_000], 1):
        ws.cell(row=6, column=c).value = v
    t1 = tmp_path / "t1.xlsx"
    wb.save(t1)

    # The button sees the command line's predictions as predictions, by label: the five left, and Zoe's blank
    message = button(t1, tmp_path / "b1.xlsx", selection="C4")
    assert message == ("xlrec: filled 6 of 6 blank cells in Sales!A1:E8; 1 cell typed over a prediction kept "
                       "as booking")
    ws, at = grid(tmp_path / "b1.xlsx")
    assert at("Alyssa", "Staples").value == 450_000 and not orange(at("Alyssa", "Staples"))
    assert at("Alyssa", "Staples").comment is None  # xlrec's note is gone with its prediction
    assert at("Zoe", "Google").value == tom_google and not orange(at("Zoe", "Google"))
    assert orange(at("Tom", "Google")) and orange(at("Zoe", "ExxonMobil"))

    # ... and the command line sees the button's: a second fill predicts the same cells from the same bookings
    f2 = tmp_path / "f2.xlsx"
    assert cli("fill", tmp_path / "b1.xlsx", "-o", f2, capsys=capsys).endswith("filled 6 of 6 blank cells in "
                                                                                "Sales!A1:E8")
    _, at2 = grid(f2)
    for who, client in [("Tom", "Google"), ("Zoe", "ExxonMobil"), ("Priya", "Staples")]:
        assert at2(who, client).value == pytest.approx(at(who, client).value, rel=1e-15)
    explained = cli("predict", f2, "Alyssa", "Staples", capsys=capsys)
    assert explained == "Alyssa / Staples: 450,000 (an actual booking, not a prediction)"
    # Zoe's booking counts: Alyssa's Staples (450,000) and Zoe's Google equal to a prediction are bookings
    bookings = matrix_from_cells(
        [["", "Google", "Capgemini", "ExxonMobil", "Staples"],
         ["Alyssa", 500_000, 400_000, 400_000, 450_000], ["Brandon", 500_000, None, 200_000, 300_000],
         ["Mike", 500_000, 400_000, None, 500_000], ["Jessica", 200_000, 100_000, 300_000, 400_000],
         ["Zoe", tom_google, 300_000, None, 250_000], ["Tom", None, 700_000, 100_000, 200_000],
         ["Priya", 300_000, None, 700_000, None]])
    expected = xlrec.fill(bookings)
    assert at2("Priya", "Staples").value == pytest.approx(expected.values[6, 3], rel=1e-12)

    # Delete the Capgemini column in Excel, then Clear predictions: exactly the predictions go, by label
    wb = openpyxl.load_workbook(f2)
    wb["Sales"].delete_cols(3)
    t2 = tmp_path / "t2.xlsx"
    wb.save(t2)
    message = button(t2, tmp_path / "cleared.xlsx", clear=True)
    assert message == "xlrec: removed 4 predicted cells from Sales"  # Capgemini's two went with the column
    ws, at = grid(tmp_path / "cleared.xlsx")
    blanks = {(who, client) for who in ["Brandon", "Mike", "Tom", "Zoe", "Priya"] for client in
              ["Google", "ExxonMobil", "Staples"] if at(who, client).value is None}
    assert blanks == {("Mike", "ExxonMobil"), ("Tom", "Google"), ("Zoe", "ExxonMobil"), ("Priya", "Staples")}
    assert at("Zoe", "Google").value == tom_google and at("Alyssa", "Staples").value == 450_000
    assert not any(orange(at(who, client)) for who, client in blanks)

    # and the command line fills the cleared sheet as a fresh one
    assert cli("fill", tmp_path / "cleared.xlsx", "-o", tmp_path / "f3.xlsx",
               capsys=capsys).endswith("filled 4 of 4 blank cells in Sales!A1:D8")


def test_button_then_cli_then_button(tmp_path, capsys):
    b1 = tmp_path / "b1.xlsx"
    assert button(EXAMPLE, b1) == "xlrec: filled 6 of 6 blank cells in Sales!A1:E7"
    # delete Brandon's row: the record is by label, so the rows below keep their predictions
    wb = openpyxl.load_workbook(b1)
    wb["Sales"].delete_rows(3)
    t1 = tmp_path / "t1.xlsx"
    wb.save(t1)
    f1 = tmp_path / "f1.xlsx"
    assert cli("fill", t1, "-o", f1, capsys=capsys).endswith("filled 5 of 5 blank cells in Sales!A1:E6")
    ws, at = grid(f1)
    assert orange(at("Tom", "Google")) and "xlrec prediction" in at("Tom", "Google").comment.text
    # type over a prediction the command line wrote: the button keeps it as a booking
    wb = openpyxl.load_workbook(f1)
    ws = wb["Sales"]
    tom = next(r for r in range(2, 7) if ws.cell(row=r, column=1).value == "Tom")
    ws.cell(row=tom, column=2).value = 650_000
    wb.save(t1)
    message = button(t1, tmp_path / "b2.xlsx")
    assert message == ("xlrec: filled 4 of 4 blank cells in Sales!A1:E6; 1 cell typed over a prediction kept "
                       "as booking")
    _, at = grid(tmp_path / "b2.xlsx")
    assert at("Tom", "Google").value == 650_000 and not orange(at("Tom", "Google"))


def test_a_person_s_note_on_a_blank_survives_fill_refill_and_clear(tmp_path, capsys):
    wb = openpyxl.load_workbook(EXAMPLE)
    wb["Sales"]["E2"].comment = Comment("Staples asked for a quote in May", "Dana")
    src = tmp_path / "in.xlsx"
    wb.save(src)
    f1, f2 = tmp_path / "f1.xlsx", tmp_path / "f2.xlsx"
    cli("fill", src, "-o", f1, capsys=capsys)
    cli("fill", f1, "-o", f2, capsys=capsys)
    for path in (f1, f2):
        note = openpyxl.load_workbook(path)["Sales"]["E2"].comment
        assert note.author == "Dana" and note.text.startswith("Staples asked for a quote in May\n\nxlrec prediction:")
        assert note.text.count("Staples asked for a quote") == 1 and note.text.count("xlrec prediction") == 1
    button(f2, tmp_path / "cleared.xlsx", clear=True)
    ws = openpyxl.load_workbook(tmp_path / "cleared.xlsx")["Sales"]
    assert ws["E2"].value is None and "Staples asked for a quote in May" in ws["E2"].comment.text
