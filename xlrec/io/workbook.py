"""Workbook files (openpyxl): find the sales matrix, read it, write the predictions and mark them.

The only layer that imports openpyxl. The input file is never written; outputs go to a temporary file in
the output's folder and are renamed into place, so an interrupted run leaves no partial file.
"""

from __future__ import annotations

import io
import os
import re
import shlex
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Color, PatternFill
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from ..core.matrix import SalesMatrix, _label, shown
from ..core.models import FillResult, Model, make_model
from ..core.tune import choose_model
from ..exceptions import InputError, WorkbookError
from ..files import write_atomic
from ..sheet.cells import (
    cell_address,
    column_letter,
    matrix_from_cells,
    parse_number_text,
)
from ..sheet.layout import is_empty as _is_empty
from ..sheet.layout import sheet_block
from ..sheet.records import (
    Record,
    find_records,
    iter_record_rows,
    match_record,
    record_sheet_name,
    typed_over_phrase,
)
from ..sheet.totals import formulas_over, formulas_phrase
from ..style import (
    LEGEND_TEXT,
    NOTE_AUTHOR,
    NOTE_LIMIT,
    PREDICTED_COLOR,
    note_texts,
    with_note,
    without_note,
)
from .cells import exact_numbers, put
from .package import check_package, refusal
from .splice import Cell, CellRows, Numbers, Package, Unsupported

__all__ = ["load_workbook", "check_file", "find_matrix", "find_block", "sheet_values", "locate_matrix", "read_matrix",
           "read_block", "read_matrix_for_model", "mark_predictions", "save_atomic",
           "fill_workbook", "FillReport", "BookReport", "SUFFIXES", "Bounds", "positions"]

SUFFIXES = (".xlsx", ".xlsm")
# as Excel writes a solid fill (and as the package writer does): opaque colour, automatic background
_FILL = PatternFill(fill_type="solid", fgColor="FF" + PREDICTED_COLOR.lstrip("#"), bgColor=Color(indexed=64))


def load_workbook(path, *, force=False) -> openpyxl.Workbook:
    """Open a workbook for reading and rewriting, with a clear error for anything that is not one.

    The package is checked first (:func:`xlrec.io.package.check_package`): size caps against zip bombs, and
    a refusal, unless ``force``, when it holds what openpyxl would drop. What would be dropped is kept on
    the workbook as ``wb.xlrec_dropped``.
    """
    path = Path(path)
    dropped = check_file(path, force=force)
    try:
        # from memory: openpyxl leaves its file open when a part fails to parse, and reads the macros at save
        wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), keep_vba=path.suffix.lower() == ".xlsm",
                                    rich_text=True)
    except Exception as exc:  # malformed XML parts raise parser-specific errors of many kinds
        cause = exc.__cause__ or exc.__context__ or exc  # openpyxl wraps the parser's error in a long message
        detail = " ".join(f"{type(cause).__name__}: {cause}".split())  # one line
        raise WorkbookError(f"{path}: cannot be read as a workbook (invalid or unsafe XML? {detail})") from exc
    for ws in wb.worksheets:
        if ws._cells and (ws.max_row > _LAST_ROW or ws.max_column > _LAST_COL):
            raise WorkbookError(f"{path}: sheet {ws.title!r} holds a cell at row {ws.max_row:,} or column "
                                f"{ws.max_column:,}, beyond Excel's last cell XFD1048576: the file is damaged; "
                                "open it in Excel or LibreOffice and save a copy")
    wb.xlrec_dropped = dropped
    return wb


def check_file(path, *, force=False) -> list:
    """Check that ``path`` is a workbook package xlrec may open (:func:`~xlrec.io.package.check_package`);
    return what openpyxl would drop from it."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a workbook")
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(f"{path}: xlrec reads .xlsx and .xlsm workbooks (save it in one of those formats)")
    return check_package(path, force=force)  # also refuses pipes and devices, encrypted files, non-zips


def get_sheet(wb, sheet=None):
    if sheet is None:
        return wb.active
    if sheet not in wb.sheetnames:
        raise InputError(f"no sheet named {sheet!r}; the workbook has: {', '.join(wb.sheetnames)}")
    return wb[sheet]


DEFINED_NAME = "SalesMatrix"


def _parse_range(text, what):
    try:
        min_col, min_row, max_col, max_row = range_boundaries(text.replace("$", ""))
    except (ValueError, TypeError) as exc:
        raise InputError(f"{what} {text!r} is not a cell range such as A1:E7") from exc
    if None in (min_col, min_row, max_col, max_row):
        raise InputError(f"{what} {text!r} is not a cell range such as A1:E7")
    return min_row, min_col, max_row, max_col


def locate_matrix(wb, ws, cell_range: str | None = None):
    """Where the sales matrix is: (sheet, (min_row, min_col, max_row, max_col), how it was found).

    In order: ``cell_range`` (``--range``); a defined name ``SalesMatrix``; the only Excel table of the sheet
    (or the one named SalesMatrix); otherwise the largest block of touching non-empty cells, without a title
    row above it and without a "Total" row or column at its end.
    """
    if cell_range:
        return ws, skip_empty(sheet_values(ws), _parse_range(cell_range, "--range")), "the range given"
    dn = wb.defined_names.get(DEFINED_NAME) or ws.defined_names.get(DEFINED_NAME)
    if dn is not None:
        dests = list(dn.destinations)
        if len(dests) != 1 or dests[0][0] not in wb.sheetnames:
            raise InputError(f"the defined name {DEFINED_NAME} must refer to one range on one sheet "
                             f"(it refers to {dn.attr_text!r})")
        sheet = wb[dests[0][0]]
        bounds = _parse_range(dests[0][1], f"the defined name {DEFINED_NAME}")
        return sheet, skip_empty(sheet_values(sheet), bounds), f"the name {DEFINED_NAME}"
    tables = dict(ws.tables.items())
    if tables:
        name = DEFINED_NAME if DEFINED_NAME in tables else (next(iter(tables)) if len(tables) == 1 else None)
        if name is not None:
            r0, c0, r1, c1 = _parse_range(tables[name], "the table")
            r1 -= ws.tables[name].totalsRowCount or 0  # the table's totals row is not bookings
            return ws, skip_empty(sheet_values(ws), (r0, c0, r1, c1)), f"the table {name}"
    return ws, find_matrix(ws), "found on the sheet"


def find_matrix(ws, cell_range: str | None = None):
    """The (min_row, min_col, max_row, max_col) of the sales matrix on ``ws`` (see :func:`find_block`), or
    the ``cell_range`` given (e.g. ``"A1:E7"``)."""
    if cell_range:
        return skip_empty(sheet_values(ws), _parse_range(cell_range, "--range"))
    return find_block(sheet_values(ws), ws.title)


def find_block(values: dict, title: str):
    """The :class:`Bounds` (min_row, min_col, max_row, max_col) of the sales matrix among a sheet's ``values``.

    ``values`` maps (row, column), 1-based, to the value of each cell that holds one. The matrix is the
    largest block of touching non-empty cells (cells touching across a corner count; blanks inside the
    block are fine as long as the header row and the name column are whole), joined across an empty row
    or column where the block continues beyond it with its names in the same column or row
    (:func:`xlrec.sheet.layout.bridged_block`; the bounds name those rows and columns), less a title row
    above it and a totals row or column at its end. xlrec's own legend is separated by an empty column and
    never joins it.
    """
    filled = [key for key, v in values.items() if not _is_empty(v)]
    if not filled:
        raise InputError(f"sheet {title!r} is empty: no sales matrix found (use --sheet to pick another)")
    at = np.array(filled, dtype=np.int64)
    beyond = (at[:, 0] > _LAST_ROW) | (at[:, 1] > _LAST_COL)
    if beyond.any():
        r, c = (int(v) for v in at[np.argmax(beyond)])
        where = f"{cell_address(min(r, _LAST_ROW), min(c, _LAST_COL), title)}"
        raise InputError(f"sheet {title!r} holds a cell at row {r:,}, column {c:,}, beyond Excel's last cell "
                         f"XFD1048576 (near {where}): the file is damaged; open it in Excel or LibreOffice and "
                         "save a copy")
    box, rows, cols = sheet_block(values, at)
    return Bounds(box, rows, cols, bridged=True)


class Bounds(tuple):
    """(min_row, min_col, max_row, max_col) of a sales matrix, 1-based and inclusive, as a plain tuple, with
    the empty rows and columns inside it that are not part of it: ``skipped_rows``, ``skipped_cols`` (bridged
    by the finder when ``bridged``, else skipped in a range given). They hold no salesperson and no client,
    and nothing is written in them."""

    def __new__(cls, bounds, skipped_rows=(), skipped_cols=(), *, bridged=False):
        self = super().__new__(cls, tuple(bounds))
        self.skipped_rows, self.skipped_cols = tuple(sorted(skipped_rows)), tuple(sorted(skipped_cols))
        self.bridged = bridged
        return self

    def __getnewargs_ex__(self):
        return (tuple(self), self.skipped_rows, self.skipped_cols), {"bridged": self.bridged}


def positions(bounds):
    """The sheet rows of the salespeople and the sheet columns of the clients of a matrix at ``bounds``
    (a :class:`Bounds` or a plain tuple): every row and column after the first, less those skipped."""
    r0, c0, r1, c1 = bounds
    rows, cols = set(getattr(bounds, "skipped_rows", ())), set(getattr(bounds, "skipped_cols", ()))
    return [r for r in range(r0 + 1, r1 + 1) if r not in rows], [c for c in range(c0 + 1, c1 + 1) if c not in cols]


def skip_empty(values: dict, bounds) -> Bounds:
    """A range given (``--range``, a name, a table) less the rows and columns inside it that are wholly empty."""
    r0, c0, r1, c1 = bounds
    filled = [(r, c) for (r, c), v in values.items() if r0 <= r <= r1 and c0 <= c <= c1 and not _is_empty(v)]
    rows, cols = {r for r, _ in filled}, {c for _, c in filled}
    r1, c1 = max(rows, default=r0), max(cols, default=c0)  # a range of whole columns ends at its last cell
    _check_size(r0, c0, r1, c1)
    return Bounds((r0, c0, r1, c1), [r for r in range(r0 + 1, r1 + 1) if r not in rows],
                  [c for c in range(c0 + 1, c1 + 1) if c not in cols])


#: the most cells (names included) of a matrix xlrec reads: three times the Online Retail matrix
MAX_CELLS = 50_000_000


def _check_size(r0, c0, r1, c1):
    cells = (r1 - r0 + 1) * (c1 - c0 + 1)
    if cells > MAX_CELLS:
        raise InputError(f"the matrix {cell_address(r0, c0)}:{cell_address(r1, c1)} spans {cells:,} cells, more "
                         f"than the {MAX_CELLS:,} xlrec reads (are there cells far from it? give --range "
                         "around the matrix)")


def _runs(numbers, name=str):
    """``[3, 4, 7]`` as "3-4, 7" (``name`` spells each number, e.g. as a column letter)."""
    runs = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(name(a) if a == b else f"{name(a)}-{name(b)}" for a, b in runs)


def _lines(rows, cols) -> str:
    """ "row 5", "rows 3-4 and column C", ..."""
    parts = []
    if rows:
        parts.append(("rows " if len(rows) > 1 else "row ") + _runs(rows))
    if cols:
        parts.append(("columns " if len(cols) > 1 else "column ") + _runs(cols, column_letter))
    return " and ".join(parts)


def finder_remarks(bounds, hidden_rows=(), hidden_cols=()) -> list:
    """What the fill summary says about how the matrix was read: the empty rows and columns bridged or
    skipped, and the hidden rows and columns it uses (short phrases, for :attr:`FillReport.remarks`)."""
    remarks = []
    skipped_rows, skipped_cols = getattr(bounds, "skipped_rows", ()), getattr(bounds, "skipped_cols", ())
    if skipped_rows or skipped_cols:
        verb = "bridged" if getattr(bounds, "bridged", False) else "skipped"
        remarks.append(f"{verb} the empty {_lines(skipped_rows, skipped_cols)}")
    r0, c0, r1, c1 = bounds
    rows = [r for r in hidden_rows if r0 <= r <= r1 and r not in skipped_rows]
    cols = [c for c in hidden_cols if c0 <= c <= c1 and c not in skipped_cols]
    if rows or cols:
        remarks.append(f"uses hidden {_lines(rows, cols)}")
    return remarks


def hidden_lines(ws):
    """The hidden rows and columns of an openpyxl sheet."""
    rows = {r for r, d in ws.row_dimensions.items() if d.hidden}
    cols = set()
    for d in ws.column_dimensions.values():
        if d.hidden and d.min is not None:
            cols.update(range(d.min, (d.max or d.min) + 1))
    return rows, cols


def _is_formula(v) -> bool:
    return isinstance(v, (ArrayFormula, DataTableFormula)) or (isinstance(v, str) and v.startswith("="))


def _formula_text(v) -> str:
    return shown(v.text if isinstance(v, ArrayFormula) else v if isinstance(v, str) else "a data table formula")


def sheet_values(ws) -> dict:
    """{(row, column): value} of the cells of an openpyxl sheet that hold a value (read from the cells the
    sheet holds: openpyxl's ``iter_rows`` would make every empty one)."""
    return {key: cell.value for key, cell in ws._cells.items() if cell.value is not None}


def range_text(title, bounds) -> str:
    r0, c0, r1, c1 = bounds
    return f"{cell_address(r0, c0, title)}:{cell_address(r1, c1)}"


def read_matrix(ws, bounds, record: Record | None = None, cached=None) -> SalesMatrix:
    """Read the block at ``bounds`` of an openpyxl sheet as a :class:`SalesMatrix`; xlrec's earlier
    predictions (the cells that still hold what ``record`` says xlrec wrote there) read as blank; formula
    cells read as their value in ``cached`` (:func:`cached_values`)."""
    matrix = read_block(with_cached(sheet_values(ws), cached), bounds, ws.title)
    return matrix.with_blanks(match_record(matrix, record)[0])


def with_cached(values: dict, cached) -> dict:
    """``values`` with each formula cell that has a stored value read as that value (the formula itself is
    left as it is in the workbook)."""
    return {**values, **cached} if cached else values


def cached_values(path, ws, bounds) -> dict:
    """{(row, column): value} stored for the formula cells within ``bounds`` of ``ws`` by the spreadsheet
    program that last computed them (openpyxl reads them with ``data_only``); empty when there are none."""
    r0, c0, r1, c1 = bounds
    formulas = {key for key, v in sheet_values(ws).items() if r0 <= key[0] <= r1 and c0 <= key[1] <= c1
                and _is_formula(v)}
    if not formulas:
        return {}
    wb = openpyxl.load_workbook(io.BytesIO(Path(path).read_bytes()), data_only=True, read_only=True)
    try:
        rows = wb[ws.title].iter_rows(min_row=r0, max_row=r1, min_col=c0, max_col=c1, values_only=True)
        stored = {(r, c): v for r, row in enumerate(rows, r0) for c, v in enumerate(row, c0)}
    finally:
        wb.close()
    return {key: stored[key] for key in formulas if stored.get(key) is not None}


_PLAIN = {int, float}


def read_block(values: dict, bounds, title) -> SalesMatrix:
    """Read the block at ``bounds`` (a :class:`Bounds` or a plain tuple) of a sheet's ``values``
    ({(row, column): value}) as a :class:`SalesMatrix`."""
    r0, c0, r1, c1 = bounds
    _check_size(r0, c0, r1, c1)
    get = values.get
    cells = [[get((r, c)) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]
    # the cells that hold something (a sparse matrix holds few), in row then column order
    for (r, c), v in sorted(item for item in values.items() if r0 < item[0][0] <= r1 and c0 < item[0][1] <= c1
                            and type(item[1]) not in _PLAIN):
        if _is_formula(v):
            raise InputError(f"{cell_address(r, c, title)}: holds the formula {_formula_text(v)} and no value "
                             "computed from it (the workbook was saved by a program that does not compute "
                             "formulas: open and save it in Excel or LibreOffice, or paste values; "
                             "or leave totals out with --range)")
    rows, cols = positions(bounds)
    if len(rows) < r1 - r0 or len(cols) < c1 - c0:  # empty rows or columns that are not part of the matrix
        cells = [[row[0]] + [row[c - c0] for c in cols] for row in [cells[0]] + [cells[r - r0] for r in rows]]
    return matrix_from_cells(cells, sheet=title, origin=(r0, c0), positions=(rows, cols))


@dataclass(eq=False)
class FillPlan:
    """What a fill writes, worked out once for both writers (openpyxl's and the package editor).

    Attributes
    ----------
    title : str
        The sheet.
    bounds : (min_row, min_col, max_row, max_col)
        The matrix, names included.
    result : FillResult
        The fill, on the matrix with xlrec's earlier predictions read as blanks.
    earlier : ndarray of bool
        Cells that held xlrec's earlier prediction (they are predicted again, or cleared).
    typed_over : ndarray of bool
        Cells the record names that hold another value now: bookings, whose marking goes.
    remarks : list of str
        Phrases for the summary line and the legend.
    """

    title: str
    bounds: tuple
    result: FillResult
    earlier: np.ndarray
    typed_over: np.ndarray
    remarks: list

    @cached_property
    def written(self) -> np.ndarray:
        return self.result.predicted | self.result.fallback

    @property
    def with_notes(self) -> bool:
        """Whether each predicted cell gets a note: when the matrix has up to :data:`NOTE_LIMIT` blanks (a note
        on each of millions of cells is not something anyone reads, and no spreadsheet program opens it
        quickly)."""
        return _with_notes(self.result.matrix)

    @cached_property
    def cleared(self) -> np.ndarray:
        """Earlier predictions that cannot be made now: back to blank."""
        return self.earlier & self.result.unfilled

    def record(self, people_notes=()):
        """The rows of the record sheet (:func:`~xlrec.sheet.records.iter_record_rows`), made one at a time."""
        m = self.result.matrix
        return iter_record_rows(self.title, m.salespeople, m.clients, self.result.values, self.written, people_notes)

    def at(self, mask):
        """(row, column, i, j) on the sheet of every cell of ``mask``."""
        rows, cols = (np.array(p, dtype=np.int64) for p in positions(self.bounds))
        ii, jj = np.nonzero(mask)
        return zip(rows[ii].tolist(), cols[jj].tolist(), ii.tolist(), jj.tolist())


def plan_fill(values: dict, bounds, title, record: Record | None, cached=None, remarks=(), progress=None,
              fitted=None, model_file=None, **params) -> FillPlan:
    """Read the matrix at ``bounds`` of a sheet's ``values`` (formula cells as their ``cached`` values), tell
    xlrec's earlier predictions from bookings by ``record``, and fill it with the model that ``params``
    name (:func:`~xlrec.core.models.make_model`), or with ``fitted(matrix)``, a model already fitted elsewhere
    that answers for this matrix (cp fitted once over a workbook's period sheets), or with the fitted
    ``model_file`` (a model read from a file: applied without fitting, new salespeople and clients folded in,
    :meth:`~xlrec.core.models.Model.fold_in`). ``remarks`` (how the matrix was found) start the plan's
    remarks."""
    matrix, earlier, typed = read_sheet(values, bounds, title, record, cached)
    learn = matrix.with_blanks(earlier)
    remarks = list(remarks)
    if model_file is not None:
        folded = model_file.fold_in(learn)
        result = _fill(folded, progress, learn)
        remarks += [_model_file_phrase(model_file)] + folded.remarks
    else:
        result = _fill(fitted(learn) if fitted is not None else choose_model(learn, **params).fit(learn), progress, learn)
    kept = typed_over_phrase(int((typed & matrix.known).sum()))
    if kept:
        remarks.append(kept)
    plan = FillPlan(title, bounds, result, earlier, typed, remarks)
    if not plan.with_notes:
        remarks.append(f"no note on each of the {int(plan.written.sum()):,} predicted cells (more than "
                       f"{NOTE_LIMIT:,} blanks): the colour marks them, 'xlrec predict' explains any one")
    rows, cols = positions(bounds)
    written = np.zeros((bounds[2] - bounds[0], bounds[3] - bounds[1]), dtype=bool)  # on the sheet's grid
    written[np.ix_(np.array(rows, dtype=np.int64) - bounds[0] - 1, np.array(cols, dtype=np.int64) - bounds[1] - 1)] \
        = plan.written
    sums = formulas_phrase(formulas_over(values, title, (bounds[0] + 1, bounds[1] + 1), written))
    if sums:
        remarks.append(sums)
    return plan


def read_sheet(values: dict, bounds, title, record: Record | None, cached=None):
    """(matrix, earlier, typed_over) of the block at ``bounds``: the matrix as it is on the sheet, xlrec's
    earlier predictions in it and the cells typed over them (:func:`~xlrec.sheet.records.match_record`)."""
    matrix = read_block(with_cached(values, cached), bounds, title)
    earlier, typed = match_record(matrix, record)
    return matrix, earlier, typed


def _with_notes(matrix) -> bool:
    return int((~matrix.known).sum()) <= NOTE_LIMIT


def _model_file_phrase(model) -> str:
    card = getattr(model, "card_", {})
    name = Path(card.get("path", "the model file")).name
    return f"predicted by model file {name} ({model.name}, trained {str(card.get('trained', '?'))[:10]})"


def _fill(model, progress, matrix):
    """``model.fill()`` (a fitted model's, or a :class:`~xlrec.core.models.base.FoldIn`'s) of ``matrix``,
    explained when the cells will get notes, telling ``progress("predicting", done, total)`` as it goes."""
    explain = _with_notes(matrix)
    if progress is None:
        return model.fill(explain=explain)
    return model.fill(explain=explain, progress=lambda done, total: progress("predicting", done, total))


def _formats(fmt_of, known, bounds, general):
    """The number format for predicted cells of each column and row: the one most known cells of the client's
    column have (else of the salesperson's row), or None; ``fmt_of(row, column)`` gives a cell's format."""
    at_row, at_col = positions(bounds)
    cols, rows = {}, {}
    for i, j in zip(*np.nonzero(known)):
        f = fmt_of(at_row[i], at_col[j])
        if f != general:
            cols.setdefault(int(j), Counter())[f] += 1
            rows.setdefault(int(i), Counter())[f] += 1

    def pick(counts, n):
        return [counts[k].most_common(1)[0][0] if k in counts else None for k in range(n)]

    return pick(cols, known.shape[1]), pick(rows, known.shape[0])


def mark_predictions(ws, plan: FillPlan) -> set:
    """Write every filled blank with its fill colour, number format and a note naming its neighbours (below a
    person's own note, if the cell has one); take xlrec's marking off cells typed over and clear earlier
    predictions that cannot be made now; add a legend. Returns the (salesperson, client) of the written cells
    that have a person's note."""
    people = set()
    m = plan.result.matrix
    result = plan.result
    notes = note_texts(result) if plan.with_notes else None
    col_fmt, row_fmt = _formats(lambda r, c: ws.cell(row=r, column=c).number_format, result.matrix.known,
                                plan.bounds, "General")
    for r, c, i, j in plan.at(plan.written):
        cell = ws.cell(row=r, column=c)
        cell.value = float(result.values[i, j])
        cell.fill = _FILL
        if cell.number_format == "General":
            cell.number_format = col_fmt[j] or row_fmt[i] or "#,##0.00"
        old = cell.comment
        own = without_note(old.text) if old is not None else None
        if own is not None:
            people.add((m.salespeople[i], m.clients[j]))
        if notes is not None:
            text = with_note(own, notes[i, j])
            author = old.author if own is not None else NOTE_AUTHOR
            cell.comment = Comment(text, author, height=max(80, 20 * (text.count("\n") + 2)), width=320)
        elif old is not None and own != old.text:  # no notes at this size: an earlier note of xlrec's goes
            cell.comment = None if own is None else Comment(own, old.author, height=old.height, width=old.width)
    for r, c, i, j in plan.at(plan.cleared | plan.typed_over):
        cell = ws.cell(row=r, column=c)
        if plan.cleared[i, j]:
            cell.value = None
        _unmark(cell)
    _legend(ws, plan)
    return people


def _unmark(cell):
    """Take xlrec's fill and note off an openpyxl cell (a person's own note stays)."""
    if cell.fill is not None and cell.fill.fgColor is not None and str(cell.fill.fgColor.rgb).upper().endswith(
            PREDICTED_COLOR.lstrip("#").upper()):
        cell.fill = PatternFill()
    old = cell.comment
    if old is not None:
        own = without_note(old.text)
        cell.comment = None if own is None else Comment(own, old.author, height=old.height, width=old.width)


def write_record(wb, name, rows):
    """Write the record sheet ``name`` (hidden; replaced when it exists) with ``rows``, text as text."""
    if name in wb.sheetnames:
        ws = wb[name]
        ws.delete_rows(1, ws.max_row)
    else:
        ws = wb.create_sheet(name)
    ws.sheet_state = "hidden"
    for r, row in enumerate(rows, 1):
        for c, v in enumerate(row, 1):
            if v is not None:
                put(ws.cell(row=r, column=c), v)


def _workbook_records(wb) -> dict:
    """{sheet title: (Record, record sheet name)} of an openpyxl workbook."""
    return find_records((ws.title, lambda ws=ws: sheet_values(ws)) for ws in wb.worksheets)


_OLD_NOTE = re.compile(r"^xlrec prediction: (-?[\d,]+(?:\.\d+)?) ")


def legacy_record(ws, bounds, title) -> Record | None:
    """The record of a sheet filled by xlrec 0.1, which kept none: its cells with xlrec's note that still hold
    the amount the note gives (0.1 wrote predictions rounded to cents, and the same amount in the note)."""
    r0, c0, r1, c1 = bounds
    found = {}
    for (r, c), cell in ws._cells.items():
        if r0 < r <= r1 and c0 < c <= c1 and cell.comment is not None and cell.comment.author == NOTE_AUTHOR:
            m = _OLD_NOTE.match(str(cell.comment.text))
            if m and isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                found[r, c] = float(m.group(1).replace(",", ""))
    if not found:
        return None
    rows, cols = sorted({r for r, _ in found}), sorted({c for _, c in found})
    values = np.full((len(rows), len(cols)), np.nan)
    for (r, c), v in found.items():
        values[rows.index(r), cols.index(c)] = v
    return Record(title, tuple(_label(ws.cell(row=r, column=c0).value) for r in rows),
                  tuple(_label(ws.cell(row=r0, column=c).value) for c in cols), values)


def _package_records(package) -> dict:
    """{sheet title: (Record, record sheet name)} of a :class:`Package` (Unsupported when one cannot be read)."""
    return find_records((name, lambda name=name: package.sheet(name, tables=True).values) for name in package.sheets)


_LAST_ROW, _LAST_COL = 1_048_576, 16_384  # Excel's XFD1048576


def _legend_at(values: dict, bounds):
    """The (row, column) of the legend's first cell (its second is below it): the first column beyond the
    matrix, after an empty one, that is free (or holds an earlier legend) in the matrix's first two rows; when
    the matrix ends too near Excel's last column, the first such place below the matrix."""
    r0, c0, r1, c1 = bounds

    def free(r, c):
        a, b = values.get((r, c)), values.get((r + 1, c))
        return a == LEGEND_TEXT or (_is_empty(a) and _is_empty(b))

    col = next((c for c in range(c1 + 2, _LAST_COL + 1) if free(r0, c)), None)
    if col is not None:
        return r0, col
    row = next((r for r in range(r1 + 2, _LAST_ROW) if free(r, c0)), None)
    if row is None:
        raise InputError(f"no room for xlrec's legend beside or below the matrix at {cell_address(r0, c0)} "
                         "(it ends at Excel's last column and row)")
    return row, c0


def _legend_text(plan):
    return "; ".join([f"{plan.result.model.describe()}; {plan.result.summary()}", *plan.remarks])


def _legend(ws, plan):
    row, col = _legend_at(sheet_values(ws), plan.bounds)
    a, b = ws.cell(row=row, column=col), ws.cell(row=row + 1, column=col)
    put(a, LEGEND_TEXT).fill = _FILL
    put(b, _legend_text(plan))


def save_atomic(wb, path):
    """Save to a temporary file beside ``path``, then rename it into place; every number with all its digits
    (:func:`~xlrec.io.cells.exact_numbers`)."""
    def save(tmp):
        with exact_numbers():
            wb.save(tmp)

    write_atomic(path, save)


@dataclass
class FillReport:
    """What :func:`fill_workbook` did."""

    output: Path
    sheet: str
    range: str
    result: FillResult
    how: str = "found on the sheet"
    dropped: list = ()
    remarks: list = field(default_factory=list)

    @property
    def n_filled(self) -> int:
        return self.result.n_filled

    @property
    def n_unfilled(self) -> int:
        return self.result.n_unfilled

    def summary(self) -> str:
        text = f"{self.output}: {self.result.summary()} in {self.range}"
        if self.how != "found on the sheet":
            text += f" ({self.how})"
        for remark in self.remarks:
            text += f"; {remark}"
        if self.dropped:
            text += f"; dropped as asked (--force): {', '.join(self.dropped)}"
        return text


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_output(input_path, output_path):
    """Refuse an output that is the input, or that changes the extension (and with it the content type)."""
    input_path, output_path = Path(input_path), Path(output_path)
    if _same_file(input_path, output_path) or input_path.resolve() == output_path.resolve():
        raise InputError(f"{output_path}: is the input file; xlrec never overwrites its input "
                         "(give another output name)")
    if input_path.suffix.lower() in SUFFIXES and output_path.suffix.lower() != input_path.suffix.lower():
        raise InputError(f"{output_path}: the output must have the input's extension "
                         f"({input_path.suffix}), so that the workbook's content type stays right")
    return input_path, output_path


@dataclass
class BookReport:
    """What :func:`fill_workbook` did with ``all_sheets``: a :class:`FillReport` per sheet filled, and the sheets
    left alone because they hold no sales matrix."""

    output: Path
    reports: list
    skipped: list

    @property
    def n_filled(self) -> int:
        return sum(r.n_filled for r in self.reports)

    @property
    def n_unfilled(self) -> int:
        return sum(r.n_unfilled for r in self.reports)

    @property
    def range(self) -> str:
        return ", ".join(r.range for r in self.reports)

    def summary(self) -> str:
        lines = [r.summary() for r in self.reports]
        if self.skipped:
            lines.append(f"{self.output}: left alone, no sales matrix on: {', '.join(self.skipped)}")
        return "\n".join(lines)


def _sheet_jobs(input_path, package, sheet, cell_range, all_sheets):
    """The sheets to fill: (jobs, skipped, records, wb), jobs being (title, values, bounds, how, part, cached,
    remarks); read from the package's XML where it can, else through openpyxl (``wb``, else None)."""
    wb = None
    skipped = []
    try:  # the whole fill from the package's XML
        if package is None or (cell_range is None and DEFINED_NAME.casefold() in package.defined_names):
            raise Unsupported("the matrix is located by openpyxl")
        records = _package_records(package)
        kept = {at for _, at in records.values()}
        titles = ([t for t in package.sheets if t not in kept] if all_sheets else
                  [package.active if sheet is None else sheet])
        jobs = []  # (title, values, bounds, how, part, cached, remarks)
        for title in titles:
            part = package.sheet(title)
            values = part.values
            if cell_range:
                bounds, how = skip_empty(values, _parse_range(cell_range, "--range")), "the range given"
            else:
                bounds, how = _found(values, title), "found on the sheet"
                if bounds is None or not holds_matrix(values, bounds):
                    if all_sheets:
                        skipped.append(title)
                        continue
                    if sheet is None:  # the active sheet was a guess: openpyxl's path names the sheets with one
                        raise Unsupported("the active sheet holds no sales matrix")
                    bounds = find_block(values, title)  # the error that says why
            jobs.append((title, values, bounds, how, part, part.cached,
                         finder_remarks(bounds, part.hidden_rows, part.hidden_cols)))
    except Unsupported:  # openpyxl reads it
        wb = load_workbook(input_path, force=True)
        records = _workbook_records(wb)
        kept = {at for _, at in records.values()}
        jobs, skipped = [], []
        if all_sheets:
            found = []
            for ws in wb.worksheets:
                if ws.title in kept or not looks_like_matrix(sheet_values(ws), ws.title):
                    if ws.title not in kept:
                        skipped.append(ws.title)
                    continue
                at, bounds, how = locate_matrix(wb, ws, None)
                if at is not ws:  # the name SalesMatrix is on another sheet
                    bounds, how = find_matrix(ws), "found on the sheet"
                found.append((ws, bounds, how))
        else:
            ws, bounds, how, _ = _locate_and_read(wb, input_path, sheet, cell_range)
            found = [(ws, bounds, how)]
        for ws, bounds, how in found:
            if ws.title not in records:
                old = legacy_record(ws, bounds, ws.title)
                if old is not None:
                    records[ws.title] = (old, None)
            try:
                part = package.sheet(ws.title, tables=True) if package is not None else None
            except Unsupported:
                part = None
            jobs.append((ws.title, sheet_values(ws), bounds, how, part, cached_values(input_path, ws, bounds),
                         finder_remarks(bounds, *hidden_lines(ws))))
    return jobs, skipped, records, wb


def fill_workbook(input_path, output_path, *, sheet=None, cell_range=None, all_sheets=False, force=False,
                  progress=None, model_file=None, **params):
    """Fill every blank of the sales matrix in ``input_path`` (of every sheet's, with ``all_sheets``) and write
    the result to ``output_path``.

    ``params`` name the model and its parameters (:func:`~xlrec.core.models.make_model`). The input file is never written. The output is the input's
    package with only the filled cells, their styles and notes, the legend and xlrec's hidden record sheets
    changed (:class:`Package`), so nothing else in it changes. A sheet with tables, or a workbook with the
    name SalesMatrix, is read through openpyxl; a sheet that has notes is also written through openpyxl, and
    then what openpyxl would drop is refused unless ``force``. ``progress(stage, done, total)``, if given,
    hears how the predicting and the writing go. Returns a :class:`FillReport`, or with ``all_sheets`` a
    :class:`BookReport`.

    With ``model="cp"`` (and neither ``sheet`` nor ``cell_range``), a workbook with a sales matrix on two
    sheets or more is bookings over periods, each sheet's name its period (as ``xlrec pivot --date COL
    --period P`` writes it): cp is fitted once on every sheet's matrix together and fills each sheet's blanks
    for that sheet's period (:meth:`~xlrec.core.models.CPModel.for_period`); a :class:`BookReport` is
    returned. Any other model fills each sheet from its own matrix.

    ``model_file`` (a path, a name in the models folder, or a model read from a file) fills with a model trained
    by ``xlrec train`` instead (:func:`plan_fill`); ``params`` must then be empty.
    """
    input_path, output_path = check_output(input_path, output_path)
    if all_sheets and (sheet is not None or cell_range is not None):
        raise InputError("--all-sheets fills the matrix of every sheet: leave out --sheet and --range")
    model_file = _model_file(model_file, params)
    dropped = check_file(input_path, force=True)
    package = _package(input_path)
    periods = params.get("model") == "cp" and sheet is None and cell_range is None
    jobs, skipped, records, wb = _sheet_jobs(input_path, package, sheet, cell_range, all_sheets or periods)
    if periods and len(jobs) < 2:  # one matrix: filled as one, as any model does
        periods = False
        if not all_sheets:
            jobs, skipped, records, wb = _sheet_jobs(input_path, package, sheet, cell_range, False)
    if not jobs:
        raise InputError(f"{input_path}: no sheet holds a sales matrix (looked at {', '.join(skipped)})")
    fitted = _fit_periods(jobs, records, params) if periods else {}
    names = list(package.sheets) if package is not None else wb.sheetnames
    plans, reports = [], []
    for title, values, bounds, how, part, cached, remarks in jobs:
        record, record_at = records.get(title, (None, None))
        fit, remark = fitted.get(title, (None, None))
        plan = plan_fill(values, bounds, title, record, cached, remarks + ([remark] if remark else []), progress,
                         fitted=fit, model_file=model_file, **params)
        rows = plan.record() if record is not None or plan.written.any() else None
        name = record_at or record_sheet_name(names, title, {})
        if record_at is None and rows is not None:
            names.append(name)
        plans.append((plan, values, part, name, rows))
        reports.append(FillReport(output_path, title, range_text(title, bounds), plan.result, how, [], plan.remarks))
    report = BookReport(output_path, reports, skipped) if all_sheets or fitted else reports[0]
    if all(part is not None for _, _, part, _, _ in plans):
        sheets = [(part, _PlanCells(values, plan, part, package.styles, progress))
                  for plan, values, part, _, _ in plans]
        recorded = [(name, rows) for _, _, _, name, rows in plans if rows is not None]
        try:
            write_atomic(output_path, lambda tmp: package.write(tmp, sheets, author=NOTE_AUTHOR,
                                                                rgb=PREDICTED_COLOR.lstrip("#"), records=recorded))
            return report
        except Unsupported:  # a sheet laid out in a way the editor does not know: openpyxl writes it
            pass
    if dropped and not force:
        raise refusal(input_path, dropped)
    if wb is None:
        wb = load_workbook(input_path, force=True)
    for plan, _, _, name, rows in plans:
        people = mark_predictions(get_sheet(wb, plan.title), plan)
        if rows is not None:
            write_record(wb, name, plan.record(people))
    save_atomic(wb, output_path)
    for r in reports:
        r.dropped = dropped
    return report


def _fit_periods(jobs, records, params) -> dict:
    """cp fitted once on the matrices of every sheet (the sheets' names are the periods, as 'pivot --date
    --period' writes them): {title: (model maker for plan_fill, remark)}."""
    from ..core.tensor import SalesTensor

    learn = {}
    for title, values, bounds, how, part, cached, remarks in jobs:
        matrix, earlier, _ = read_sheet(values, bounds, title, records.get(title, (None, None))[0], cached)
        learn[title.strip()] = matrix.with_blanks(earlier)
    tensor = SalesTensor.from_matrices(learn)
    model = make_model(**params).fit(tensor)
    remark = (f"cp fitted once on the {len(learn)} period sheets ({tensor.periods[0]} to {tensor.periods[-1]}; "
              "each sheet's name is its period)")
    return {title: (lambda matrix, period=title.strip(): model.for_period(matrix, period), remark)
            for title, *_ in jobs}


def _package(path):
    """The workbook's :class:`Package`, or None when it cannot be edited in place (openpyxl then reads it,
    and reports what is wrong with it)."""
    try:
        return Package(path)
    except Exception:  # noqa: BLE001 - any trouble reading the package: openpyxl's reader says what it is
        return None


class _PlanCells(CellRows):
    """What :meth:`Package.write` writes for a :class:`FillPlan`, row by row as the writer asks: every filled
    blank with its note and number format, the cells whose marking goes (typed over, or earlier predictions
    cleared), and the legend. Made a row at a time, a fill of millions of cells never holds them all."""

    def __init__(self, values, plan: FillPlan, part, styles, progress=None):
        result = self.result = plan.result
        self.plan, self.values, self.progress = plan, values, progress
        style_at = {(r, col): style for r, cells in part.cells.items() for col, _, _, style in cells}
        self.col_fmt, self.row_fmt = _formats(lambda r, c: styles.number_format(style_at.get((r, c), 0)),
                                              result.matrix.known, plan.bounds, 0)
        self.touch = plan.written | plan.cleared | plan.typed_over
        self.notes_by_cell = note_texts(result) if plan.with_notes else {}
        at_row, at_col = positions(plan.bounds)
        self.at_col = np.array(at_col, dtype=np.int64)
        self.row_of = {r: i for i, r in enumerate(at_row)}
        self._rows = [at_row[i] for i in np.flatnonzero(self.touch.any(axis=1)).tolist()]
        at, col = _legend_at(values, plan.bounds)
        self.legend = {at: [Cell(at, col, LEGEND_TEXT, True)], at + 1: [Cell(at + 1, col, _legend_text(plan), False)]}
        self.done = 0

    @property
    def rows(self):
        return list(dict.fromkeys(self._rows + list(self.legend)))

    def row(self, r):
        cells = list(self.legend.get(r, ()))
        i = self.row_of.get(r)
        if i is None:
            return cells
        plan, cols, notes = self.plan, self.at_col, self.notes_by_cell
        written, cleared = plan.written[i], plan.cleared[i]
        values = self.result.values[i]
        fmt = self.row_fmt[i]
        if notes:
            for j in np.flatnonzero(written).tolist():
                cells.append(Cell(r, int(cols[j]), float(values[j]), True, notes.get((i, j)), self.col_fmt[j] or fmt))
        else:  # many cells, no notes: one item for the row's numbers
            jj = np.flatnonzero(written)
            col_fmt = self.col_fmt
            cells.append(Numbers(r, cols[jj].tolist(), values[jj].tolist(), [col_fmt[j] or fmt for j in jj.tolist()]))
        for j in np.flatnonzero(self.touch[i] & ~written).tolist():
            c = int(cols[j])
            cells.append(Cell(r, c, None if cleared[j] else self.values.get((r, c)), False))
        self.done += 1
        if self.progress is not None:
            self.progress("writing", self.done, len(self._rows))
        return cells

    def notes(self):
        rows, cols = positions(self.plan.bounds)
        return [Cell(rows[i], cols[j], None, True, text) for (i, j), text in sorted(self.notes_by_cell.items())]


def _sheet_record(wb, title):
    return _workbook_records(wb).get(title, (None, None))[0]


def read_matrix_for_model(input_path, *, sheet=None, cell_range=None) -> SalesMatrix:
    """The workbook's sales matrix as a model learns from it: xlrec's earlier predictions read as blanks,
    bookings typed over them as bookings. The file is only read."""
    wb = load_workbook(input_path, force=True)  # nothing is written: nothing can be lost
    ws, bounds, _, matrix = _locate_and_read(wb, input_path, sheet, cell_range)
    record = _sheet_record(wb, ws.title) or legacy_record(ws, bounds, ws.title)
    return matrix.with_blanks(match_record(matrix, record)[0])


def predict_from_workbook(input_path, salesperson, client, *, sheet=None, cell_range=None, model_file=None,
                          **params):
    """Predict and explain one cell of the workbook's sales matrix (read by :func:`read_matrix_for_model`),
    with the model ``params`` name, or with ``model_file`` (:func:`fill_workbook`)."""
    model_file = _model_file(model_file, params)
    matrix = read_matrix_for_model(input_path, sheet=sheet, cell_range=cell_range)
    if model_file is not None:
        return model_file.fold_in(matrix).predict(salesperson, client)
    return choose_model(matrix, **params).fit(matrix).predict(salesperson, client)


def _model_file(model_file, params):
    """The fitted model of ``model_file`` (a path, a name in the models folder, or a loaded model), or None;
    a model file fixes the model and its parameters, so ``params`` must then be empty."""
    if model_file is None:
        return None
    if params:
        raise InputError(f"--model-file: the model file fixes the model and its parameters; leave out "
                         f"{', '.join('--model' if k == 'model' else '--' + k.replace('_', '-') for k in params)}")
    if isinstance(model_file, Model):
        return model_file
    from ..sheet.models import load_cached

    return load_cached(model_file)


def _locate_and_read(wb, path, sheet, cell_range):
    """Find and read the matrix through openpyxl: (sheet, bounds, how, matrix). When the sheet was guessed
    (the active one) and holds nothing like a matrix, the error names the sheets that look like they do."""
    ws = get_sheet(wb, sheet)
    try:
        ws, bounds, how = locate_matrix(wb, ws, cell_range)
        return ws, bounds, how, read_matrix(ws, bounds, cached=cached_values(path, ws, bounds))
    except InputError as exc:
        guessed = sheet is None and not cell_range and wb.defined_names.get(DEFINED_NAME) is None
        if guessed and not looks_like_matrix(sheet_values(ws), ws.title):
            others = [t.title for t in wb.worksheets
                      if t is not ws and looks_like_matrix(sheet_values(t), t.title)]
            if others:
                raise InputError(f"sheet {ws.title!r}, the active sheet, holds no sales matrix ({exc}); sheets that "
                                 f"look like they hold one: {', '.join(map(repr, others))} (pick one with --sheet "
                                 f"NAME, e.g. --sheet {shlex.quote(others[0])})") from None
        raise


def _found(values: dict, title):
    """:func:`find_block`, or None where it finds nothing."""
    try:
        return find_block(values, title)
    except InputError:
        return None


def looks_like_matrix(values: dict, title) -> bool:
    """Whether a sheet's ``values`` look like they hold a sales matrix (:func:`holds_matrix` of the block
    :func:`find_block` finds)."""
    bounds = _found(values, title)
    return bounds is not None and holds_matrix(values, bounds)


def holds_matrix(values: dict, bounds) -> bool:
    """Whether the block at ``bounds`` holds a sales matrix: client names, at least two salesperson names and
    at least one number among its cells."""
    rows, cols = positions(bounds)
    if len(rows) < 2 or not cols:
        return False
    for r in rows:
        for c in cols:
            v = values.get((r, c))
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return True
            if isinstance(v, str) and parse_number_text(v.strip()) is not None:
                return True
    return False
