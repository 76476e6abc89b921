"""Workbook files (openpyxl): find the sales matrix, read it, write the predictions and mark them.

The only layer that imports openpyxl. The input file is never written; outputs go to a temporary file in
the output's folder and are renamed into place, so an interrupted run leaves no partial file.
"""

from __future__ import annotations

import io
import os
import shlex
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Color, PatternFill
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from ..core.base import FillResult
from ..core.layout import bridged_block, is_empty as _is_empty
from ..core.matrix import SalesMatrix, _parse_number_text, cell_address, column_letter, shown
from ..core.neighbors import NeighborModel
from ..exceptions import InputError, WorkbookError
from .package import check_package, refusal
from .splice import Cell, Package, Unsupported
from ..style import LEGEND_TEXT, NOTE_AUTHOR, NOTE_PREFIX, PREDICTED_COLOR, note_text, note_texts

__all__ = ["load_workbook", "check_file", "find_matrix", "find_block", "sheet_values", "locate_matrix", "read_matrix",
           "read_block", "mark_predictions", "save_atomic", "save_text_atomic", "fill_workbook",
           "FillReport", "SUFFIXES", "Bounds", "positions"]

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
    if not zipfile.is_zipfile(path):
        raise WorkbookError(f"{path}: is not an Excel workbook (the file is not a zip package; "
                            "is it corrupt, or an old .xls renamed?)")
    return check_package(path, force=force)


def get_sheet(wb, sheet=None):
    if sheet is None:
        return wb.active
    if sheet not in wb.sheetnames:
        raise InputError(f"no sheet named {sheet!r}; the workbook has: {', '.join(wb.sheetnames)}")
    return wb[sheet]


def _is_prediction(cell) -> bool:
    c = cell.comment
    return c is not None and c.author == NOTE_AUTHOR and str(c.text).startswith(NOTE_PREFIX)


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
    (:func:`xlrec.core.layout.bridged_block`; the bounds name those rows and columns), less a title row
    above it and a totals row or column at its end. xlrec's own legend is separated by an empty column and
    never joins it.
    """
    filled = [key for key, v in values.items() if not _is_empty(v)]
    if not filled:
        raise InputError(f"sheet {title!r} is empty: no sales matrix found (use --sheet to pick another)")
    at = np.array(filled) - 1
    grid = np.zeros(at.max(axis=0) + 1, dtype=bool)
    grid[at[:, 0], at[:, 1]] = True
    (top, left, bottom, right), rows, cols = bridged_block(grid, lambda r, c: values.get((r + 1, c + 1)))
    return Bounds((top + 1, left + 1, bottom, right), [r + 1 for r in rows], [c + 1 for c in cols], bridged=True)


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
    return Bounds(bounds, [r for r in range(r0 + 1, r1 + 1) if r not in rows],
                  [c for c in range(c0 + 1, c1 + 1) if c not in cols])


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


def read_matrix(ws, bounds, cached=None) -> SalesMatrix:
    """Read the block at ``bounds`` of an openpyxl sheet as a :class:`SalesMatrix`; xlrec's earlier
    predictions (cells with xlrec's note) read as blank; formula cells read as their value in ``cached``
    (:func:`cached_values`)."""
    predicted = {key for key, cell in ws._cells.items() if cell.comment is not None and _is_prediction(cell)}
    return read_block(with_cached(sheet_values(ws), cached), bounds, ws.title, predicted)


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


def read_block(values: dict, bounds, title, predicted=frozenset()) -> SalesMatrix:
    """Read the block at ``bounds`` of a sheet's ``values`` ({(row, column): value}) as a
    :class:`SalesMatrix`; the cells in ``predicted`` read as blank."""
    r0, c0, r1, c1 = bounds
    get = values.get
    cells = [[get((r, c)) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]
    for r, row in enumerate(cells[1:], r0 + 1):
        for c, v in enumerate(row[1:], c0 + 1):
            if _is_formula(v):
                raise InputError(f"{cell_address(r, c, title)}: holds the formula {_formula_text(v)} and no value "
                                 "computed from it (the workbook was saved by a program that does not compute "
                                 "formulas: open and save it in Excel or LibreOffice, or paste values; "
                                 "or leave totals out with --range)")
    for r, c in predicted:
        if r0 < r <= r1 and c0 < c <= c1:
            cells[r - r0][c - c0] = None  # xlrec's own earlier prediction
    rows, cols = positions(bounds)
    if len(rows) < r1 - r0 or len(cols) < c1 - c0:  # empty rows or columns that are not part of the matrix
        cells = [[row[0]] + [row[c - c0] for c in cols] for row in [cells[0]] + [cells[r - r0] for r in rows]]
    return SalesMatrix.from_cells(cells, sheet=title, origin=(r0, c0), positions=(rows, cols))


def mark_predictions(ws, bounds, result: FillResult):
    """Write every filled blank with its fill colour and a note naming its neighbours; add a legend."""
    rows, cols = positions(bounds)  # the sheet row and column of each salesperson and client
    filled = result.predicted | result.fallback
    for i, j in zip(*np.nonzero(filled)):
        cell = ws.cell(row=rows[i], column=cols[j])
        cell.value = round(float(result.values[i, j]), 2)
        cell.fill = _FILL
        if "0.00" not in cell.number_format:  # show the cents a prediction has
            cell.number_format = "#,##0.00"
        text = note_text(result.prediction(int(i), int(j)))
        cell.comment = Comment(text, NOTE_AUTHOR, height=max(80, 20 * (text.count("\n") + 2)), width=320)
    # blanks left blank: clear any earlier xlrec marking so nothing stale remains
    for i, j in zip(*np.nonzero(result.unfilled)):
        cell = ws.cell(row=rows[i], column=cols[j])
        if _is_prediction(cell):
            cell.value, cell.comment, cell.fill = None, None, PatternFill()
    _legend(ws, bounds, result)


def _legend_column(values: dict, bounds):
    """The column of the legend: the first beyond the matrix, after an empty one, that is free (or holds
    an earlier legend) in the matrix's first two rows."""
    r0, c0, r1, c1 = bounds
    col = c1 + 2
    while True:
        a, b = values.get((r0, col)), values.get((r0 + 1, col))
        if a == LEGEND_TEXT or (_is_empty(a) and _is_empty(b)):
            return col
        col += 1


def _legend_text(result):
    return f"{result.model.describe()}; {result.summary()}"


def _legend(ws, bounds, result):
    col = _legend_column(sheet_values(ws), bounds)
    a, b = ws.cell(row=bounds[0], column=col), ws.cell(row=bounds[0] + 1, column=col)
    a.value = LEGEND_TEXT
    a.fill = _FILL
    b.value = _legend_text(result)


def _file_mode(path):
    """The mode of the file being replaced, or what the umask gives a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def save_atomic(wb, path):
    """Save to a temporary file beside ``path``, then rename it into place."""
    write_atomic(path, wb.save)


def write_atomic(path, write):
    """Call ``write(temporary path)`` for a file beside ``path``, then rename it into place; on any error
    the temporary file is removed and ``path`` is left as it was."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{path}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600; give the file the mode a plain save would
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_text_atomic(text: str, path) -> None:
    """Write a text file (UTF-8) through a temporary file and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class FillReport:
    """What :func:`fill_workbook` did."""

    output: Path
    sheet: str
    range: str
    result: FillResult
    how: str = "found on the sheet"
    dropped: list = ()
    #: short phrases the summary adds after the range, e.g. "bridged the empty row 5", "uses hidden rows 3-4"
    remarks: list = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.output}: {self.result.summary()} in {self.range}"
        if self.how != "found on the sheet":
            text += f" ({self.how})"
        if self.remarks:
            text += "; " + "; ".join(self.remarks)
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


def fill_workbook(input_path, output_path, *, sheet=None, cell_range=None, force=False, **params) -> FillReport:
    """Fill every blank of the sales matrix in ``input_path`` and write the result to ``output_path``.

    ``params`` go to :class:`NeighborModel`. The input file is never written. The output is the input's
    package with only the filled cells, their styles and notes, and the legend added (:class:`Package`), so
    nothing else in it changes. A sheet with tables, or a workbook with the name SalesMatrix, is read
    through openpyxl; a sheet that has notes of its own is also written through openpyxl, and then what
    openpyxl would drop is refused unless ``force``.
    """
    input_path, output_path = check_output(input_path, output_path)
    dropped = check_file(input_path, force=True)
    package = _package(input_path)
    wb = None
    try:  # the whole fill from the package's XML
        if package is None or (cell_range is None and DEFINED_NAME.casefold() in package.defined_names):
            raise Unsupported("the matrix is located by openpyxl")
        title = package.active if sheet is None else sheet
        part = package.sheet(title)
        values = part.values
        bounds, how, matrix = _read_part(part, title, guessed=sheet is None, cell_range=cell_range)
        remarks = finder_remarks(bounds, part.hidden_rows, part.hidden_cols)
    except Unsupported:  # openpyxl reads it
        wb = load_workbook(input_path, force=True)
        ws, bounds, how, matrix = _locate_and_read(wb, input_path, sheet, cell_range)
        title, remarks = ws.title, finder_remarks(bounds, *hidden_lines(ws))
        values = sheet_values(ws)
        try:
            part = package.sheet(title, tables=True) if package is not None else None
        except Unsupported:
            part = None
    result = NeighborModel(**params).fit(matrix).fill(explain=True)
    if part is not None:
        cells = _cells(values, bounds, result)
        try:
            write_atomic(output_path, lambda tmp: package.write(tmp, part, cells, author=NOTE_AUTHOR,
                                                                rgb=PREDICTED_COLOR.lstrip("#")))
            return FillReport(output_path, title, range_text(title, bounds), result, how, [], remarks)
        except Unsupported:  # a sheet laid out in a way the editor does not know: openpyxl writes it
            pass
    if dropped and not force:
        raise refusal(input_path, dropped)
    if wb is None:
        wb = load_workbook(input_path, force=True)
        ws = get_sheet(wb, title)
    mark_predictions(ws, bounds, result)
    save_atomic(wb, output_path)
    return FillReport(output_path, title, range_text(title, bounds), result, how, dropped, remarks)


def _package(path):
    """The workbook's :class:`Package`, or None when it cannot be edited in place (openpyxl then reads it,
    and reports what is wrong with it)."""
    try:
        return Package(path)
    except Exception:  # noqa: BLE001 - any trouble reading the package: openpyxl's reader says what it is
        return None


def _cells(values, bounds, result):
    """What :meth:`Package.write` writes: every filled blank with its note, and the legend."""
    r0 = bounds[0]
    rows, cols = positions(bounds)  # the sheet row and column of each salesperson and client
    filled = result.values
    cells = [Cell(rows[i], cols[j], round(float(filled[i, j]), 2), True, text)
             for (i, j), text in note_texts(result).items()]
    col = _legend_column(values, bounds)
    return cells + [Cell(r0, col, LEGEND_TEXT, True), Cell(r0 + 1, col, _legend_text(result), False)]


def predict_from_workbook(input_path, salesperson, client, *, sheet=None, cell_range=None, **params):
    wb = load_workbook(input_path, force=True)  # nothing is written: nothing can be lost
    matrix = _locate_and_read(wb, input_path, sheet, cell_range)[3]
    return NeighborModel(**params).fit(matrix).predict(salesperson, client)


def _read_part(part, title, *, guessed, cell_range):
    """Find and read the matrix on a sheet read by the package reader: (bounds, how, matrix). When the sheet
    was guessed (the active one) and holds nothing like a matrix, openpyxl's path looks at the other sheets
    (:class:`Unsupported`)."""
    values = part.values
    try:
        if cell_range:
            bounds, how = skip_empty(values, _parse_range(cell_range, "--range")), "the range given"
        else:
            bounds, how = find_block(values, title), "found on the sheet"
        return bounds, how, read_block(with_cached(values, part.cached), bounds, title)
    except InputError:
        if guessed and not cell_range and not looks_like_matrix(values, title):
            raise Unsupported("the active sheet holds no sales matrix: which sheets do is told by openpyxl's path")
        raise


def _locate_and_read(wb, path, sheet, cell_range):
    """Find and read the matrix through openpyxl: (sheet, bounds, how, matrix). When the sheet was guessed
    (the active one) and holds nothing like a matrix, the error names the sheets that look like they do."""
    ws = get_sheet(wb, sheet)
    try:
        ws, bounds, how = locate_matrix(wb, ws, cell_range)
        return ws, bounds, how, read_matrix(ws, bounds, cached_values(path, ws, bounds))
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


def looks_like_matrix(values: dict, title) -> bool:
    """Whether a sheet's ``values`` look like they hold a sales matrix: a block found on it with client
    names, at least two salesperson names and at least one number among its cells."""
    try:
        bounds = find_block(values, title)
    except InputError:
        return False
    rows, cols = positions(bounds)
    if len(rows) < 2 or not cols:
        return False
    for r in rows:
        for c in cols:
            v = values.get((r, c))
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return True
            if isinstance(v, str) and _parse_number_text(v.strip()) is not None:
                return True
    return False
