"""Where a sales matrix sits in a grid of cells: blocks of touching non-empty cells (scipy.ndimage)."""

from __future__ import annotations

import re

import numpy as np
from scipy import ndimage

__all__ = ["nonempty", "blocks", "block_around", "largest_block", "trim_block", "is_empty"]

_TOTAL = re.compile(r"^\s*(grand\s+)?(total|totals|sum|subtotal)\b", re.IGNORECASE)


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
    in it, followed by a fuller row) and "Total" rows and columns at its end (their sums are not bookings).

    ``value(r, c)`` gives the cell at 0-based (r, c); ``box`` is (top, left, bottom, right), bottom and right
    exclusive, as :func:`blocks` gives it; so is the result.
    """
    top, left, bottom, right = box

    def count(r):
        return sum(not is_empty(value(r, c)) for c in range(left, right))

    def total(v):
        return isinstance(v, str) and _TOTAL.match(v)

    while bottom - top > 2 and count(top) == 1 and count(top + 1) > 1:
        top += 1
    while bottom - top > 2 and total(value(bottom - 1, left)):
        bottom -= 1
    while right - left > 2 and total(value(top, right - 1)):
        right -= 1
    return top, left, bottom, right
