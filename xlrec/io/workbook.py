"""Workbook files (openpyxl): find the sales matrix, read it, write the predictions and mark them.

The only layer that imports openpyxl. The input file is never written; outputs go to a temporary file in
the output's folder and are renamed into place, so an interrupted run leaves no partial file.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Color, PatternFill
from openpyxl.utils.cell import range_boundaries

from ..core.base import FillResult
from ..core.layout import is_empty as _is_empty, largest_block, trim_block
from ..core.matrix import SalesMatrix, cell_address
from ..core.neighbors import NeighborModel
from ..exceptions import InputError, WorkbookError
from .package import check_package, refusal
from .splice import Cell, Package, Unsupported
from ..style import LEGEND_TEXT, NOTE_AUTHOR, NOTE_PREFIX, PREDICTED_COLOR, note_text, note_texts

__all__ = ["load_workbook", "check_file", "find_matrix", "find_block", "sheet_values", "locate_matrix", "read_matrix",
           "read_block", "mark_predictions", "save_atomic", "save_text_atomic", "fill_workbook",
           "FillReport", "SUFFIXES"]

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
        return ws, _parse_range(cell_range, "--range"), "the range given"
    dn = wb.defined_names.get(DEFINED_NAME) or ws.defined_names.get(DEFINED_NAME)
    if dn is not None:
        dests = list(dn.destinations)
        if len(dests) != 1 or dests[0][0] not in wb.sheetnames:
            raise InputError(f"the defined name {DEFINED_NAME} must refer to one range on one sheet "
                             f"(it refers to {dn.attr_text!r})")
        sheet = wb[dests[0][0]]
        return sheet, _parse_range(dests[0][1], f"the defined name {DEFINED_NAME}"), f"the name {DEFINED_NAME}"
    tables = dict(ws.tables.items())
    if tables:
        name = DEFINED_NAME if DEFINED_NAME in tables else (next(iter(tables)) if len(tables) == 1 else None)
        if name is not None:
            r0, c0, r1, c1 = _parse_range(tables[name], "the table")
            r1 -= ws.tables[name].totalsRowCount or 0  # the table's totals row is not bookings
            return ws, (r0, c0, r1, c1), f"the table {name}"
    return ws, find_matrix(ws), "found on the sheet"


def find_matrix(ws, cell_range: str | None = None):
    """The (min_row, min_col, max_row, max_col) of the sales matrix on ``ws`` (see :func:`find_block`), or
    the ``cell_range`` given (e.g. ``"A1:E7"``)."""
    if cell_range:
        return _parse_range(cell_range, "--range")
    return find_block(sheet_values(ws), ws.title)


def find_block(values: dict, title: str):
    """The (min_row, min_col, max_row, max_col) of the sales matrix among a sheet's ``values``.

    ``values`` maps (row, column), 1-based, to the value of each cell that holds one. The matrix is the
    largest block of touching non-empty cells (cells touching across a corner count; blanks inside the
    block are fine as long as the header row and the name column are whole), less a title row above it
    and a "Total" row or column at its end. xlrec's own legend is separated by an empty column and never
    joins it.
    """
    filled = [key for key, v in values.items() if not _is_empty(v)]
    if not filled:
        raise InputError(f"sheet {title!r} is empty: no sales matrix found (use --sheet to pick another)")
    at = np.array(filled) - 1
    grid = np.zeros(at.max(axis=0) + 1, dtype=bool)
    grid[at[:, 0], at[:, 1]] = True
    top, left, bottom, right = trim_block(lambda r, c: values.get((r + 1, c + 1)), largest_block(grid))
    return top + 1, left + 1, bottom, right


def sheet_values(ws) -> dict:
    """{(row, column): value} of the cells of an openpyxl sheet that hold a value (read from the cells the
    sheet holds: openpyxl's ``iter_rows`` would make every empty one)."""
    return {key: cell.value for key, cell in ws._cells.items() if cell.value is not None}


def range_text(title, bounds) -> str:
    r0, c0, r1, c1 = bounds
    return f"{cell_address(r0, c0, title)}:{cell_address(r1, c1)}"


def read_matrix(ws, bounds) -> SalesMatrix:
    """Read the block at ``bounds`` of an openpyxl sheet as a :class:`SalesMatrix`; xlrec's earlier
    predictions (cells with xlrec's note) read as blank."""
    predicted = {key for key, cell in ws._cells.items() if cell.comment is not None and _is_prediction(cell)}
    return read_block(sheet_values(ws), bounds, ws.title, predicted)


def read_block(values: dict, bounds, title, predicted=frozenset()) -> SalesMatrix:
    """Read the block at ``bounds`` of a sheet's ``values`` ({(row, column): value}) as a
    :class:`SalesMatrix`; the cells in ``predicted`` read as blank."""
    r0, c0, r1, c1 = bounds
    get = values.get
    cells = [[get((r, c)) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]
    for r, row in enumerate(cells[1:], r0 + 1):
        for c, v in enumerate(row[1:], c0 + 1):
            if isinstance(v, str) and v.startswith("="):
                raise InputError(f"{cell_address(r, c, title)}: holds the formula {v} (xlrec reads bookings as "
                                 "values; use --range to leave totals out, or paste values)")
    for r, c in predicted:
        if r0 < r <= r1 and c0 < c <= c1:
            cells[r - r0][c - c0] = None  # xlrec's own earlier prediction
    return SalesMatrix.from_cells(cells, sheet=title, origin=(r0, c0))


def mark_predictions(ws, bounds, result: FillResult):
    """Write every filled blank with its fill colour and a note naming its neighbours; add a legend."""
    r0, c0, r1, c1 = bounds
    filled = result.predicted | result.fallback
    for i, j in zip(*np.nonzero(filled)):
        cell = ws.cell(row=r0 + 1 + int(i), column=c0 + 1 + int(j))
        cell.value = round(float(result.values[i, j]), 2)
        cell.fill = _FILL
        if "0.00" not in cell.number_format:  # show the cents a prediction has
            cell.number_format = "#,##0.00"
        text = note_text(result.prediction(int(i), int(j)))
        cell.comment = Comment(text, NOTE_AUTHOR, height=max(80, 20 * (text.count("\n") + 2)), width=320)
    # blanks left blank: clear any earlier xlrec marking so nothing stale remains
    for i, j in zip(*np.nonzero(result.unfilled)):
        cell = ws.cell(row=r0 + 1 + int(i), column=c0 + 1 + int(j))
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

    def summary(self) -> str:
        text = f"{self.output}: {self.result.summary()} in {self.range}"
        if self.how != "found on the sheet":
            text += f" ({self.how})"
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
        bounds = _parse_range(cell_range, "--range") if cell_range else find_block(values, title)
        how = "the range given" if cell_range else "found on the sheet"
        matrix = read_block(values, bounds, title)
    except Unsupported:  # openpyxl reads it
        wb = load_workbook(input_path, force=True)
        ws, bounds, how = locate_matrix(wb, get_sheet(wb, sheet), cell_range)
        title, matrix = ws.title, read_matrix(ws, bounds)
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
            return FillReport(output_path, title, range_text(title, bounds), result, how, [])
        except Unsupported:  # a sheet laid out in a way the editor does not know: openpyxl writes it
            pass
    if dropped and not force:
        raise refusal(input_path, dropped)
    if wb is None:
        wb = load_workbook(input_path, force=True)
        ws = get_sheet(wb, title)
    mark_predictions(ws, bounds, result)
    save_atomic(wb, output_path)
    return FillReport(output_path, title, range_text(title, bounds), result, how, dropped)


def _package(path):
    """The workbook's :class:`Package`, or None when it cannot be edited in place (openpyxl then reads it,
    and reports what is wrong with it)."""
    try:
        return Package(path)
    except Exception:  # noqa: BLE001 - any trouble reading the package: openpyxl's reader says what it is
        return None


def _cells(values, bounds, result):
    """What :meth:`Package.write` writes: every filled blank with its note, and the legend."""
    r0, c0 = bounds[:2]
    filled = result.values
    cells = [Cell(r0 + 1 + i, c0 + 1 + j, round(float(filled[i, j]), 2), True, text)
             for (i, j), text in note_texts(result).items()]
    col = _legend_column(values, bounds)
    return cells + [Cell(r0, col, LEGEND_TEXT, True), Cell(r0 + 1, col, _legend_text(result), False)]


def predict_from_workbook(input_path, salesperson, client, *, sheet=None, cell_range=None, **params):
    wb = load_workbook(input_path, force=True)  # nothing is written: nothing can be lost
    ws, bounds, _ = locate_matrix(wb, get_sheet(wb, sheet), cell_range)
    matrix = read_matrix(ws, bounds)
    return NeighborModel(**params).fit(matrix).predict(salesperson, client)
