"""A bounded cache of fitted models, so that many formulas over one matrix do the work once.

Keyed by the exact content of the cells and the parameters: the lookup compares the cells themselves, not
a hash of them, so a matrix with any changed cell is never served a prediction made from the old one (the
stale entry is replaced). Python's ``==`` takes TRUE for 1 and FALSE for 0, so the places of the cached
zeros and ones are kept and checked for booleans too. At most ``maxsize`` matrices are kept, least recently
used dropped first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from ..core.matrix import SalesMatrix
from ..core.models import make_model
from ..core.tune import choose_model
from ..exceptions import InputError
from .cells import matrix_from_cells

__all__ = ["Fitted", "FitCache", "default_cache"]


class Fitted:
    """A matrix, its fitted model and, once asked for, every blank predicted with its explanation."""

    def __init__(self, matrix: SalesMatrix, model):
        self._matrix = matrix
        self.model = model
        self._filled = None
        self._lock = threading.Lock()

    @property
    def matrix(self) -> SalesMatrix:
        return self._matrix

    def _fill(self):
        return self.model.fill(explain=True)

    @property
    def filled(self):
        with self._lock:
            if self._filled is None:
                self._filled = self._fill()
            return self._filled

    def predict(self, salesperson, client):
        """The explanation of one cell: the booking when known, else the filled value and where it comes from."""
        m = self.matrix
        i, j = m.salesperson_index(salesperson), m.client_index(client)
        if m.known[i, j]:
            return self.model.explain(i, j)
        return self.filled.explain(i, j)

    def value(self, salesperson, client):
        """One cell's booking or prediction as a float (NaN when nothing can be predicted)."""
        m = self.matrix
        return float(self.filled.values[m.salesperson_index(salesperson), m.client_index(client)])


def _fingerprint(cells):
    """A cheap key: the shape, the client names and the first and last salesperson (every cell is compared
    in full on a hit)."""
    if not cells or not cells[0]:
        return (len(cells),)
    return len(cells), tuple(cells[0]), cells[-1][0] if cells[-1] else None


class _Bounded:
    """Entries kept least recently used first, at most ``maxsize`` of them, behind one lock."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def _keep(self, key, entry):
        """Store ``entry`` under ``key`` as the most recently used, dropping the least recently used beyond
        ``maxsize``."""
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def clear(self):
        with self._lock:
            self._entries.clear()


class FitCache(_Bounded):
    """Least-recently-used cache of :class:`Fitted`, bounded to ``maxsize`` matrices."""

    def __init__(self, maxsize: int = 16):
        super().__init__(maxsize)
        self.hits = self.misses = 0

    def get(self, cells, *, table=False, **params) -> Fitted:
        """The fitted model for these cells (names in the first row and column) and parameters; with
        ``table``, the cells are a bookings table (a header row, then rows of salesperson, client, period,
        amount) and the model is fitted on its :class:`~xlrec.core.tensor.SalesTensor`."""
        try:
            key = (table, _fingerprint(cells), *sorted(params.items()))
            hash(key)
        except TypeError:  # unhashable content (e.g. a list in a cell): no caching
            key = None
        if key is not None:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and _same(entry[0], cells) and not _bool_where(entry[2], cells):
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return entry[1]
        self.misses += 1
        cells = [list(r) for r in cells]  # our own copy: the caller's lists may change
        matrix = _table(cells) if table else matrix_from_cells(cells)
        fitted = Fitted(matrix, (make_model(**params) if table else choose_model(matrix, **params)).fit(matrix))
        if key is not None:
            self._keep(key, (cells, fitted, _zeros_and_ones(cells)))
        return fitted


def _table(cells):
    """The :class:`SalesTensor` of a bookings table's cells: a header row, then four columns."""
    from ..core.tensor import SalesTensor
    from ..exceptions import InputError

    if not cells or any(len(row) != 4 for row in cells):
        raise InputError("table: a bookings table has four columns (salesperson, client, period, amount) under "
                         "a header row")
    head = cells[0][3]
    if isinstance(head, (int, float)) and not isinstance(head, bool):
        raise InputError("table: the first row is the header (salesperson, client, period, amount), not a booking: "
                         "include the header row in the range")
    from .cells import parse_booking

    rows = [list(r[:3]) + [parse_booking(r[3], f"table row {n}") if isinstance(r[3], str) else r[3]]
            for n, r in enumerate(cells[1:], start=2)]
    return SalesTensor.from_rows(rows, first_row=2, where="table row")


def _zeros_and_ones(cells):
    """Where the cells hold the number 0 or 1: there, and only there, TRUE or FALSE would compare equal."""
    return [(i, j) for i, row in enumerate(cells) for j, v in enumerate(row)
            if type(v) in (int, float) and (v == 0 or v == 1)]


def _bool_where(positions, cells) -> bool:
    """Whether a TRUE or FALSE stands where the cached cells held 1 or 0 (True == 1 in Python, not in a
    sales matrix)."""
    return any(type(cells[i][j]) is bool for i, j in positions)


def _same(a, b) -> bool:
    try:
        return a == b
    except (ValueError, TypeError):  # e.g. numpy values inside cells
        return all(np.array_equal(np.asarray(x, dtype=object), np.asarray(y, dtype=object)) for x, y in zip(a, b))


#: the cache the Excel functions share
default_cache = FitCache()


def fitted_for(cells, models_folder=None, **params):
    """What the Excel functions fit: the model file that ``cells`` name (one cell of text,
    :mod:`.models`; a name is looked up in ``models_folder``, the workbook's setting, when given, else in
    ``XLREC_MODELS``), else the matrix ``cells`` hold with ``params``, both through the shared caches."""
    from .models import default_models, model_reference, resolve_model

    ref = model_reference(cells)
    if ref is not None:
        try:
            return default_models.get(resolve_model(ref, check=False, book_folder=models_folder))
        except InputError:
            resolve_model(ref, book_folder=models_folder)  # a file that is not there: the message naming the folder
            raise
    return default_cache.get(cells, **params)
