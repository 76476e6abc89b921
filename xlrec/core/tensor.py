"""The sales tensor: salespeople x clients x periods of bookings, NaN where unknown.

Built from a long bookings table (one row per booking: salesperson, client, period, amount; the rows of one
cell are summed), or from one :class:`~xlrec.core.matrix.SalesMatrix` per period. Reading files is the
business of :mod:`xlrec.io`; the core takes rows.

Periods are labels that sort in time: text such as ``2024-Q1`` (quarters), ``2024-03`` (months) or ``2024``
(years). When every label is of one of these kinds, the periods in between that hold no booking at all are
included (all blank), so that the periods are evenly spaced, and :func:`next_period` names the one after the
last. Other labels are sorted as text and the period after the last has no name of its own
(``"after LAST"``).

A blank cell is unknown; 0 is a booking of zero. A salesperson and client with no row for a period are blank
in that period.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import InputError, NotFoundError
from .matrix import MAX_AMOUNT, MIN_AMOUNT, SalesMatrix, _key, _label, shown

__all__ = ["SalesTensor", "next_period", "period_key"]

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


def period_key(label):
    """(kind, index) of a period label: kind "quarter", "month" or "year" with the period's number counted
    from year 0, or None for a label of no such kind.

    >>> period_key("2024-Q1"), period_key("2024-03"), period_key("2024"), period_key("spring")
    (('quarter', 8096), ('month', 24290), ('year', 2024), None)
    """
    text = str(label).strip()
    m = _QUARTER.match(text)
    if m:
        return "quarter", int(m[1]) * 4 + int(m[2]) - 1
    m = _MONTH.match(text)
    if m and 1 <= int(m[2]) <= 12:
        return "month", int(m[1]) * 12 + int(m[2]) - 1
    m = _YEAR.match(text)
    if m:
        return "year", int(m[1])
    return None


def _label_of(kind, index) -> str:
    if kind == "quarter":
        return f"{index // 4}-Q{index % 4 + 1}"
    if kind == "month":
        return f"{index // 12}-{index % 12 + 1:02d}"
    return f"{index}"


def next_period(label, steps: int = 1) -> str:
    """The label ``steps`` periods after ``label`` (``"after LABEL"`` for a label of no known kind).

    >>> next_period("2024-Q4"), next_period("2024-12"), next_period("2024"), next_period("spring")
    ('2025-Q1', '2025-01', '2025', 'after spring')
    """
    key = period_key(label)
    if key is None:
        return f"after {label}" if steps == 1 else f"{steps} after {label}"
    return _label_of(key[0], key[1] + steps)


def _periods(labels) -> list:
    """The labels in time order, with the missing periods in between when all are of one known kind."""
    keys = [period_key(p) for p in labels]
    if labels and all(k is not None for k in keys) and len({k[0] for k in keys}) == 1:
        kind = keys[0][0]
        lo, hi = min(k[1] for k in keys), max(k[1] for k in keys)
        if hi - lo < 10_000:
            return [_label_of(kind, i) for i in range(lo, hi + 1)]
    return sorted(labels)


def _period_label(value, where) -> str:
    """A period cell as a label: text (trimmed) or a whole-number year; a date is refused with the fix."""
    if isinstance(value, bool) or value is None:
        raise InputError(f"{where}: the period is {'empty' if value is None else shown(value)} (periods are "
                         "text such as 2024-Q1, 2024-03 or 2024)")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and 1000 <= value <= 9999:
            return str(int(value))
        raise InputError(f"{where}: the period {shown(value)} is a number, not a period (periods are text such "
                         "as 2024-Q1, 2024-03, or a year such as 2024; in Excel, format the column as Text)")
    if not isinstance(value, str):
        raise InputError(f"{where}: the period {shown(value)} is a date, not a period (periods are text such as "
                         "2024-Q1 or 2024-03; in Excel, format the column as Text before typing them)")
    text = " ".join(value.split())
    if not text:
        raise InputError(f"{where}: the period is empty (periods are text such as 2024-Q1, 2024-03 or 2024)")
    return text


def _amount(value, where) -> float:
    """An amount as a number (NaN for None); the spreadsheet layer reads text such as ``1,200.50`` before."""
    if value is None:
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    raise InputError(f"{where}: {shown(value)} is not a number (amounts must be numbers)")


@dataclass(frozen=True, eq=False)
class SalesTensor:
    """Salespeople x clients x periods bookings; NaN marks a blank (unknown) cell, 0 is a booking of zero.

    Parameters
    ----------
    salespeople : sequence of str, length n_salespeople
    clients : sequence of str, length n_clients
    periods : sequence of str, length n_periods
        In time order (the constructors sort them; see the module's text).
    values : ndarray of shape (n_salespeople, n_clients, n_periods)
        Float bookings, NaN where unknown.

    Examples
    --------
    >>> t = SalesTensor.from_rows([("Alyssa", "Google", "2024-Q1", 100), ("Mike", "Google", "2024-Q3", 50),
    ...                            ("Alyssa", "google", "2024-Q1", 1000), ("Mike", "Staples", "2024-Q3", 0)])
    >>> t.periods, t.values.shape, float(t.values[0, 0, 0]), t.next_period
    (('2024-Q1', '2024-Q2', '2024-Q3'), (2, 2, 3), 1100.0, '2024-Q4')
    """

    salespeople: tuple
    clients: tuple
    periods: tuple
    values: np.ndarray
    _rows: dict = field(init=False, repr=False)
    _cols: dict = field(init=False, repr=False)

    def __post_init__(self):
        values = np.array(self.values, dtype=float)
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        for name in ("salespeople", "clients", "periods"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        shape = (len(self.salespeople), len(self.clients), len(self.periods))
        if values.shape != shape:
            raise InputError(f"values of shape {values.shape} do not match {shape[0]} salespeople x {shape[1]} "
                             f"clients x {shape[2]} periods")
        object.__setattr__(self, "_rows", self._index(self.salespeople, "salesperson"))
        object.__setattr__(self, "_cols", self._index(self.clients, "client"))
        if len(set(self.periods)) != len(self.periods):
            raise InputError("the periods are not all different")
        if shape[0] < 2:
            raise InputError(f"the bookings name {shape[0]} salesperson; at least 2 are needed")
        if not np.isfinite(values).any():
            raise InputError("the bookings hold no booking at all; at least one known value is needed")
        with np.errstate(invalid="ignore"):
            size = np.abs(values)
            out = (size > MAX_AMOUNT) | ((size < MIN_AMOUNT) & (size > 0)) | np.isinf(values)
        if out.any():
            i, j, t = (int(a[0]) for a in np.nonzero(out))
            raise InputError(f"the bookings of {self.salespeople[i]!r} with {self.clients[j]!r} in "
                             f"{self.periods[t]} add up to {values[i, j, t]:g}, beyond the amounts xlrec computes "
                             f"with (zero, or from {MIN_AMOUNT:g} to {MAX_AMOUNT:g} in size; give the amounts in "
                             "another unit)")

    @staticmethod
    def _index(names, kind):
        seen = {}
        for pos, name in enumerate(names):
            key = _key(name)
            if not key:
                raise InputError(f"the {kind} name at position {pos + 1} is empty")
            if key in seen:
                raise InputError(f"duplicate {kind} name {shown(name)} (names are compared trimmed and "
                                 "case-insensitively)")
            seen[key] = pos
        return seen

    # -- construction -------------------------------------------------------------------------------------

    @classmethod
    def from_rows(cls, rows, *, first_row: int = 1, where: str = "row") -> "SalesTensor":
        """A tensor from bookings rows (salesperson, client, period, amount); the rows of one cell are summed.

        Names are trimmed and merged case-insensitively (the first spelling is kept); salespeople and clients
        are in order of first appearance. A row whose four cells are all blank is skipped; any other row
        must have all four (an amount that is not a number, or a missing name, is an error naming the row,
        counted from ``first_row``: ``where`` names what is counted, e.g. "Sheet1 row").

        Parameters
        ----------
        rows : iterable of (salesperson, client, period, amount)
            Amounts as numbers (the spreadsheet layer reads numeric text); periods as text or whole-number
            years.
        """
        people, clients, periods = {}, {}, {}
        sums = {}
        for n, row in enumerate(rows, start=first_row):
            row = list(row)
            if len(row) != 4:
                raise InputError(f"{where} {n}: has {len(row)} cells; a bookings table has four columns "
                                 "(salesperson, client, period, amount)")
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                continue
            sp, cl = _label(row[0]), _label(row[1])
            if not sp or not cl:
                raise InputError(f"{where} {n}: no {'salesperson' if not sp else 'client'} (every booking "
                                 "needs a salesperson, a client, a period and an amount)")
            period = _period_label(row[2], f"{where} {n}")
            amount = _amount(row[3], f"{where} {n}")
            if math.isnan(amount):
                raise InputError(f"{where} {n}: no amount (every booking needs an amount; leave out the row "
                                 "of a booking not made)")
            i = people.setdefault(_key(sp), (len(people), sp))[0]
            j = clients.setdefault(_key(cl), (len(clients), cl))[0]
            periods.setdefault(period, None)
            sums[i, j, period] = sums.get((i, j, period), 0.0) + amount
        if not sums:
            raise InputError("the bookings table holds no booking (rows of salesperson, client, period, amount "
                             "under a header row)")
        order = _periods(list(periods))
        at = {p: t for t, p in enumerate(order)}
        values = np.full((len(people), len(clients), len(order)), np.nan)
        keys = np.array([(i, j, at[p]) for i, j, p in sums], dtype=np.intp)
        values[keys[:, 0], keys[:, 1], keys[:, 2]] = np.fromiter(sums.values(), float, len(sums))
        return cls([name for _, name in people.values()], [name for _, name in clients.values()], order, values)

    @classmethod
    def from_matrices(cls, matrices: dict) -> "SalesTensor":
        """A tensor from {period label: SalesMatrix}: the salespeople and clients of all, in order of first
        appearance (by period), blank where a matrix lacks them."""
        people, clients = {}, {}
        order = _periods(list(matrices))
        for p in order:
            m = matrices.get(p)
            if m is None:
                continue
            for name in m.salespeople:
                people.setdefault(_key(name), (len(people), name))
            for name in m.clients:
                clients.setdefault(_key(name), (len(clients), name))
        values = np.full((len(people), len(clients), len(order)), np.nan)
        for t, p in enumerate(order):
            m = matrices.get(p)
            if m is None:
                continue
            ii = np.array([people[_key(s)][0] for s in m.salespeople], dtype=np.intp)
            jj = np.array([clients[_key(c)][0] for c in m.clients], dtype=np.intp)
            values[np.ix_(ii, jj, [t])] = m.values[:, :, None]
        return cls([name for _, name in people.values()], [name for _, name in clients.values()], order, values)

    @classmethod
    def from_matrix(cls, matrix: SalesMatrix, period: str = "Bookings") -> "SalesTensor":
        """One matrix as a tensor of one period."""
        return cls(matrix.salespeople, matrix.clients, (period,), np.asarray(matrix.values)[:, :, None])

    # -- look-ups ---------------------------------------------------------------------------------------

    @property
    def shape(self):
        return self.values.shape

    @property
    def known(self) -> np.ndarray:
        """Boolean array of shape (n_salespeople, n_clients, n_periods): True where a booking is known."""
        return ~np.isnan(self.values)

    @property
    def next_period(self) -> str:
        """The label of the period after the last."""
        return next_period(self.periods[-1])

    def matrix(self, t: int) -> SalesMatrix:
        """Period ``t`` (0-based) as a :class:`SalesMatrix` over every salesperson and client."""
        return SalesMatrix(self.salespeople, self.clients, self.values[:, :, t])

    def salesperson_index(self, name) -> int:
        return self._lookup(name, self._rows, self.salespeople, "salesperson")

    def client_index(self, name) -> int:
        return self._lookup(name, self._cols, self.clients, "client")

    def period_index(self, label, ahead: int = 40) -> int:
        """The 0-based position of period ``label``: n_periods for the next period, n_periods + h - 1 for the
        h-th period after the last (up to ``ahead``, for labels of a known kind)."""
        text = str(label).strip()
        for t, p in enumerate(self.periods):
            if p.casefold() == text.casefold():
                return t
        for h in range(1, ahead + 1):
            if next_period(self.periods[-1], h).casefold() == text.casefold():
                return len(self.periods) + h - 1
        first, last = self.periods[0], self.periods[-1]
        raise NotFoundError(f"unknown period {shown(text)}: the bookings run from {first} to {last}; the next "
                            f"period is {self.next_period}")

    def _lookup(self, name, index, names, kind):
        key = _key(_label(name))
        if key in index:
            return index[key]
        import difflib

        close = difflib.get_close_matches(key, list(index), n=3, cutoff=0.6)
        hint = "; did you mean " + " or ".join(shown(names[index[c]]) for c in close) + "?" if close else ""
        raise NotFoundError(f"unknown {kind} {shown(_label(name))}: not among the bookings' {len(names)} {kind} "
                            f"names{hint}")

    def __repr__(self):
        n, m, t = self.shape
        return f"SalesTensor({n} salespeople x {m} clients x {t} periods, {int(self.known.sum())} known)"
