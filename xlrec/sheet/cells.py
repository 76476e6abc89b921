"""Cells as a spreadsheet holds them: A1 addresses, bookings typed as text, and a sales matrix read from a block
of cells with its bad cells named by their addresses.

A blank cell is *unknown*; 0 is a real booking of zero. Nothing in this module turns one into the other.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from dataclasses import dataclass

import numpy as np

from ..core.matrix import SalesMatrix, _label, shown
from ..exceptions import InputError
from .errors import ERROR_CODES

__all__ = ["CellLocator", "cell_address", "column_letter", "matrix_from_cells", "parse_booking", "parse_number_text"]

# Numeric text as people type it in a sheet: optional sign, optional currency symbol, thousands separators
# every three digits, optional decimals; "(1,200)" is the accountants' negative.
_NUMBER = re.compile(
    r"""^(?P<open>\()?\s*(?P<sign>[-+])?\s*[$€£]?\s*(?P<sign2>[-+])?
        (?P<digits>\d{1,3}(?:,\d{3})+|\d+)?(?P<frac>\.\d+)?\s*(?P<close>\))?$""",
    re.VERBOSE,
)


def column_letter(col: int) -> str:
    """Excel column letters of a 1-based column number (1 -> "A", 28 -> "AB")."""
    letters = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_address(row: int, col: int, sheet: str | None = None) -> str:
    """The A1 address of a 1-based (row, col), prefixed by ``sheet!`` when a sheet is named."""
    addr = f"{column_letter(col)}{row}"
    if sheet is None:
        return addr
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", sheet):
        return f"{sheet}!{addr}"
    return "'" + sheet.replace("'", "''") + f"'!{addr}"


def parse_number_text(text: str) -> float | None:
    """The number that stripped ``text`` spells as people type one in a sheet ("500,000", "$500,000",
    "(1,200)" for -1200), or None when it is no number."""
    m = _NUMBER.match(text)
    if m is None or (m["digits"] is None and m["frac"] is None):
        return None
    if bool(m["open"]) != bool(m["close"]) or (m["sign"] and m["sign2"]):
        return None
    value = float((m["digits"] or "0").replace(",", "") + (m["frac"] or ""))
    negative = bool(m["open"]) or "-" in ((m["sign"] or "") + (m["sign2"] or ""))
    return -value if negative else value


def parse_booking(value, where: str = "cell") -> float:
    """Read one value cell as a booking: a float, or NaN for a blank.

    Parameters
    ----------
    value : object
        What the cell holds: a number, text, None, a bool, ...
    where : str
        The cell's address, used in the error message.

    Returns
    -------
    float
        The booking, NaN when the cell is blank (empty or only spaces).

    Raises
    ------
    InputError
        For text that is not a number, a boolean, an Excel error value, or anything else.

    Examples
    --------
    >>> parse_booking("$1,200.50 ")
    1200.5
    >>> parse_booking(0)
    0.0
    >>> parse_booking("   ")
    nan
    """
    if value is None:
        return math.nan
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{where}: {value} is a true/false value, not a booking "
                         "(bookings must be numbers; leave the cell blank if unknown)")
    if isinstance(value, numbers.Real):
        try:
            value = float(value)
        except OverflowError:
            value = math.inf
        if math.isinf(value):
            raise InputError(f"{where}: {value} is not a finite number (bookings must be finite amounts)")
        return value  # NaN (e.g. from pandas) stays blank
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return math.nan
        if text.upper() in ERROR_CODES:
            raise InputError(f"{where}: holds the Excel error {text} (fix the formula or clear the cell; "
                             "a blank cell is read as unknown)")
        number = parse_number_text(text)
        if number is None:
            raise InputError(f"{where}: {shown(value)} is not a number (bookings must be numbers; "
                             "leave the cell blank if unknown)")
        if math.isinf(number):
            raise InputError(f"{where}: {shown(value)} is too large a number (bookings must be finite amounts)")
        return number
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        raise InputError(f"{where}: holds the date or time {shown(value)}, not a booking (a column or row of "
                         "dates is not part of the sales matrix: give the matrix's cells without it, with "
                         "--range on the command line)")
    raise InputError(f"{where}: {shown(value)} ({type(value).__name__}) is not a number "
                     "(bookings must be numbers; leave the cell blank if unknown)")


@dataclass(frozen=True)
class CellLocator:
    """Where a matrix's cells are on a sheet: its :attr:`~xlrec.core.matrix.SalesMatrix.locate`.

    ``locator(i, j)`` is the A1 address of the cell of salesperson ``i`` and client ``j`` (0-based; -1 is the
    row of client names, or the column of salesperson names).

    >>> CellLocator("Sales", (1, 1), (2, 4), (2, 3))(1, -1)
    'Sales!A4'
    """

    sheet: str | None
    origin: tuple  # 1-based (row, column) of the block's top-left (title) cell
    rows: tuple  # 1-based sheet rows of the salespeople
    cols: tuple  # 1-based sheet columns of the clients

    def __call__(self, i: int, j: int) -> str:
        return cell_address(self.origin[0] if i < 0 else self.rows[i], self.origin[1] if j < 0 else self.cols[j],
                            self.sheet)


_PLAIN = {float, int, type(None)}  # the types of a block of numbers and blanks (bool, a subclass of int, is not)


def matrix_from_cells(cells, *, sheet: str | None = None, origin: tuple = (1, 1),
                      positions: tuple | None = None) -> SalesMatrix:
    """Build a matrix from a 2-D block of cells.

    The first row holds the client names, the first column the salesperson names; the top-left cell is
    empty or a title. Errors name the cell by its A1 address (relative to ``origin``, the 1-based sheet
    position of the block's top-left cell, and prefixed by ``sheet`` when given), and so do the matrix's own
    (:class:`CellLocator`).

    Parameters
    ----------
    cells : sequence of sequences, shape (1 + n_salespeople, 1 + n_clients)
    sheet : str, optional
    origin : (int, int)
    positions : (sequence of int, sequence of int), optional
        The sheet rows of ``cells[1:]`` and sheet columns of the cells after the first of each row, when
        they do not follow ``origin`` one by one (empty rows or columns left out of the block).

    Examples
    --------
    >>> m = matrix_from_cells([[None, "Google", "Staples"], ["Alyssa", 500000, None], ["Mike", "500,000", 0]])
    >>> m.values.tolist()
    [[500000.0, nan], [500000.0, 0.0]]
    """
    rows = [list(r) for r in cells]
    if not rows or len(rows) < 2 or max(len(r) for r in rows) < 2:
        shape = f"{len(rows)} x {max((len(r) for r in rows), default=0)}"
        raise InputError(f"the block at {cell_address(*origin, sheet)} is {shape} cells; a sales matrix needs "
                         "client names in its first row, salesperson names in its first column and at "
                         "least one row and column of bookings")
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    r0, c0 = origin
    if positions is None:
        positions = (range(r0 + 1, r0 + len(rows)), range(c0 + 1, c0 + width))
    at_row, at_col = (tuple(p) for p in positions)
    clients = [_label(v) for v in rows[0][1:]]
    salespeople = [_label(r[0]) for r in rows[1:]]
    for j, name in enumerate(clients):
        if not name:
            raise InputError(f"{cell_address(r0, at_col[j], sheet)}: the client name is empty "
                             "(every column of bookings needs a client name in the first row)")
    for i, name in enumerate(salespeople):
        if not name:
            raise InputError(f"{cell_address(at_row[i], c0, sheet)}: the salesperson name is empty "
                             "(every row of bookings needs a salesperson name in the first column)")
    block = [row[1:] for row in rows[1:]]
    values = None
    if all(set(map(type, row)) <= _PLAIN for row in block):  # numbers and blanks only: at once
        try:
            values = np.array(block, dtype=float)  # None is NaN
        except OverflowError:  # an int too large for a float
            values = None
        if values is not None and np.isinf(values).any():
            values = None  # the cell by cell reading names the cell
    if values is None:
        values = np.empty((len(salespeople), len(clients)))
        for i, row in enumerate(block):
            for j, v in enumerate(row):
                if v is None:
                    values[i, j] = np.nan
                elif isinstance(v, float) and math.isfinite(v):
                    values[i, j] = v
                else:
                    values[i, j] = parse_booking(v, cell_address(at_row[i], at_col[j], sheet))
    return SalesMatrix(salespeople, clients, values, locate=CellLocator(sheet, tuple(origin), at_row, at_col))
