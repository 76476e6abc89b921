"""The Fill blanks button (xlrec.main) run on xlwings' own workbook object built from an add-in's JSON
payload, asserting on the actions it sends back to Excel."""

import pytest
import xlwings as xw
from conftest import article_cells

import xlrec
from xlrec.excel.macros import clear_predictions
from xlrec.sheet.cells import matrix_from_cells
from xlrec.sheet.records import RECORD_MARK

RECORD_SHEET = "xlrec"
ALYSSA_STAPLES = (500_000 + 0.5 * 300_000) / 1.5  # the article's rank-weighted k = 2
from xlrec.style import PREDICTED_COLOR


def payload(values, selection="A1:E7", extra_sheets=()):
    sheets = [{"name": "Sales", "values": values, "pictures": [], "tables": [], "notes": []}]
    sheets += [dict(s) for s in extra_sheets]
    return {"client": "Office.js", "version": xw.__version__,
            "book": {"name": "sales.xlsx", "active_sheet_index": 0, "selection": selection},
            "names": [], "sheets": sheets}


def sheet_values():
    return [["" if v is None else v for v in row] for row in article_cells()]


def run(p):
    book = xw.Book(json=p)
    book.set_mock_caller()
    message = xlrec.main()
    return book, message, book.json()["actions"]


def writes(actions, func):
    return {a["start_row"] * 1000 + a["start_column"]: a["values"] for a in actions
            if a["func"] == func and a["sheet_position"] == 0}


BLANKS = {(1, 4), (2, 2), (3, 3), (5, 1), (6, 2), (6, 4)}  # 0-based (row, column) of the example's blanks


def test_main_writes_exactly_the_blank_cells():
    book, message, actions = run(payload(sheet_values()))
    values = [a for a in actions if a["func"] == "setValues" and a["sheet_position"] == 0]
    assert {(a["start_row"], a["start_column"]) for a in values} == BLANKS
    assert all(a["row_count"] == a["column_count"] == 1 for a in values)
    alyssa = next(a for a in values if (a["start_row"], a["start_column"]) == (1, 4))
    assert alyssa["values"] == [[ALYSSA_STAPLES]]  # in full, not rounded to cents
    colours = [a for a in actions if a["func"] == "setRangeColor" and a["sheet_position"] == 0]
    assert {(a["start_row"], a["start_column"]) for a in colours} == BLANKS
    assert {a["args"][0] for a in colours} == {PREDICTED_COLOR}
    notes = [a for a in actions if a["func"] == "addNote"]
    assert len(notes) == 6
    e2 = next(a["args"][1] for a in notes if a["args"][0] == "$E$2")
    assert "Mike: 500,000 (distance 0, weight 1 = 67%)" in e2 and "Brandon: 300,000" in e2
    assert message == "xlrec: filled 6 of 6 blank cells in Sales!A1:E7"


def test_a_single_selected_cell_fills_the_block_around_it():
    values = sheet_values() + [[""] * 5, ["note: Q3 numbers", "", "", "", ""]]
    _, message, actions = run(payload(values, selection="C4"))
    assert message.endswith("in Sales!A1:E7")
    written = {(a["start_row"], a["start_column"]) for a in actions
               if a["func"] == "setValues" and a["sheet_position"] == 0}
    assert written == BLANKS


def test_second_run_predicts_from_actual_bookings_only():
    book, _, actions = run(payload(sheet_values()))
    # what Excel shows after the first run: the predictions in place, and xlrec's record sheet
    after = sheet_values()
    for a in actions:
        if a["func"] == "setValues" and a["sheet_position"] == 0:
            after[a["start_row"]][a["start_column"]] = a["values"][0][0]
    record = next(a["values"] for a in actions if a["func"] == "setValues" and a["sheet_position"] == 1)
    # by label, not by address: who, for which client, what xlrec wrote
    assert record[0][:2] == [RECORD_MARK, "Sales"] and record[1][1:] == ["Google", "Capgemini", "ExxonMobil", "Staples"]
    assert {(r[0], record[1][j]) for r in record[2:] for j, v in enumerate(r) if j and v != ""} == {
        (["Alyssa", "Brandon", "Mike", "Jessica", "Tom", "Priya"][i - 1], record[1][j]) for i, j in BLANKS}
    assert record[2] == ["Alyssa", "", "", "", ALYSSA_STAPLES]  # Office.js sends blanks as ""
    # the user types a real booking for Priya / Staples over its prediction
    after[6][4] = 100_000
    extra = [{"name": RECORD_SHEET, "values": record, "pictures": [], "tables": [], "notes": []}]
    _, message, actions = run(payload(after, extra_sheets=extra))
    values = {(a["start_row"], a["start_column"]): a["values"][0][0] for a in actions
              if a["func"] == "setValues" and a["sheet_position"] == 0}
    # Alyssa / Staples is predicted again from bookings only: Mike and Brandon, as the first time
    assert values[(1, 4)] == ALYSSA_STAPLES
    # Priya / Staples is now a booking: not written, and its marking is removed
    assert (6, 4) not in values
    assert any(a["func"] == "setRangeColor" and a["args"][0] is None and (a["start_row"], a["start_column"]) == (6, 4)
               for a in actions)
    assert set(values) == BLANKS - {(6, 4)}
    assert message == "xlrec: filled 5 of 5 blank cells in Sales!A1:E7; 1 cell typed over a prediction kept as booking"


def test_new_bookings_change_the_predictions():
    book, _, actions = run(payload(sheet_values()))
    after = sheet_values()
    for a in actions:
        if a["func"] == "setValues" and a["sheet_position"] == 0:
            after[a["start_row"]][a["start_column"]] = a["values"][0][0]
    record = next(a["values"] for a in actions if a["func"] == "setValues" and a["sheet_position"] == 1)
    after[3][4] = 100_000  # Mike's Staples booking changes from 500,000 to 100,000
    extra = [{"name": RECORD_SHEET, "values": record, "pictures": [], "tables": [], "notes": []}]
    _, _, actions = run(payload(after, extra_sheets=extra))
    values = {(a["start_row"], a["start_column"]): a["values"][0][0] for a in actions
              if a["func"] == "setValues" and a["sheet_position"] == 0}
    assert values[(1, 4)] == (100_000 + 0.5 * 300_000) / 1.5


def test_clear_predictions_restores_the_blanks():
    book, _, actions = run(payload(sheet_values()))
    after = sheet_values()
    for a in actions:
        if a["func"] == "setValues" and a["sheet_position"] == 0:
            after[a["start_row"]][a["start_column"]] = a["values"][0][0]
    record = next(a["values"] for a in actions if a["func"] == "setValues" and a["sheet_position"] == 1)
    extra = [{"name": RECORD_SHEET, "values": record, "pictures": [], "tables": [], "notes": []}]
    book = xw.Book(json=payload(after, extra_sheets=extra))
    message = clear_predictions(book)
    assert message == "xlrec: removed 6 predicted cells from Sales"
    cleared = {(a["start_row"], a["start_column"]) for a in book.json()["actions"]
               if a["func"] == "rangeClearContents" and a["sheet_position"] == 0}
    assert cleared == BLANKS


def test_a_bad_cell_is_reported_not_raised():
    values = sheet_values()
    values[2][2] = "n/a"
    _, message, actions = run(payload(values))
    assert message == ("xlrec: Sales!C3: 'n/a' is not a number (bookings must be numbers; leave the cell blank "
                       "if unknown)")
    assert not [a for a in actions if a["func"] == "setValues"]


def test_an_empty_cell_selected_says_what_to_do():
    _, message, _ = run(payload(sheet_values(), selection="H20"))
    assert message.startswith("xlrec: Sales!H20 is empty: select the sales matrix")


def test_the_lite_script_runs_through_xlwings_script_machinery():
    import asyncio

    from xlwings.server import custom_scripts_call

    import xlrec.excel

    book = xw.Book(json=payload(sheet_values()))
    asyncio.run(custom_scripts_call(xlrec.excel, "fill_blanks_script", typehint_to_value={xw.Book: book}))
    written = {(a["start_row"], a["start_column"]) for a in book.json()["actions"]
               if a["func"] == "setValues" and a["sheet_position"] == 0}
    assert written == BLANKS


def test_a_title_and_totals_around_the_matrix_are_left_out():
    """As Excel shows a report: a title above, and Total row and column holding computed sums."""
    rows = [["Q3 bookings", "", "", "", "", ""]] + [r + [""] for r in sheet_values()]
    rows[1][5] = "Total"
    for r in rows[2:]:
        r[5] = sum(v for v in r[1:5] if v != "")
    rows.append(["Total"] + [sum(r[c] for r in rows[2:] if r[c] != "") for c in range(1, 6)])
    _, message, actions = run(payload(rows, selection="C5"))
    assert message == "xlrec: filled 6 of 6 blank cells in Sales!A2:E8"
    written = {(a["start_row"], a["start_column"]): a["values"] for a in actions
               if a["func"] == "setValues" and a["sheet_position"] == 0}
    assert set(written) == {(r + 1, c) for r, c in BLANKS}  # one row lower: the title is row 1
    assert written[(2, 4)] == [[ALYSSA_STAPLES]]  # the totals were not taken for a salesperson or a client


def test_blanks_side_by_side_are_written_in_one_call_each_with_its_note():
    values = sheet_values()
    values[5][2] = ""  # Tom's Capgemini: now Tom's Google and Capgemini are blank side by side
    _, message, actions = run(payload(values))
    writes_ = [a for a in actions if a["func"] == "setValues" and a["sheet_position"] == 0]
    cells = {(a["start_row"], a["start_column"] + k): v for a in writes_ for k, v in enumerate(a["values"][0])}
    assert set(cells) == BLANKS | {(5, 2)}  # exactly the blanks
    tom = next(a for a in writes_ if a["start_row"] == 5)
    assert (tom["start_column"], tom["column_count"]) == (1, 2)
    expected = xlrec.fill(matrix_from_cells([[None if v == "" else v for v in r] for r in values]))
    for (r, c), v in cells.items():
        assert v == expected.values[r - 1, c - 1]
    notes = {a["args"][0] for a in actions if a["func"] == "addNote"}
    assert notes == {f"${'ABCDE'[c]}${r + 1}" for r, c in cells}
    assert message == "xlrec: filled 7 of 7 blank cells in Sales!A1:E7"


def test_names_that_look_like_formulas_go_into_the_record_as_text():
    values = sheet_values()
    values[1][0] = '=HYPERLINK("http://x","Alyssa")'
    values[0][4] = "+Staples"
    _, message, actions = run(payload(values))
    assert message == "xlrec: filled 6 of 6 blank cells in Sales!A1:E7"
    record = next(a["values"] for a in actions if a["func"] == "setValues" and a["sheet_position"] == 1)
    texts = [v for row in record for v in row if isinstance(v, str) and v]
    assert "'=HYPERLINK(\"http://x\",\"Alyssa\")" in texts and "'+Staples" in texts
    assert not any(v[:1] in "=+-@" for v in texts)  # Excel would take those for formulas


def test_a_selection_of_several_areas_or_the_whole_sheet():
    _, message, actions = run(payload(sheet_values(), selection="A1:B2,D4:E5"))
    assert message == ("xlrec: the selection has several areas: select the sales matrix (one block of cells), or "
                       "one cell inside it, and click Fill blanks again")
    assert not [a for a in actions if a["func"] == "setValues"]
    for whole in ("A1:XFD1048576", "A:E", "1:7"):  # only the used cells are read
        _, message, _ = run(payload(sheet_values(), selection=whole))
        assert message == "xlrec: filled 6 of 6 blank cells in Sales!A1:E7", whole


def _conf_sheet(rows):
    return {"name": "xlrec.conf", "values": rows, "pictures": [], "tables": [], "notes": []}


def test_the_button_uses_the_model_the_workbook_sets():
    # the baseline model's Alyssa/Staples, computed here from its definition: mean + offsets by ALS
    import numpy as np
    from conftest import VALUES

    x = np.array(VALUES, dtype=float)
    rows, cols = np.nonzero(~np.isnan(x))
    r = x[rows, cols]
    mu, bs, bc = r.mean(), np.zeros(6), np.zeros(4)
    for _ in range(20):
        bc = np.array([sum(v - mu - bs[i] for i, j, v in zip(rows, cols, r) if j == c) / (4 + (cols == c).sum())
                       for c in range(4)])
        bs = np.array([sum(v - mu - bc[j] for i, j, v in zip(rows, cols, r) if i == s) / (2.5 + (rows == s).sum())
                       for s in range(6)])
    conf = _conf_sheet([["setting", "value"], ["model", "baseline"], ["reg_client", 4.0], ["reg_salesperson", "2.5"],
                        ["iterations", 20.0], ["", ""]])
    book, message, actions = run(payload(sheet_values(), extra_sheets=[conf]))
    alyssa = writes(actions, "setValues")[1 * 1000 + 4]
    assert alyssa[0][0] == pytest.approx(mu + bs[0] + bc[3], rel=1e-12)
    notes = [a["args"][1] for a in actions if a["func"] == "addNote" and a["args"][0] == "$E$2"]
    assert "Alyssa's offset" in notes[0] and "mean of all bookings" in notes[0]
    assert message == "xlrec: filled 6 of 6 blank cells in Sales!A1:E7"


def test_a_bad_setting_names_the_conf_sheet_and_writes_nothing():
    conf = _conf_sheet([["model", "neighbors"], ["k", "three"]])
    book, message, actions = run(payload(sheet_values(), extra_sheets=[conf]))
    assert message == "xlrec: sheet xlrec.conf: k must be a whole number of at least 1, got 'three'"
    assert not [a for a in actions if a["func"] == "setValues" and a["sheet_position"] == 0]
    conf = _conf_sheet([["model", "neighbours"]])
    message = run(payload(sheet_values(), extra_sheets=[conf]))[1]
    assert message.startswith("xlrec: sheet xlrec.conf: unknown model 'neighbours'; choose one of: neighbors")
