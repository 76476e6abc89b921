"""The Assign clients button run on xlwings' own workbook object built from an add-in's JSON payload."""

import pytest
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


FULL = [["", "C1", "C2", "C3", "C4"],  # every cell known: the expected bookings are these numbers
        ["Ann", 29, 2, 14, 29],
        ["Ben", 23, 25, 2, 2],
        ["Cy", 12, 12, 6, 8]]


def _full_book(conf):
    sheets = [{"name": "Sales", "values": FULL, "pictures": [], "tables": [], "notes": []},
              {"name": "xlrec.conf", "values": conf, "pictures": [], "tables": [], "notes": []}]
    return xw.Book(json={"client": "Office.js", "version": xw.__version__,
                         "book": {"name": "s.xlsx", "active_sheet_index": 0, "selection": "A1:E4"},
                         "names": [], "sheets": sheets})


def _owners_written(book):
    rows = [a["values"] for a in book.json()["actions"] if a["func"] == "setValues"][-1]
    header = next(k for k, r in enumerate(rows) if r[:2] == ["Client", "Owner"])
    return {r[0]: r[1] for r in rows[header + 1:] if r[0]}


def _brute_force(capacity, keep_bonus=0.0, keep_share=0.0):
    """The best owners of FULL by enumerating every assignment: bookings plus the bonus for each client kept
    with today's owner (its largest booking), at most ``capacity`` clients each."""
    import itertools

    people, clients = [r[0] for r in FULL[1:]], FULL[0][1:]
    E = [r[1:] for r in FULL[1:]]
    today = [max(range(3), key=lambda i, j=j: E[i][j]) for j in range(4)]
    scored = []
    for owners in itertools.product(range(3), repeat=4):
        if max(owners.count(i) for i in range(3)) > capacity:
            continue
        score = sum(E[i][j] + (keep_bonus + keep_share * E[i][j] if i == today[j] else 0)
                    for j, i in enumerate(owners))
        scored.append((score, owners))
    best = max(s for s, _ in scored)
    winners = [o for s, o in scored if s == best]
    assert len(winners) == 1  # the case has one optimum: no tie rule involved
    return {clients[j]: people[i] for j, i in enumerate(winners[0])}


CONF_CASES = [
    ([["capacity", 2.0]], 2, 0, 0),  # a whole number as Excel gives it: a float
    ([["Capacity", "3"], ["keep bonus", 3]], 3, 3, 0),  # text, and the name written with a space
    ([["setting", "value"], ["capacity", 2], ["keep-share", "50%"]], 2, 0, 0.5),
]


@pytest.mark.parametrize("conf, capacity, bonus, share", CONF_CASES)
def test_the_conf_settings_give_the_brute_force_optimum(conf, capacity, bonus, share):
    assert len({str(_brute_force(*case[1:])) for case in CONF_CASES}) == 3  # the settings change the answer
    book = _full_book(conf)
    assert assign_clients(book).startswith("xlrec: sheet Assignment")
    assert _owners_written(book) == _brute_force(capacity, bonus, share)


@pytest.mark.parametrize("conf, message", [
    ([["capacity", "three"]], "sheet xlrec.conf, cell B1: capacity must be a whole number of at least 0, got 'three'"),
    ([["model", "neighbors"], ["capacity", 2.5]],
     "sheet xlrec.conf, cell B2: capacity must be a whole number of at least 0, got 2.5"),
    ([["setting", "value"], ["keep_bonus", -5]], "sheet xlrec.conf, cell B2: keep_bonus must be an amount of at least 0"),
    ([["max_share", "150%"]], "sheet xlrec.conf, cell B1: max_share must be a share above 0 and at most 100%"),
    ([["owners_per_client", 0]], "sheet xlrec.conf, cell B1: owners_per_client must be a whole number of at least 1"),
    ([["capacity", 2], ["k", "three"]], "sheet xlrec.conf, cell B2: k must be a whole number of at least 1"),
    ([["capacity", 2], ["kk", 3]], "sheet xlrec.conf, cell A2: model 'neighbors' has no parameter 'kk'"),
    ([["model", "neighbours"], ["capacity", 2]], "sheet xlrec.conf, cell B1: unknown model 'neighbours'"),
])
def test_a_bad_setting_names_the_sheet_and_cell_and_nothing_is_written(conf, message):
    book = xw.Book(json=payload(conf))
    said = assign_clients(book)
    assert said.startswith(f"xlrec: {message}"), said
    assert not [a for a in book.json()["actions"] if a["func"] in ("addSheet", "setValues")]


def test_a_model_file_in_the_conf_predicts_the_blanks_as_its_model_does(tmp_path, monkeypatch):
    import numpy as np
    from conftest import CLIENTS, SALESPEOPLE, VALUES

    from xlrec.core.matrix import SalesMatrix
    from xlrec.core.models import make_model
    from xlrec.core.persist import save_model
    from xlrec.sheet.models import default_models

    save_model(make_model("baseline").fit(SalesMatrix(SALESPEOPLE, CLIENTS, np.array(VALUES, dtype=float))),
               tmp_path / "pipeline.xlrec")
    monkeypatch.setenv("XLREC_MODELS", str(tmp_path))
    default_models.clear()
    by_file = xw.Book(json=payload([["model_file", "pipeline"], ["capacity", 2]]))
    assert assign_clients(by_file).startswith("xlrec: sheet Assignment")
    by_model = xw.Book(json=payload([["model", "baseline"], ["capacity", 2]]))
    assert assign_clients(by_model).startswith("xlrec: sheet Assignment")
    default_models.clear()

    def written(book):
        return [a["values"] for a in book.json()["actions"] if a["func"] == "setValues"][-1][2:]

    assert written(by_file) == written(by_model)
