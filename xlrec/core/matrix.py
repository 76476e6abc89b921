"""The sales matrix: salesperson labels, client labels and a float matrix in which blank is NaN.

A blank cell is *unknown*; 0 is a real booking of zero. Nothing in this module turns one into the other.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import InputError, NotFoundError

__all__ = ["SalesMatrix", "parse_booking", "cell_address", "column_letter", "shown", "EXCEL_ERRORS"]

#: The error values Excel shows in a cell; read as text they are errors, never numbers or blanks.
EXCEL_ERRORS = frozenset(
    {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!",
     "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#N/A!"}
)

# Numeric text as people type it in a sheet: optional sign, optional currency symbol, thousands separators
# every three digits, optional decimals; "(1,200)" is the accountants' negative.
_NUMBER = re.compile(
    r"""^(?P<open>\()?\s*(?P<sign>[-+])?\s*[$€£]?\s*(?P<sign2>[-+])?
        (?P<digits>\d{1,3}(?:,\d{3})+|\d+)?(?P<frac>\.\d+)?\s*(?P<close>\))?$""",
    re.VERBOSE,
)


#: bookings are 0 or between these in size: their squares, sums over 16,384 clients, and inverse-distance
#: votes all stay far inside the range of a double, so no distance or prediction overflows to infinity
MAX_AMOUNT = 1e100
MIN_AMOUNT = 1e-100


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


SHOWN_WIDTH = 40  # characters of a cell's text quoted in a message


def shown(value, width: int = SHOWN_WIDTH) -> str:
    """A cell's value as a message quotes it: text in quotes and cut to ``width`` characters (with an
    ellipsis), a date as a date, anything else as it prints.

    >>> shown("n/a")
    "'n/a'"
    >>> shown("x" * 50)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'"
    >>> import datetime
    >>> shown(datetime.datetime(2024, 3, 15)), shown(datetime.datetime(2024, 3, 15, 9, 30))
    ('2024-03-15', '2024-03-15 09:30')
    """
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(" ", "seconds" if value.second or value.microsecond else "minutes")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    text = value if isinstance(value, str) else str(value)
    if len(text) > width:
        text = text[:width - 1] + "…"
    return repr(text) if isinstance(value, str) else text


def _parse_number_text(text: str) -> float | None:
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
        if text.upper() in EXCEL_ERRORS:
            raise InputError(f"{where}: holds the Excel error {text} (fix the formula or clear the cell; "
                             "a blank cell is read as unknown)")
        number = _parse_number_text(text)
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


def _label(value) -> str:
    """The text of a name cell: numbers such as customer ids 17850.0 read as "17850"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.date, dt.time)):  # a date as a header: "2024-03-15"
        return shown(value)
    return str(value).strip()


_PLAIN = {float, int, type(None)}  # the types of a block of numbers and blanks (bool, a subclass of int, is not)


def _key(name: str) -> str:
    return " ".join(str(name).split()).casefold()


@dataclass(frozen=True, eq=False)
class SalesMatrix:
    """Salespeople x clients bookings; NaN marks a blank (unknown) cell, 0 is a booking of zero.

    Parameters
    ----------
    salespeople : sequence of str, length n_salespeople
    clients : sequence of str, length n_clients
    values : ndarray of shape (n_salespeople, n_clients)
        Float bookings, NaN where unknown.
    sheet : str or None
        The sheet the matrix was read from, for messages.
    origin : (int, int)
        1-based (row, column) of the top-left cell of the block (the title cell), for messages.
    positions : (sequence of int, sequence of int) or None
        1-based sheet rows of the salespeople and sheet columns of the clients, for messages, when they are
        not the ones right after ``origin`` (the block has empty rows or columns that are not part of it).
    """

    salespeople: tuple
    clients: tuple
    values: np.ndarray
    sheet: str | None = None
    origin: tuple = (1, 1)
    positions: tuple | None = None
    _rows: dict = field(init=False, repr=False)
    _cols: dict = field(init=False, repr=False)
    _known: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        values = np.array(self.values, dtype=float)
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        known = ~np.isnan(values)
        known.setflags(write=False)
        object.__setattr__(self, "_known", known)
        object.__setattr__(self, "salespeople", tuple(self.salespeople))
        object.__setattr__(self, "clients", tuple(self.clients))
        if self.positions is None:
            r0, c0 = self.origin
            object.__setattr__(self, "positions", (tuple(range(r0 + 1, r0 + 1 + len(self.salespeople))),
                                                   tuple(range(c0 + 1, c0 + 1 + len(self.clients)))))
        if values.ndim != 2 or values.shape != (len(self.salespeople), len(self.clients)):
            raise InputError(f"values of shape {values.shape} do not match {len(self.salespeople)} salespeople "
                             f"x {len(self.clients)} clients")
        object.__setattr__(self, "_rows", self._index(self.salespeople, "salesperson", axis=0))
        object.__setattr__(self, "_cols", self._index(self.clients, "client", axis=1))
        if len(self.salespeople) < 2:
            raise InputError(f"the sales matrix at {self.address(*self.origin)} has {len(self.salespeople)} "
                             "salesperson; at least 2 are needed to find similar salespeople")
        if not np.isfinite(values).any():
            raise InputError(f"the sales matrix at {self.address(*self.origin)} holds no booking at all; "
                             "at least one known value is needed")
        with np.errstate(invalid="ignore"):
            size = np.abs(values)
            out = (size > MAX_AMOUNT) | ((size < MIN_AMOUNT) & (size > 0))
        if out.any():
            i, j = (int(a[0]) for a in np.nonzero(out))
            raise InputError(f"{self.value_address(i, j)}: {values[i, j]:g} is beyond the amounts xlrec computes "
                             f"with (zero, or from {MIN_AMOUNT:g} to {MAX_AMOUNT:g} in size, so that no distance "
                             "or vote overflows; express the bookings in a unit that brings them into range)")

    # -- construction -----------------------------------------------------------------------------------

    @classmethod
    def from_cells(cls, cells, *, sheet: str | None = None, origin: tuple = (1, 1),
                   positions: tuple | None = None) -> "SalesMatrix":
        """Build a matrix from a 2-D block of cells.

        The first row holds the client names, the first column the salesperson names; the top-left cell is
        empty or a title. Errors name the cell by its A1 address (relative to ``origin``, the 1-based sheet
        position of the block's top-left cell, and prefixed by ``sheet`` when given).

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
        >>> m = SalesMatrix.from_cells([[None, "Google", "Staples"], ["Alyssa", 500000, None],
        ...                             ["Mike", "500,000", 0]])
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
        return cls(salespeople, clients, values, sheet=sheet, origin=origin, positions=(at_row, at_col))

    def _index(self, names, kind, axis):
        seen = {}
        r0, c0 = self.origin
        at = self.positions[axis]
        for pos, name in enumerate(names):
            key = _key(name)
            if not key:
                raise InputError(f"the {kind} name at position {pos + 1} is empty")
            if key in seen:
                first = seen[key]
                if axis == 0:
                    a, b = self.address(at[first], c0), self.address(at[pos], c0)
                else:
                    a, b = self.address(r0, at[first]), self.address(r0, at[pos])
                raise InputError(f"duplicate {kind} name {shown(name)} at {a} and {b} (names are compared trimmed "
                                 "and case-insensitively; merge the two or rename one)")
            seen[key] = pos
        return seen

    def address(self, row: int, col: int) -> str:
        return cell_address(row, col, self.sheet)

    def value_address(self, i: int, j: int) -> str:
        """A1 address of the value cell of salesperson ``i`` and client ``j`` (0-based)."""
        return self.address(self.positions[0][i], self.positions[1][j])

    # -- look-ups ---------------------------------------------------------------------------------------

    @property
    def shape(self):
        return self.values.shape

    @property
    def known(self) -> np.ndarray:
        """Boolean array of shape (n_salespeople, n_clients): True where a booking is known."""
        return self._known

    def salesperson_index(self, name) -> int:
        return self._lookup(name, self._rows, self.salespeople, "salesperson")

    def client_index(self, name) -> int:
        return self._lookup(name, self._cols, self.clients, "client")

    def row_position(self, name) -> int:
        """The 0-based row of salesperson ``name``, or -1 (no error) when there is none."""
        return self._rows.get(_key(_label(name)), -1)

    def column_position(self, name) -> int:
        """The 0-based column of client ``name``, or -1 (no error) when there is none."""
        return self._cols.get(_key(_label(name)), -1)

    def with_blanks(self, blank) -> "SalesMatrix":
        """The same matrix with the cells where ``blank`` (bool array of its shape) is True made blank."""
        if not np.any(blank):
            return self
        return SalesMatrix(self.salespeople, self.clients, np.where(blank, np.nan, self.values), sheet=self.sheet,
                           origin=self.origin)

    def _lookup(self, name, index, names, kind):
        key = _key(_label(name))
        if key in index:
            return index[key]
        import difflib

        close = difflib.get_close_matches(key, list(index), n=3, cutoff=0.6)
        hint = ""
        if close:
            hint = "; did you mean " + " or ".join(shown(names[index[c]]) for c in close) + "?"
        raise NotFoundError(f"unknown {kind} {shown(_label(name))}: not in the matrix's {len(names)} {kind} "
                            f"names{hint}")

    def transpose(self) -> "SalesMatrix":
        """The clients x salespeople view (used for ``by="client"``)."""
        t = object.__new__(SalesMatrix)
        for name, value in (("salespeople", self.clients), ("clients", self.salespeople),
                            ("values", self.values.T), ("_known", self._known.T), ("sheet", self.sheet),
                            ("origin", self.origin), ("positions", self.positions[::-1]),
                            ("_rows", self._cols), ("_cols", self._rows)):
            object.__setattr__(t, name, value)
        return t

    def __repr__(self):
        n, m = self.shape
        return f"SalesMatrix({n} salespeople x {m} clients, {int(self.known.sum())} known)"
