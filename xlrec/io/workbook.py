"""Workbook files (openpyxl): find the sales matrix, read it, write the predictions and mark them.

The only layer that imports openpyxl. The input file is never written; outputs go to a temporary file in
the output's folder and are renamed into place, so an interrupted run leaves no partial file.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.utils.cell import range_boundaries

from ..core.base import FillResult
from ..core.layout import largest_block
from ..core.matrix import SalesMatrix, cell_address
from ..core.neighbors import NeighborModel
from ..exceptions import InputError, WorkbookError
from .package import check_package, refusal
from .splice import Cell, Unsupported, splice_cells
from ..style import LEGEND_TEXT, NOTE_AUTHOR, NOTE_PREFIX, PREDICTED_COLOR, note_text, note_texts

__all__ = ["load_workbook", "find_matrix", "locate_matrix", "read_matrix", "mark_predictions", "save_atomic", "save_text_atomic", "fill_workbook",
           "FillReport", "SUFFIXES"]

SUFFIXES = (".xlsx", ".xlsm")
_FILL = PatternFill(fill_type="solid", start_color=PREDICTED_COLOR.lstrip("#"), end_color=PREDICTED_COLOR.lstrip("#"))


def load_workbook(path, *, force=False) -> openpyxl.Workbook:
    """Open a workbook for reading and rewriting, with a clear error for anything that is not one.

    The package is checked first (:func:`xlrec.io.package.check_package`): size caps against zip bombs, and
    a refusal, unless ``force``, when it holds what openpyxl would drop. What would be dropped is kept on
    the workbook as ``wb.xlrec_dropped``.
    """
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
    dropped = check_package(path, force=force)
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


def get_sheet(wb, sheet=None):
    if sheet is None:
        return wb.active
    if sheet not in wb.sheetnames:
        raise InputError(f"no sheet named {sheet!r}; the workbook has: {', '.join(wb.sheetnames)}")
    return wb[sheet]


def _is_prediction(cell) -> bool:
    c = cell.comment
    return c is not None and c.author == NOTE_AUTHOR and str(c.text).startswith(NOTE_PREFIX)


def _is_empty(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


DEFINED_NAME = "SalesMatrix"
_TOTAL = re.compile(r"^\s*(grand\s+)?(total|totals|sum|subtotal)\b", re.IGNORECASE)


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
    """The (min_row, min_col, max_row, max_col) of the sales matrix on ``ws``.

    With ``cell_range`` (e.g. ``"A1:E7"``) that range; otherwise the largest block of touching non-empty
    cells (cells touching across a corner count; blanks inside the block are fine as long as the header row
    and the name column are whole), less a title row above it and a "Total" row or column at its end.
    xlrec's own legend is separated by an empty column and never joins it.
    """
    if cell_range:
        return _parse_range(cell_range, "--range")
    values, grid = _grid(ws)
    box = largest_block(grid)
    if box is None:
        raise InputError(f"sheet {ws.title!r} is empty: no sales matrix found (use --sheet to pick another)")
    top, left, bottom, right = box

    def row(r):
        return [values[r][c] if c < len(values[r]) else None for c in range(left, right)]

    # a title above the header: a row with one thing in it, followed by a fuller row
    while bottom - top > 2 and sum(not _is_empty(v) for v in row(top)) == 1 \
            and sum(not _is_empty(v) for v in row(top + 1)) > 1:
        top += 1
    # a "Total" row at the bottom, a "Total" column at the right
    while bottom - top > 2 and isinstance(values[bottom - 1][left], str) and _TOTAL.match(values[bottom - 1][left]):
        bottom -= 1
    while right - left > 2 and isinstance(row(top)[right - 1 - left], str) and _TOTAL.match(row(top)[right - 1 - left]):
        right -= 1
    return top + 1, left + 1, bottom, right


def _grid(ws):
    """The sheet's values as rows of a list (from A1 to the last cell used) and the grid of non-empty cells.

    Read from the cells the sheet holds (openpyxl's ``iter_rows`` would create every empty one).
    """
    cells = ws._cells
    if not cells:
        return [], np.zeros((0, 0), dtype=bool)
    n_rows = max(r for r, _ in cells)
    n_cols = max(c for _, c in cells)
    values = [[None] * n_cols for _ in range(n_rows)]
    grid = np.zeros((n_rows, n_cols), dtype=bool)
    for (r, c), cell in cells.items():
        v = cell.value
        if not _is_empty(v):
            values[r - 1][c - 1] = v
            grid[r - 1, c - 1] = True
    return values, grid


def range_text(ws, bounds) -> str:
    r0, c0, r1, c1 = bounds
    return f"{cell_address(r0, c0, ws.title)}:{cell_address(r1, c1)}"


def read_matrix(ws, bounds) -> SalesMatrix:
    """Read the block at ``bounds`` as a :class:`SalesMatrix`; xlrec's earlier predictions read as blank."""
    r0, c0, r1, c1 = bounds
    get = ws._cells.get  # the cells the sheet holds: no empty ones made for the blanks
    cells = []
    for r in range(r0, r1 + 1):
        line = []
        for c in range(c0, c1 + 1):
            cell = get((r, c))
            v = None if cell is None else cell.value
            if v is not None and r > r0 and c > c0:
                if isinstance(v, str) and v.startswith("="):
                    raise InputError(f"{cell_address(r, c, ws.title)}: holds the formula {v} (xlrec reads "
                                     "bookings as values; use --range to leave totals out, or paste values)")
                if cell.comment is not None and _is_prediction(cell):
                    v = None  # xlrec's own earlier prediction
            line.append(v)
        cells.append(line)
    return SalesMatrix.from_cells(cells, sheet=ws.title, origin=(r0, c0))


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


def _legend_column(ws, bounds):
    """The column of the legend: the first beyond the matrix, after an empty one, that is free (or holds
    an earlier legend) in the matrix's first two rows."""
    r0, c0, r1, c1 = bounds
    col = c1 + 2
    while True:
        a, b = ws.cell(row=r0, column=col).value, ws.cell(row=r0 + 1, column=col).value
        if a == LEGEND_TEXT or (_is_empty(a) and _is_empty(b)):
            return col
        col += 1


def _legend_text(result):
    return f"{result.model.describe()}; {result.summary()}"


def _legend(ws, bounds, result):
    col = _legend_column(ws, bounds)
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
    package with only the filled cells, their styles and notes, and the legend added
    (:func:`xlrec.io.splice.splice_cells`), so nothing else in it changes; a sheet that has notes of its own
    is written through openpyxl instead, and then what openpyxl would drop is refused unless ``force``.
    """
    input_path, output_path = check_output(input_path, output_path)
    wb = load_workbook(input_path, force=True)
    ws, bounds, how = locate_matrix(wb, get_sheet(wb, sheet), cell_range)
    matrix = read_matrix(ws, bounds)
    result = NeighborModel(**params).fit(matrix).fill(explain=True)
    dropped = []
    try:
        write_atomic(output_path, lambda tmp: splice_cells(input_path, tmp, ws.title, _cells(ws, bounds, result),
                                                           rgb=PREDICTED_COLOR.lstrip("#"), author=NOTE_AUTHOR))
    except Unsupported:
        dropped = wb.xlrec_dropped
        if dropped and not force:
            raise refusal(input_path, dropped) from None
        mark_predictions(ws, bounds, result)
        save_atomic(wb, output_path)
    return FillReport(output_path, ws.title, range_text(ws, bounds), result, how, dropped)


def _cells(ws, bounds, result):
    """What :func:`splice_cells` writes: every filled blank with its note, and the legend."""
    r0, c0 = bounds[:2]
    values = result.values
    cells = [Cell(r0 + 1 + i, c0 + 1 + j, round(float(values[i, j]), 2), True, text)
             for (i, j), text in note_texts(result).items()]
    col = _legend_column(ws, bounds)
    return cells + [Cell(r0, col, LEGEND_TEXT, True), Cell(r0 + 1, col, _legend_text(result), False)]


def predict_from_workbook(input_path, salesperson, client, *, sheet=None, cell_range=None, **params):
    wb = load_workbook(input_path, force=True)  # nothing is written: nothing can be lost
    ws, bounds, _ = locate_matrix(wb, get_sheet(wb, sheet), cell_range)
    matrix = read_matrix(ws, bounds)
    return NeighborModel(**params).fit(matrix).predict(salesperson, client)
