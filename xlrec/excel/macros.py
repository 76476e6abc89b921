"""The "Fill blanks" ribbon button, and the way to take xlrec's predictions out again.

:func:`main` is what the xlrec add-in's button runs (xlwings' ribbon add-in calls ``xlrec.main()``). It fills
the selected sales matrix (the selection, or the block of touching cells around the active cell when one cell
is selected): every blank gets its prediction, the fill colour :data:`xlrec.style.PREDICTED_COLOR` and a note
naming the neighbours that voted. A message says how many cells were filled and how many could not be.

xlrec remembers what it predicted in a hidden sheet named ``xlrec`` (sheet, cell, value). Filling again
treats a cell that still holds its recorded prediction as blank, so earlier predictions are never taken for
bookings; a cell where someone has typed another number since is a booking, and loses the marking.
:func:`clear_predictions` restores the blanks.
"""

from __future__ import annotations

import numpy as np
import xlwings as xw

from ..core.layout import block_around, nonempty, trim_block
from ..core.matrix import SalesMatrix, cell_address, column_letter
from ..core.neighbors import NeighborModel
from ..exceptions import XlrecError
from ..style import PREDICTED_COLOR, note_texts

__all__ = ["main", "fill_blanks", "clear_predictions", "fill_blanks_script", "clear_predictions_script",
           "BOOKKEEPING_SHEET"]

BOOKKEEPING_SHEET = "xlrec"
_HEADER = ["sheet", "cell", "predicted value (kept by xlrec: do not edit)"]


def main():
    """Fill the blanks of the selected sales matrix of the calling workbook (the ribbon button)."""
    return fill_blanks(xw.Book.caller())


def _tell(book, message, title="xlrec"):
    """Show a message where the engine can (a message box in Office.js, the status bar on the desktop)."""
    try:
        book.app.status_bar = message
        return
    except Exception:  # noqa: BLE001 - engines without a status bar
        pass
    try:
        book.app.alert(message, title=title)
    except Exception:  # noqa: BLE001 - an engine with neither: the returned text is all there is
        pass


def _records(book):
    """The predictions xlrec wrote earlier: {(sheet, address): value}."""
    if BOOKKEEPING_SHEET not in [s.name for s in book.sheets]:
        return {}
    rows = book.sheets[BOOKKEEPING_SHEET].used_range.options(ndim=2).value or []
    out = {}
    for row in rows[1:]:
        if len(row) >= 3 and row[0] and row[1] and isinstance(row[2], (int, float)):
            out[(str(row[0]), str(row[1]).replace("$", "").upper())] = float(row[2])
    return out


def _save_records(book, records):
    names = [s.name for s in book.sheets]
    if BOOKKEEPING_SHEET in names:
        sheet = book.sheets[BOOKKEEPING_SHEET]
        sheet.used_range.clear_contents()
    else:
        sheet = book.sheets.add(name=BOOKKEEPING_SHEET, after=book.sheets[len(names) - 1])
        sheet.visible = False
    rows = [_HEADER] + [[s, a, v] for (s, a), v in sorted(records.items())]
    sheet["A1"].value = rows


def _target(book):
    """(sheet, top row, left column, cells) of the matrix to fill."""
    sel = book.selection
    sheet = sel.sheet
    if sel.shape == (1, 1):
        used = sheet.used_range
        values = used.options(ndim=2).value
        r0, c0 = used.row, used.column
        grid = nonempty(values)
        hit = (sel.row - r0, sel.column - c0)
        inside = 0 <= hit[0] < grid.shape[0] and 0 <= hit[1] < grid.shape[1]
        if not inside or not grid[hit]:
            raise XlrecError(f"{cell_address(sel.row, sel.column, sheet.name)} is empty: select the sales matrix "
                             "(or one cell inside it) and click Fill blanks again")
        top, left, bottom, right = trim_block(lambda r, c: values[r][c] if c < len(values[r]) else None,
                                              block_around(grid, *hit))
        rng = sheet.range((r0 + top, c0 + left), (r0 + bottom - 1, c0 + right - 1))
    else:
        rng = sel
    return sheet, rng.row, rng.column, rng.options(ndim=2).value


def fill_blanks(book, **params):
    """Fill every blank of the selected matrix of ``book``; returns the one-line summary."""
    try:
        sheet, r0, c0, cells = _target(book)
        records = _records(book)
        mine = {a: v for (s, a), v in records.items() if s == sheet.name}
        predicted_before = set()
        for i, row in enumerate(cells):
            for j, v in enumerate(row):
                addr = f"{column_letter(c0 + j)}{r0 + i}"
                if addr in mine and i > 0 and j > 0:
                    if isinstance(v, (int, float)) and abs(float(v) - mine[addr]) < 0.005:
                        cells[i][j] = None  # our own earlier prediction: not a booking
                        predicted_before.add(addr)
                    else:  # someone typed a booking over it: it is theirs now
                        _unmark(sheet.range(addr))
                    del records[(sheet.name, addr)]
        matrix = SalesMatrix.from_cells(cells, sheet=sheet.name, origin=(r0, c0))
        result = NeighborModel(**params).fit(matrix).fill(explain=True)
        notes = note_texts(result)
        # each run of filled cells side by side in a row is written, and coloured, in one call: on the
        # desktop every call is a round trip to Excel
        for i, j0, j1 in _runs(result.predicted | result.fallback):
            row, first = r0 + 1 + i, c0 + 1 + j0
            values = [round(float(v), 2) for v in result.values[i, j0:j1]]
            run = sheet.range((row, first), (row, first + len(values) - 1))
            run.value = [values]
            run.color = PREDICTED_COLOR
            for j, value in enumerate(values, j0):
                addr = f"{column_letter(c0 + 1 + j)}{row}"
                _note(sheet.range(addr), notes[i, j])
                records[(sheet.name, addr)] = value
        for i, j in zip(*np.nonzero(result.unfilled)):
            addr = f"{column_letter(c0 + 1 + int(j))}{r0 + 1 + int(i)}"
            if addr in predicted_before:  # was predicted, cannot be now: back to blank
                cell = sheet.range(addr)
                cell.clear_contents()
                _unmark(cell)
        _save_records(book, records)
        top = cell_address(r0, c0)
        bottom = cell_address(r0 + len(cells) - 1, c0 + len(cells[0]) - 1)
        message = f"xlrec: {result.summary()} in {sheet.name}!{top}:{bottom}"
    except XlrecError as exc:
        message = f"xlrec: {exc}"
    _tell(book, message)
    return message


def clear_predictions(book=None):
    """Remove xlrec's predictions from the active sheet: blanks, no colour, no note (bookings typed over a
    prediction stay). Returns the one-line summary."""
    book = book or xw.Book.caller()
    sheet = book.sheets.active
    records = _records(book)
    cleared = 0
    for (s, addr), value in list(records.items()):
        if s != sheet.name:
            continue
        cell = sheet.range(addr)
        v = cell.value
        if isinstance(v, (int, float)) and abs(float(v) - value) < 0.005:
            cell.clear_contents()
            _unmark(cell)
            cleared += 1
        del records[(s, addr)]
    _save_records(book, records)
    message = f"xlrec: removed {cleared} predicted cells from {sheet.name}"
    _tell(book, message)
    return message


def _runs(mask):
    """(row, first column, last column + 1) of each run of True side by side in a row of ``mask``."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    return zip(rows.tolist(), starts.tolist(), ends.tolist())


@xw.script
def fill_blanks_script(book: xw.Book):
    """Fill blanks, as a script of xlwings Lite / Server (the button's code, given the book)."""
    fill_blanks(book)


@xw.script
def clear_predictions_script(book: xw.Book):
    """Remove xlrec's predictions from the active sheet, as a script of xlwings Lite / Server."""
    clear_predictions(book)


def _note(cell, text):
    try:
        existing = cell.note
        if existing is not None:
            existing.text = text
        else:
            cell.add_note(text)
    except (NotImplementedError, AttributeError):  # notes need ExcelApi 1.18 in Office.js
        pass


def _unmark(cell):
    cell.color = None
    try:
        note = cell.note
        if note is not None:
            note.delete()
    except (NotImplementedError, AttributeError):
        pass
