"""The Assign clients button run on xlwings' own workbook object built from an add-in's JSON payload."""

import xlwings as xw
from conftest import article_cells

from xlrec.excel import assign_clients


def payload(conf=None):
    values = [["" if v is None else v for v in row] for row in article_cells()]
    sheets = [{"name": "Sales", "values": values, "pictures": [], "tables": [], "notes": []}]
    if conf:
        sheets.append({"name": "xlrec.conf", "values": conf, "pictures": [], "tables": [], "notes": []})
    return {"client": "Office.js", "version": xw.__version__,
            "book": {"name": "sales.xlsx", "active_sheet_index": 0, "selection": "A1:E7"},
            "names": [], "sheets": sheets}


def test_the_button_writes_the_assignment_sheet_with_the_conf_capacity():
    book = xw.Book(json=payload([["capacity", 2], ["keep_bonus", 1000], ["k", 2]]))
    message = assign_clients(book)
    assert message.startswith("xlrec: sheet Assignment: expected bookings")
    actions = book.json()["actions"]
    assert any(a["func"] == "addSheet" for a in actions)
    written = [a["values"] for a in actions if a["func"] == "setValues"]
    rows = written[-1]
    header = next(k for k, r in enumerate(rows) if r[:2] == ["Client", "Owner"])
    owners = [r[1] for r in rows[header + 1:] if r[0]]
    assert len(owners) == len(article_cells()[0]) - 1 and max(owners.count(o) for o in owners) <= 2


def test_impossible_settings_are_the_message_and_nothing_is_written():
    book = xw.Book(json=payload([["capacity", 0]]))
    assert "capacities add up to 0" in assign_clients(book)
    assert not [a for a in book.json()["actions"] if a["func"] in ("addSheet", "setValues")]
