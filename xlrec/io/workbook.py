"""Workbook files (openpyxl): find the sales matrix, read it, write the predictions and mark them.

The only layer that imports openpyxl. The input file is never written; outputs go to a temporary file in
the output's folder and are renamed into place, so an interrupted run leaves no partial file.
"""

from __future__ import annotations

import os
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
from ..core.layout import largest_block, nonempty
from ..core.matrix import SalesMatrix, cell_address
from ..core.neighbors import NeighborModel
from ..exceptions import InputError, WorkbookError
from ..style import LEGEND_TEXT, NOTE_AUTHOR, NOTE_PREFIX, PREDICTED_COLOR, note_text

__all__ = ["load_workbook", "find_matrix", "read_matrix", "mark_predictions", "save_atomic", "fill_workbook",
           "FillReport", "SUFFIXES"]

SUFFIXES = (".xlsx", ".xlsm")
_FILL = PatternFill(fill_type="solid", start_color=PREDICTED_COLOR.lstrip("#"), end_color=PREDICTED_COLOR.lstrip("#"))


def load_workbook(path) -> openpyxl.Workbook:
    """Open a workbook for reading and rewriting, with a clear error for anything that is not one."""
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
    try:
        return openpyxl.load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm", rich_text=True)
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(f"{path}: cannot be read as a workbook ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # malformed XML parts raise parser-specific errors
        raise WorkbookError(f"{path}: cannot be read as a workbook ({type(exc).__name__}: {exc})") from exc


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


def find_matrix(ws, cell_range: str | None = None):
    """The (min_row, min_col, max_row, max_col) of the sales matrix on ``ws``.

    With ``cell_range`` (e.g. ``"A1:E7"``) that range; otherwise the largest block of touching non-empty
    cells (cells touching across a corner count; blanks inside the block are fine as long as the header row
    and the name column are whole). xlrec's own legend is separated by an empty column and never joins it.
    """
    if cell_range:
        try:
            min_col, min_row, max_col, max_row = range_boundaries(cell_range.replace("$", ""))
        except (ValueError, TypeError) as exc:
            raise InputError(f"--range {cell_range!r} is not a cell range such as A1:E7") from exc
        if None in (min_col, min_row, max_col, max_row):
            raise InputError(f"--range {cell_range!r} is not a cell range such as A1:E7")
        return min_row, min_col, max_row, max_col
    box = largest_block(nonempty(ws.iter_rows(min_row=1, min_col=1, values_only=True)))
    if box is None:
        raise InputError(f"sheet {ws.title!r} is empty: no sales matrix found (use --sheet to pick another)")
    top, left, bottom, right = box
    return top + 1, left + 1, bottom, right


def range_text(ws, bounds) -> str:
    r0, c0, r1, c1 = bounds
    return f"{cell_address(r0, c0, ws.title)}:{cell_address(r1, c1)}"


def read_matrix(ws, bounds) -> SalesMatrix:
    """Read the block at ``bounds`` as a :class:`SalesMatrix`; xlrec's earlier predictions read as blank."""
    r0, c0, r1, c1 = bounds
    cells = []
    for row in ws.iter_rows(min_row=r0, max_row=r1, min_col=c0, max_col=c1):
        line = []
        for cell in row:
            v = cell.value
            if isinstance(v, str) and v.startswith("=") and cell.row > r0 and cell.column > c0:
                raise InputError(f"{cell_address(cell.row, cell.column, ws.title)}: holds the formula {v} "
                                 "(xlrec reads bookings as values; use --range to leave totals out, or "
                                 "paste values)")
            line.append(None if (cell.row > r0 and cell.column > c0 and _is_prediction(cell)) else v)
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


def _legend(ws, bounds, result):
    r0, c0, r1, c1 = bounds
    col = c1 + 2
    while True:
        a, b = ws.cell(row=r0, column=col), ws.cell(row=r0 + 1, column=col)
        if a.value == LEGEND_TEXT or (_is_empty(a.value) and _is_empty(b.value)):
            break
        col += 1
    a.value = LEGEND_TEXT
    a.fill = _FILL
    b.value = f"{result.model.describe()}; {result.summary()}"


def save_atomic(wb, path):
    """Save to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{path}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        wb.save(tmp)
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

    def summary(self) -> str:
        return f"{self.output}: {self.result.summary()} in {self.range}"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def fill_workbook(input_path, output_path, *, sheet=None, cell_range=None, **params) -> FillReport:
    """Fill every blank of the sales matrix in ``input_path`` and write the result to ``output_path``.

    ``params`` go to :class:`NeighborModel`. The input file is never written.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    if _same_file(input_path, output_path) or input_path.resolve() == output_path.resolve():
        raise InputError(f"{output_path}: is the input file; xlrec never overwrites its input "
                         "(give another output name)")
    wb = load_workbook(input_path)
    if output_path.suffix.lower() != input_path.suffix.lower():
        raise InputError(f"{output_path}: the output must have the input's extension "
                         f"({input_path.suffix}), so that the workbook's content type stays right")
    ws = get_sheet(wb, sheet)
    bounds = find_matrix(ws, cell_range)
    matrix = read_matrix(ws, bounds)
    result = NeighborModel(**params).fit(matrix).fill(explain=True)
    mark_predictions(ws, bounds, result)
    save_atomic(wb, output_path)
    return FillReport(output_path, ws.title, range_text(ws, bounds), result)


def predict_from_workbook(input_path, salesperson, client, *, sheet=None, cell_range=None, **params):
    wb = load_workbook(input_path)
    ws = get_sheet(wb, sheet)
    matrix = read_matrix(ws, find_matrix(ws, cell_range))
    return NeighborModel(**params).fit(matrix).predict(salesperson, client)
