"""The "Fill blanks" ribbon button, and the way to take xlrec's predictions out again.

:func:`main` is what the xlrec add-in's button runs (xlwings' ribbon add-in calls ``xlrec.main()``). It fills
the selected sales matrix (the selection, or the block of touching cells around the active cell when one cell
is selected): every blank gets its prediction, the fill colour :data:`xlrec.style.PREDICTED_COLOR` and a note
naming the neighbours that voted (below a person's own note, when the cell has one). A message says how many
cells were filled and how many could not be.

xlrec remembers what it wrote in a hidden record sheet, keyed by salesperson and client
(:mod:`xlrec.sheet.records`), the same record ``xlrec fill`` keeps: so the button and the command line each
know the other's predictions, and inserting or deleting rows and columns changes nothing. Filling again
treats a cell that still holds its recorded prediction as blank; a cell where someone has typed another
number since is a booking, and loses the marking. :func:`clear_predictions` restores the blanks.
"""

from __future__ import annotations

import numpy as np
import xlwings as xw

from ..core.models import make_model
from ..exceptions import XlrecError
from ..sheet.cells import cell_address, matrix_from_cells
from ..sheet.layout import block_around, nonempty, sheet_block, trim_block
from ..sheet.records import (
    find_records,
    match_record,
    record_rows,
    record_sheet_name,
    typed_over_phrase,
)
from ..sheet.settings import CONF_SHEET, conf_params
from ..sheet.totals import formulas_over, formulas_phrase
from ..style import NOTE_LIMIT, PREDICTED_COLOR, note_texts, with_note, without_note

__all__ = ["main", "fill_blanks", "clear_predictions", "fill_blanks_script", "clear_predictions_script"]


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


def _cells_of(sheet) -> dict:
    """{(row, column): value} of a sheet's used range, 1-based."""
    used = sheet.used_range
    rows = used.options(ndim=2).value or []
    return {(used.row + i, used.column + j): v for i, row in enumerate(rows) for j, v in enumerate(row)
            if v is not None and v != ""}


def _records(book) -> dict:
    """{sheet title: (Record, record sheet name)}: what xlrec wrote on each sheet."""
    return find_records((sheet.name, lambda sheet=sheet: _cells_of(sheet)) for sheet in book.sheets)


def _save_record(book, title, where, rows):
    """Write the record sheet of ``title`` (``where``: its name now, or None for a new hidden one)."""
    names = [s.name for s in book.sheets]
    if where is not None:
        sheet = book.sheets[where]
        sheet.used_range.clear_contents()
    else:
        sheet = book.sheets.add(name=record_sheet_name(names, title, {}), after=book.sheets[len(names) - 1])
        sheet.visible = False
    width = max(len(r) for r in rows)
    sheet["A1"].value = [[_as_text(v) for v in r] + [None] * (width - len(r)) for r in rows]


def _as_text(v):
    """A value to write through Excel: text that Excel would take for a formula (``=``, ``+``, ``-``, ``@``)
    gets the apostrophe that tells Excel it is text (the apostrophe is not part of the cell's value)."""
    return "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v


def _target(book):
    """(sheet, top row, left column, cells) of the matrix to fill."""
    try:
        sel = book.selection
        several = "," in sel.address
    except ValueError:  # xlwings cannot make one range of a selection of several areas
        several = True
    if several:
        raise XlrecError("the selection has several areas: select the sales matrix (one block of cells), or one "
                         "cell inside it, and click Fill blanks again")
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
    else:  # what is selected, less the rows and columns beyond the used cells (a whole sheet, whole columns)
        used = sheet.used_range
        top, left = max(sel.row, used.row), max(sel.column, used.column)
        bottom = min(sel.row + sel.shape[0], used.row + used.shape[0]) - 1
        right = min(sel.column + sel.shape[1], used.column + used.shape[1]) - 1
        if bottom < top or right < left:
            raise XlrecError(f"the selection {sel.address.replace('$', '')} is empty: select the sales matrix (or "
                             "one cell inside it) and click Fill blanks again")
        rng = sheet.range((top, left), (bottom, right))
    return sheet, rng.row, rng.column, rng.options(ndim=2).value


def _conf(book) -> dict:
    """The model and parameters set in the workbook's ``xlrec.conf`` sheet (:mod:`xlrec.sheet.settings`), or
    {} (the article's model and settings) when it has none."""
    for sheet in book.sheets:
        if sheet.name.strip().lower() == CONF_SHEET:
            return conf_params(sheet.used_range.options(ndim=2).value or [])
    return {}


def fill_blanks(book, **params):
    """Fill every blank of the selected matrix of ``book``; returns the one-line summary.

    The model is the one ``params`` name, else the one the workbook's ``xlrec.conf`` sheet sets (rows of a
    setting and its value: ``model | baseline``, ``k | 3``; or ``model_file | pipeline-2026Q3``: a model
    trained by ``xlrec train``, found by its path or in the models folder: the workbook's ``XLREC_MODELS``
    row of its ``xlwings.conf`` sheet, else the environment variable ``XLREC_MODELS``), else the article's
    neighbour model."""
    try:
        params = params or _conf(book)
        sheet, r0, c0, cells = _target(book)
        record, where = _records(book).get(sheet.name, (None, None))
        matrix = matrix_from_cells(cells, sheet=sheet.name, origin=(r0, c0))
        earlier, typed = match_record(matrix, record)
        fit = matrix.with_blanks(earlier)
        explain = int((~fit.known).sum()) <= NOTE_LIMIT  # a note each, up to NOTE_LIMIT blanks
        remarks = []
        if "model_file" in params:  # trained elsewhere: applied without fitting, new names folded in
            # the models folder may be set in the workbook's xlwings.conf sheet, read as xlwings reads it
            from xlwings.utils import read_config_sheet

            from ..sheet.models import book_models_folder, load_cached

            folder = book_models_folder(read_config_sheet(book))
            folded = load_cached(params["model_file"], book_folder=folder).fold_in(fit)
            result, remarks = folded.fill(explain=explain), [f"model file {params['model_file']}"] + folded.remarks
        else:
            result = make_model(**params).fit(fit).fill(explain=explain)
        written = result.predicted | result.fallback
        notes = note_texts(result) if explain else {}
        people = record.people_notes if record is not None else frozenset()
        kept_notes = set()  # the written cells with a person's note
        # each run of filled cells side by side in a row is written, and coloured, in one call: on the
        # desktop every call is a round trip to Excel
        for i, j0, j1 in _runs(written):
            row, first = r0 + 1 + i, c0 + 1 + j0
            run = sheet.range((row, first), (row, c0 + j1))
            run.value = [result.values[i, j0:j1].tolist()]
            run.color = PREDICTED_COLOR
            for j in range(j0, j1):
                pair = (matrix.salespeople[i], matrix.clients[j])
                ours = earlier[i, j] and pair not in people  # the note there, if any, is xlrec's alone
                if notes and _note(sheet.range((row, c0 + 1 + j)), notes[i, j], ours):
                    kept_notes.add(pair)
        cleared = earlier & result.unfilled  # was predicted, cannot be now: back to blank
        for i, j in zip(*np.nonzero(cleared | typed)):
            cell = sheet.range((r0 + 1 + int(i), c0 + 1 + int(j)))
            if cleared[i, j]:
                cell.clear_contents()
            _unmark(cell, (matrix.salespeople[i], matrix.clients[j]) not in people)
        if record is not None or written.any():
            _save_record(book, sheet.name, where, record_rows(sheet.name, matrix.salespeople, matrix.clients,
                                                              result.values, written, kept_notes))
        top = cell_address(r0, c0)
        bottom = cell_address(r0 + len(cells) - 1, c0 + len(cells[0]) - 1)
        message = f"xlrec: {result.summary()} in {sheet.name}!{top}:{bottom}"
        sums = formulas_over(_formulas(sheet), sheet.name, (r0 + 1, c0 + 1), written)
        for phrase in (*remarks, typed_over_phrase(int((typed & matrix.known).sum())), formulas_phrase(sums)):
            if phrase:
                message += f"; {phrase}"
    except XlrecError as exc:
        message = f"xlrec: {exc}"
    _tell(book, message)
    return message


def _formulas(sheet) -> dict:
    """{(row, column): formula} of the sheet's used range, or {} where the engine does not give formulas."""
    try:
        used = sheet.used_range
        rows = used.options(ndim=2).formula
    except Exception:  # noqa: BLE001 - engines that do not read formulas
        return {}
    if not isinstance(rows, (list, tuple)):
        rows = [[rows]]
    elif rows and not isinstance(rows[0], (list, tuple)):
        rows = [rows]
    return {(used.row + i, used.column + j): f for i, row in enumerate(rows) for j, f in enumerate(row)
            if isinstance(f, str) and f.startswith("=")}


def clear_predictions(book=None):
    """Remove xlrec's predictions from the active sheet: blanks, no colour, no xlrec note (bookings typed over
    a prediction, and a person's own notes, stay). Returns the one-line summary."""
    book = book or xw.Book.caller()
    sheet = book.sheets.active
    record, where = _records(book).get(sheet.name, (None, None))
    cleared = 0
    try:
        if record is not None:
            cells = _cells_of(sheet)
            if not cells:
                raise XlrecError(f"sheet {sheet.name!r} is empty")
            (top, left, bottom, right), gap_rows, gap_cols = sheet_block(cells)
            rows = [r for r in range(top + 1, bottom + 1) if r not in gap_rows]
            cols = [c for c in range(left + 1, right + 1) if c not in gap_cols]
            block = [[cells.get((r, c)) for c in [left] + cols] for r in [top] + rows]
            matrix = matrix_from_cells(block, sheet=sheet.name, origin=(top, left), positions=(rows, cols))
            earlier, typed = match_record(matrix, record)
            for i, j in zip(*np.nonzero(earlier | typed)):
                cell = sheet.range((rows[i], cols[j]))
                if earlier[i, j]:
                    cell.clear_contents()
                    cleared += 1
                _unmark(cell, (matrix.salespeople[i], matrix.clients[j]) not in record.people_notes)
            _save_record(book, sheet.name, where, record_rows(sheet.name, (), (), np.zeros((0, 0)),
                                                               np.zeros((0, 0), dtype=bool)))
        message = f"xlrec: removed {cleared} predicted cells from {sheet.name}"
    except XlrecError as exc:
        message = f"xlrec: {exc}"
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


def _note(cell, text, ours=False) -> bool:
    """Give ``cell`` xlrec's note ``text``, below a person's own note; returns whether the cell has a person's
    note. A note whose text the engine cannot read (Office.js reads note text only asynchronously) is
    replaced when it is xlrec's alone (``ours``: the record says so), else left as it is."""
    try:
        existing = cell.note
        if existing is None:
            cell.add_note(text)
            return False
        try:
            old = existing.text
        except NotImplementedError:  # Office.js
            if not ours:
                return True
            existing.delete()
            cell.add_note(text)
            return False
        existing.text = with_note(old, text)
        return without_note(old) is not None
    except (NotImplementedError, AttributeError):  # notes need ExcelApi 1.18 in Office.js
        return False


def _unmark(cell, ours=True):
    """Take xlrec's colour and note off ``cell``; a person's own note stays (a note the engine cannot read is
    deleted only when it is xlrec's alone: ``ours``)."""
    cell.color = None
    try:
        note = cell.note
        if note is None:
            return
        try:
            own = without_note(note.text)
        except NotImplementedError:  # Office.js
            if ours:
                note.delete()
            return
        if own is None:
            note.delete()
        else:
            note.text = own
    except (NotImplementedError, AttributeError):
        pass
