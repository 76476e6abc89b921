"""Where a sales matrix sits in a grid of cells: blocks of touching non-empty cells (scipy.ndimage)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["nonempty", "blocks", "block_around", "largest_block"]

_TOUCHING = np.ones((3, 3), dtype=int)  # cells touching across a corner belong together


def nonempty(values) -> np.ndarray:
    """Boolean grid: True where a cell holds something other than nothing or spaces."""
    rows = list(values or [])
    width = max((len(r) for r in rows), default=0)
    grid = np.zeros((len(rows), width), dtype=bool)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            grid[i, j] = not (v is None or (isinstance(v, str) and not v.strip()))
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
