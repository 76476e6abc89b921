"""The one record of what xlrec wrote into a workbook, read and written by every front end.

A cell is a prediction only while it still holds exactly the value xlrec wrote there. The command line and the
Fill blanks button both keep, for each sheet they fill, a hidden *record sheet* holding the values they wrote,
keyed by salesperson and client label (never by address, so inserting or deleting rows and columns, or
sorting, does not change what it says):

====  ================================  =====================  ==============================================
row   A                                 B                      C ...
====  ================================  =====================  ==============================================
1     ``xlrec predictions on sheet``    the sheet's name       a reminder not to edit; D1: see below
2     (empty)                           client label           client label ...
3...  salesperson label                 the value xlrec wrote  (empty where xlrec wrote nothing)
====  ================================  =====================  ==============================================

Only the salespeople and clients that have a prediction appear, so the record is as large as what was
predicted. D1 lists, as JSON ``[[salesperson, client], ...]``, the predicted cells that had a person's note
when xlrec predicted them: an engine that cannot read a note's text (Office.js) then knows which notes are
xlrec's alone, to replace or delete, and which to leave as they are. The record sheets are hidden and named
``xlrec``, ``xlrec2``, ...; a sheet is a record when its name starts with ``xlrec`` and its A1 says so.

Reading a matrix, a cell whose labels are in the record is

- a *prediction* when it holds the recorded value (the same double, or within 1e-14 relative, the precision
  of a 15-digit writer): it reads as blank, and is predicted again;
- a *booking* otherwise (someone typed over it): it is kept and used as a booking, and its marking (fill
  colour, xlrec's note) is removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

__all__ = ["RECORD_MARK", "RECORD_SHEET", "Record", "parse_record", "find_records", "record_rows",
           "iter_record_rows", "record_sheet_name", "same_value", "match_record", "typed_over_phrase"]

RECORD_MARK = "xlrec predictions on sheet"
RECORD_REMINDER = "kept by xlrec to tell its predictions from bookings: do not edit"
RECORD_SHEET = "xlrec"
_SAME = 1e-14  # relative: a writer that keeps 15 significant digits still gives "the same value"


def same_value(a, b) -> np.ndarray:
    """Whether cell values ``a`` are the values ``b`` xlrec wrote (elementwise; NaN is never the same).

    >>> bool(same_value(433333.3333333333, 433333.333333333))  # written back with 15 digits
    True
    >>> bool(same_value(433333.33, 433333.3333333333))  # typed over, to the cent
    False
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore"):
        return (a == b) | (np.abs(a - b) <= _SAME * np.maximum(np.abs(a), np.abs(b)))


def _number(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return np.nan
    return float(v)


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


@dataclass(frozen=True, eq=False)
class Record:
    """The predictions xlrec wrote on one sheet.

    Attributes
    ----------
    sheet : str
        The sheet the predictions were written on.
    salespeople, clients : tuple of str
    values : ndarray of shape (len(salespeople), len(clients))
        The value written, NaN where xlrec wrote nothing.
    """

    sheet: str
    salespeople: tuple
    clients: tuple
    values: np.ndarray
    people_notes: frozenset = field(default_factory=frozenset)

    def __len__(self):
        return int((~np.isnan(self.values)).sum())


def parse_record(cells: dict) -> Record | None:
    """The :class:`Record` held by a sheet's ``cells`` ({(row, column): value}, 1-based), or None when the
    sheet is not a record sheet."""
    if cells.get((1, 1)) != RECORD_MARK or not isinstance(cells.get((1, 2)), str):
        return None
    rows = sorted({r for r, _ in cells if r >= 3 and not _text(cells.get((r, 1))) == ""})
    cols = sorted({c for r, c in cells if r == 2 and c >= 2 and _text(cells[r, c])})
    values = np.full((len(rows), len(cols)), np.nan)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            values[i, j] = _number(cells.get((r, c)))
    try:
        notes = json.loads(cells.get((1, 4)) or "[]")
        people = frozenset((str(a), str(b)) for a, b in notes)
    except (ValueError, TypeError):  # edited by hand: no note is known to be a person's
        people = frozenset()
    return Record(cells[1, 2], tuple(_text(cells[r, 1]) for r in rows), tuple(_text(cells[2, c]) for c in cols),
                  values, people)


def find_records(sheets) -> dict:
    """{sheet title: (Record, record sheet name)} from ``sheets``, pairs (sheet name, ``cells()``) where
    ``cells()`` gives the sheet's {(row, column): value}; it is called only for a sheet named like a record."""
    out = {}
    for name, cells in sheets:
        if name.casefold().startswith(RECORD_SHEET):
            record = parse_record(cells())
            if record is not None:
                out[record.sheet] = (record, name)
    return out


def record_rows(sheet: str, salespeople, clients, values, written, people_notes=()) -> list:
    """The cells of a record sheet (a 2-D list, None for empty) for the predictions ``values[written]``
    (:func:`iter_record_rows`, as a list)."""
    return list(iter_record_rows(sheet, salespeople, clients, values, written, people_notes))


def iter_record_rows(sheet: str, salespeople, clients, values, written, people_notes=()):
    """The rows of a record sheet (lists, None for empty) for the predictions ``values[written]``, one at a
    time.

    Parameters
    ----------
    sheet : str
    salespeople, clients : sequence of str
    values : ndarray of shape (len(salespeople), len(clients))
    written : ndarray of bool, same shape
        The cells xlrec wrote.
    people_notes : iterable of (salesperson, client)
        The written cells that have a person's note.
    """
    rows = np.flatnonzero(written.any(axis=1))
    cols = np.flatnonzero(written.any(axis=0))
    people = sorted(people_notes)
    yield [RECORD_MARK, sheet, RECORD_REMINDER] + ([json.dumps(people, ensure_ascii=False)] if people else [])
    yield [None] + [clients[j] for j in cols]
    for i in rows.tolist():
        line = np.where(written[i, cols], values[i, cols], np.nan).tolist()
        yield [salespeople[i]] + [None if v != v else v for v in line]


def record_sheet_name(names, sheet: str, records_at: dict) -> str:
    """The name of the record sheet for ``sheet``: the one that holds its record now (``records_at``:
    {sheet title: record sheet name}), else the first free of ``xlrec``, ``xlrec2``, ..."""
    if sheet in records_at:
        return records_at[sheet]
    taken = {n.casefold() for n in names}
    n = 1
    while (RECORD_SHEET if n == 1 else f"{RECORD_SHEET}{n}").casefold() in taken:
        n += 1
    return RECORD_SHEET if n == 1 else f"{RECORD_SHEET}{n}"


def match_record(matrix, record: Record | None):
    """Which cells of ``matrix`` are xlrec's predictions, and which hold a booking typed over one.

    Returns
    -------
    predicted : ndarray of bool, shape of ``matrix.values``
        Cells holding the value the record says xlrec wrote there: they read as blank.
    typed_over : ndarray of bool, same shape
        Cells the record names that hold another value (or are blank now): bookings (or blanks), whose
        marking must go.
    """
    shape = matrix.values.shape
    predicted, typed = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    if record is None or not len(record):
        return predicted, typed
    ri = np.array([matrix.row_position(s) for s in record.salespeople], dtype=np.int64)
    ci = np.array([matrix.column_position(c) for c in record.clients], dtype=np.int64)
    rk, ck = np.flatnonzero(ri >= 0), np.flatnonzero(ci >= 0)
    if not len(rk) or not len(ck):
        return predicted, typed
    wrote = record.values[np.ix_(rk, ck)]
    at = np.ix_(ri[rk], ci[ck])
    has = ~np.isnan(wrote)
    same = has & same_value(matrix.values[at], wrote)
    predicted[at] = same
    typed[at] = has & ~same
    return predicted, typed


def typed_over_phrase(n: int) -> str | None:
    """What the summary says of ``n`` bookings typed over predictions (None for none)."""
    if not n:
        return None
    return f"{n:,} cell{'s' if n > 1 else ''} typed over a prediction kept as booking{'s' if n > 1 else ''}"
