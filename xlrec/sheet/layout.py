"""Where a sales matrix sits in a grid of cells: blocks of touching non-empty cells (scipy.ndimage), less a
title row and totals rows and columns."""

from __future__ import annotations

import re

import numpy as np
from scipy import ndimage

from .cells import parse_number_text

__all__ = ["nonempty", "blocks", "block_around", "largest_block", "trim_block", "bridged_block", "is_empty",
           "sheet_block"]

_TOTAL = re.compile(r"^\s*(grand\s+)?(total|totals|sum|subtotal)\b", re.IGNORECASE)
_SUM_FORMULA = re.compile(r"^=\s*(SUM|SUBTOTAL)\s*\(", re.IGNORECASE)


def is_empty(v) -> bool:
    """Nothing, or only spaces: an empty cell."""
    return v is None or (isinstance(v, str) and not v.strip())


_TOUCHING = np.ones((3, 3), dtype=int)  # cells touching across a corner belong together


def nonempty(values) -> np.ndarray:
    """Boolean grid: True where a cell holds something other than nothing or spaces."""
    rows = list(values or [])
    width = max((len(r) for r in rows), default=0)
    grid = np.zeros((len(rows), width), dtype=bool)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            grid[i, j] = not is_empty(v)
    return grid


def blocks(grid):
    """Bounding boxes (top, left, bottom, right; bottom/right exclusive) of the blocks of touching cells."""
    labels, _ = ndimage.label(grid, structure=_TOUCHING)
    return [(s[0].start, s[1].start, s[0].stop, s[1].stop) for s in ndimage.find_objects(labels)], labels


def block_around(grid, r, c):
    """The bounding box of the block holding cell (r, c) (0-based)."""
    boxes, labels = blocks(grid)
    return boxes[labels[r, c] - 1]


def largest_block(grid):
    """The bounding box of the block with the largest area, or None on an empty grid."""
    boxes, _ = blocks(grid)
    if not boxes:
        return None
    return max(boxes, key=lambda b: ((b[2] - b[0]) * (b[3] - b[1]), -b[0], -b[1]))


def trim_block(value, box):
    """A block less what surrounds a sales matrix in it: a title row above the header (a row with one thing
    in it, followed by a fuller row) and totals rows and columns at its end (their sums are not bookings):
    labelled "Total" (or Sum, Subtotal, Grand total), or whose cells are all ``=SUM(...)`` or
    ``=SUBTOTAL(...)`` formulas.

    ``value(r, c)`` gives the cell at 0-based (r, c); ``box`` is (top, left, bottom, right), bottom and right
    exclusive, as :func:`blocks` gives it; so is the result.
    """
    top, left, bottom, right = box

    def count(r):
        return sum(not is_empty(value(r, c)) for c in range(left, right))

    def total(v):
        return isinstance(v, str) and _TOTAL.match(v)

    def sums(cells):
        cells = [v for v in cells if not is_empty(v)]
        return bool(cells) and all(isinstance(v, str) and _SUM_FORMULA.match(v) for v in cells)

    while bottom - top > 2 and count(top) == 1 and count(top + 1) > 1:
        top += 1
    while bottom - top > 2 and (total(value(bottom - 1, left))
                                or sums(value(bottom - 1, c) for c in range(left + 1, right))):
        bottom -= 1
    while right - left > 2 and (total(value(top, right - 1))
                                or sums(value(r, right - 1) for r in range(top + 1, bottom))):
        right -= 1
    return top, left, bottom, right


def _label_like(v) -> bool:
    """Text that is not a number (a name, a formula's text), or a date: what a header holds."""
    if isinstance(v, str):
        return parse_number_text(v.strip()) is None
    return hasattr(v, "isoformat")  # a date or a time


def _labels(cells) -> bool:
    """Whether the non-empty ``cells`` are there and are all labels: a header row (or column), a legend."""
    cells = [v for v in cells if not is_empty(v)]
    return bool(cells) and all(map(_label_like, cells))


def _outermost(boxes):
    """The boxes not inside another (a sparse matrix is one block of names with many single cells inside its
    box, which change nothing), largest first."""
    left = np.array(boxes, dtype=np.int64).reshape(-1, 4)
    left = left[np.argsort(-(left[:, 2] - left[:, 0]) * (left[:, 3] - left[:, 1]), kind="stable")]
    out = []
    while len(left):
        t, l, b, r = left[0]
        out.append(tuple(int(v) for v in left[0]))
        inside = (left[:, 0] >= t) & (left[:, 1] >= l) & (left[:, 2] <= b) & (left[:, 3] <= r)
        left = left[~inside]
    return sorted(out)


def bridged_block(grid, value):
    """The box of the sales matrix in ``grid``, joined across empty rows and columns, and those rows and columns.

    The blocks of touching non-empty cells (:func:`blocks`) are joined where one continues another across
    one empty row or column:

    - below, across an empty row: the block below starts with a salesperson name in the same name column,
      its cells are under the same client columns, and its first row is not a row of labels (a second
      header, a row of ``=SUM`` totals);
    - to the right, across an empty column: the block to the right starts with a client name in the same
      header row, its cells are beside the same salesperson rows, and its first column is not a column of
      labels (xlrec's own legend).

    The largest joined block (by area, then the topmost, then the leftmost) is trimmed (:func:`trim_block`).

    Parameters
    ----------
    grid : ndarray of bool, shape (n_rows, n_cols)
        True where a cell holds something (:func:`nonempty`).
    value : callable
        ``value(r, c)`` gives the cell at 0-based (r, c).

    Returns
    -------
    box : (top, left, bottom, right) or None
        0-based, bottom and right exclusive; None for an empty grid.
    gap_rows, gap_cols : list of int
        The empty rows and columns (0-based) inside ``box`` that were bridged.

    Examples
    --------
    >>> cells = [[None, "A", "B"], ["x", 1, 2], [None, None, None], ["y", 3, None]]
    >>> get = lambda r, c: cells[r][c]
    >>> bridged_block(nonempty(cells), get)
    ((0, 0, 4, 3), [2], [])
    """
    boxes, _ = blocks(grid)
    if not boxes:
        return None, [], []
    boxes = _outermost(boxes)
    n_rows, n_cols = grid.shape
    groups = {i: (box, (), ()) for i, box in enumerate(boxes)}
    at = {}  # (top, left) -> group ids
    for i, box in enumerate(boxes):
        at.setdefault(box[:2], []).append(i)

    def empty_row(r, c0, c1):
        return r >= n_rows or not grid[r, c0:c1].any()

    def empty_col(c, r0, r1):
        return c >= n_cols or not grid[r0:r1, c].any()

    def below(box):  # the group continuing ``box`` across the empty row after it
        top, left, bottom, right = box
        if right - left < 2 or not empty_row(bottom, left, right):
            return None
        for j in at.get((bottom + 1, left), ()):
            t, l, b, r = groups[j][0]
            if (r <= right and not is_empty(value(t, left))
                    and not _labels(value(t, c) for c in range(left + 1, r))):
                return j
        return None

    def beside(box):  # the group continuing ``box`` across the empty column after it
        top, left, bottom, right = box
        if bottom - top < 2 or not empty_col(right, top, bottom):
            return None
        header = trim_block(value, box)[0]
        for j in at.get((header, right + 1), ()):
            t, l, b, r = groups[j][0]
            if (b <= bottom and not is_empty(value(t, l))
                    and not _labels(value(row, l) for row in range(t + 1, b))):
                return j
        return None

    merged = True
    while merged:
        merged = False
        for i in list(groups):
            if i not in groups:
                continue
            for find, axis in ((below, 0), (beside, 1)):
                box, rows, cols = groups[i]
                j = find(box)
                if j is None or j == i:
                    continue
                other, rows2, cols2 = groups.pop(j)
                at[other[:2]].remove(j)
                gap = box[2] if axis == 0 else box[3]
                new = (min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), max(box[3], other[3]))
                groups[i] = (new, rows + rows2 + ((gap,) if axis == 0 else ()),
                             cols + cols2 + ((gap,) if axis == 1 else ()))
                merged = True
    box, rows, cols = max(groups.values(),
                          key=lambda g: ((g[0][2] - g[0][0]) * (g[0][3] - g[0][1]), -g[0][0], -g[0][1]))
    top, left, bottom, right = trim_block(value, box)
    rows, cols = set(rows), set(cols)
    while bottom - 1 in rows:  # a gap left at the end by a trimmed totals row
        bottom -= 1
    while right - 1 in cols:
        right -= 1
    return ((top, left, bottom, right), sorted(r for r in rows if top < r < bottom),
            sorted(c for c in cols if left < c < right))


def _squeeze(lines):
    """The used ``lines`` (row or column numbers, one per cell) on a squeezed axis: (the index of each cell's
    line, and for each index its real line number, 0 for a stand-in for empty lines)."""
    used = np.unique(lines)
    step = np.minimum(np.diff(used), 3)  # up to two empty lines between used ones are kept
    index = np.concatenate([[0], np.cumsum(step)])
    real = np.zeros(index[-1] + 1, dtype=np.int64)
    real[index] = used
    return index[np.searchsorted(used, lines)], real.tolist()


def sheet_block(values: dict, at=None):
    """The sales matrix among a sheet's cells (:func:`bridged_block`): ((top, left, bottom, right), the empty
    rows bridged, the empty columns bridged), 1-based and inclusive.

    ``values`` maps (row, column) to each non-empty cell's value; ``at``, if given, is their (row, column)
    as an int array of shape (n, 2). The grid covers the used rows and columns only, a gap of three or more
    empty lines kept as two (the finder tells one empty line from more, nothing else): a cell at
    XFD1048576 costs nothing.

    >>> sheet_block({(1, 2): "Google", (2, 1): "Alyssa", (2, 2): 5, (900, 900): "far"})
    ((1, 1, 2, 2), [], [])
    """
    if at is None:
        at = np.array([key for key, v in values.items() if not is_empty(v)], dtype=np.int64).reshape(-1, 2)
    (row_at, real_rows), (col_at, real_cols) = _squeeze(at[:, 0]), _squeeze(at[:, 1])
    grid = np.zeros((len(real_rows), len(real_cols)), dtype=bool)
    grid[row_at, col_at] = True

    def value(r, c):
        return values.get((real_rows[r], real_cols[c])) if real_rows[r] and real_cols[c] else None

    (top, left, bottom, right), rows, cols = bridged_block(grid, value)
    return ((real_rows[top], real_cols[left], real_rows[bottom - 1], real_cols[right - 1]),
            [real_rows[r - 1] + 1 for r in rows], [real_cols[c - 1] + 1 for c in cols])
