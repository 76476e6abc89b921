"""The sales matrix: salesperson labels, client labels and a float matrix in which blank is NaN.

A blank cell is *unknown*; 0 is a real booking of zero. Nothing in this module turns one into the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import InputError, NotFoundError
from . import _accel

__all__ = ["SalesMatrix", "shown", "MAX_AMOUNT", "MIN_AMOUNT"]

#: bookings are 0 or between these in size: their squares, sums over 16,384 clients, and inverse-distance
#: votes all stay far inside the range of a double, so no distance or prediction overflows to infinity
MAX_AMOUNT = 1e100
MIN_AMOUNT = 1e-100


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


def _label(value) -> str:
    """The text of a name cell: numbers such as customer ids 17850.0 read as "17850"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.date, dt.time)):  # a date as a header: "2024-03-15"
        return shown(value)
    return str(value).strip()


def _checked(values):
    """(known mask, how many values are finite, the flat index of the first value row by row beyond the
    amounts xlrec computes with, or -1): in one compiled pass on large matrices, else in numpy."""
    if _accel.use_for(values.size):
        known = np.empty(values.shape, dtype=bool)
        n_finite, bad = _accel.check_values(values, MIN_AMOUNT, MAX_AMOUNT, known)
        return known, int(n_finite), int(bad)
    known = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        size = np.abs(values)
        out = (size > MAX_AMOUNT) | ((size < MIN_AMOUNT) & (size > 0))
    bad = np.flatnonzero(out)
    return known, int(np.isfinite(values).sum()), int(bad[0]) if bad.size else -1


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
    locate : callable or None
        ``locate(i, j)`` names, for messages, the cell of salesperson ``i`` and client ``j`` (0-based; -1 is
        the row of client names, or the column of salesperson names; ``locate(-1, -1)`` is the top-left cell).
        The spreadsheet layer gives the cells' addresses (:func:`xlrec.sheet.cells.matrix_from_cells`);
        without it, messages name cells by their labels and positions.
    """

    salespeople: tuple
    clients: tuple
    values: np.ndarray
    locate: Callable[[int, int], str] | None = None
    _rows: dict = field(init=False, repr=False)
    _cols: dict = field(init=False, repr=False)
    _known: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        values = np.array(self.values, dtype=float)
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "salespeople", tuple(self.salespeople))
        object.__setattr__(self, "clients", tuple(self.clients))
        if values.ndim != 2 or values.shape != (len(self.salespeople), len(self.clients)):
            raise InputError(f"values of shape {values.shape} do not match {len(self.salespeople)} salespeople "
                             f"x {len(self.clients)} clients")
        known, n_finite, bad = _checked(values)
        known.setflags(write=False)
        object.__setattr__(self, "_known", known)
        object.__setattr__(self, "_rows", self._index(self.salespeople, "salesperson", axis=0))
        object.__setattr__(self, "_cols", self._index(self.clients, "client", axis=1))
        at = "" if self.locate is None else f" at {self.locate(-1, -1)}"
        if len(self.salespeople) < 2:
            raise InputError(f"the sales matrix{at} has {len(self.salespeople)} salesperson; at least 2 are "
                             "needed to find similar salespeople")
        if not n_finite:
            raise InputError(f"the sales matrix{at} holds no booking at all; at least one known value is needed")
        if bad >= 0:
            i, j = divmod(bad, values.shape[1])
            raise InputError(f"{self.where(i, j)}: {values[i, j]:g} is beyond the amounts xlrec computes "
                             f"with (zero, or from {MIN_AMOUNT:g} to {MAX_AMOUNT:g} in size, so that no distance "
                             "or vote overflows; express the bookings in a unit that brings them into range)")

    def _index(self, names, kind, axis):
        seen = {}
        for pos, name in enumerate(names):
            key = _key(name)
            if not key:
                raise InputError(f"the {kind} name at position {pos + 1} is empty")
            if key in seen:
                first = seen[key]
                if self.locate is None:
                    places = f"positions {first + 1} and {pos + 1}"
                else:
                    cells = [(p, -1) if axis == 0 else (-1, p) for p in (first, pos)]
                    places = " and ".join(self.locate(*cell) for cell in cells)
                raise InputError(f"duplicate {kind} name {shown(name)} at {places} (names are compared trimmed "
                                 "and case-insensitively; merge the two or rename one)")
            seen[key] = pos
        return seen

    def where(self, i: int, j: int) -> str:
        """How a message names the cell of salesperson ``i`` and client ``j`` (0-based): by ``locate`` (its
        address on the sheet), else by its labels."""
        if self.locate is not None:
            return self.locate(i, j)
        return f"salesperson {shown(self.salespeople[i])}, client {shown(self.clients[j])}"

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
        return SalesMatrix(self.salespeople, self.clients, np.where(blank, np.nan, self.values),
                           locate=self.locate)

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
                            ("values", self.values.T), ("_known", self._known.T),
                            ("locate", None if self.locate is None else _Transposed(self.locate)),
                            ("_rows", self._cols), ("_cols", self._rows)):
            object.__setattr__(t, name, value)
        return t

    def __repr__(self):
        n, m = self.shape
        return f"SalesMatrix({n} salespeople x {m} clients, {int(self.known.sum())} known)"


class _Transposed:
    """The ``locate`` of a transposed matrix: its (i, j) is the original's (j, i)."""

    __slots__ = ("locate",)

    def __init__(self, locate):
        self.locate = locate

    def __call__(self, i: int, j: int) -> str:
        return self.locate(j, i)
