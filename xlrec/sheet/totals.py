"""Which of a sheet's formulas add up cells xlrec predicted (a ``=SUM`` total over a filled column, say).

xlrec never changes a person's formulas; after a fill it names those that now include predictions, so a total
that grew is never taken for actual bookings. References are found in the formula text: A1 cells and ranges,
whole columns and rows, on the same sheet (unqualified, or qualified with the sheet's own name). Defined names
and table references are not followed.
"""

from __future__ import annotations

import re

import numpy as np

from .cells import cell_address

__all__ = ["formulas_over", "references", "formulas_phrase"]

_STRING = re.compile(r'"(?:[^"]|"")*"')
_SHEET = r"(?:(?P<sheet>'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?"
_REF = re.compile(
    r"(?<![\w.$!:'])" + _SHEET +
    r"(?:\$?(?P<c1>[A-Za-z]{1,3})\$?(?P<r1>\d+)(?::\$?(?P<c2>[A-Za-z]{1,3})\$?(?P<r2>\d+))?"
    r"|\$?(?P<cc1>[A-Za-z]{1,3}):\$?(?P<cc2>[A-Za-z]{1,3})"
    r"|\$?(?P<rr1>\d+):\$?(?P<rr2>\d+))(?![\w(!])")
_MAX_ROW, _MAX_COL = 1_048_576, 16_384


def _col(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def references(formula: str, sheet: str):
    """(min_row, min_col, max_row, max_col) of every range ``formula`` refers to on ``sheet`` (1-based).

    >>> references('=SUM(B2:E2)+Sales!F2+Other!B2+LEN("A1")', "Sales")
    [(2, 2, 2, 5), (2, 6, 2, 6)]
    >>> references("=SUM(C:C)", "Sales")
    [(1, 3, 1048576, 3)]
    """
    out = []
    for m in _REF.finditer(_STRING.sub('""', formula)):
        name = m["sheet"]
        if name is not None:
            name = name[1:-1].replace("''", "'") if name.startswith("'") else name
            if name.casefold() != sheet.casefold():
                continue
        if m["c1"]:
            r1, c1 = int(m["r1"]), _col(m["c1"])
            r2, c2 = (int(m["r2"]), _col(m["c2"])) if m["c2"] else (r1, c1)
        elif m["cc1"]:
            r1, r2, c1, c2 = 1, _MAX_ROW, _col(m["cc1"]), _col(m["cc2"])
        else:
            r1, r2, c1, c2 = int(m["rr1"]), int(m["rr2"]), 1, _MAX_COL
        out.append((min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))
    return out


def formulas_over(values: dict, sheet: str, origin, written) -> list:
    """The (row, column) of every formula among ``values`` ({(row, column): value}; formulas are text starting
    with ``=``) that refers to a cell of ``written``, in row then column order.

    Parameters
    ----------
    values : dict
    sheet : str
        The sheet's name (references qualified with another sheet's name are not to these cells).
    origin : (int, int)
        The 1-based (row, column) of ``written[0, 0]``.
    written : ndarray of bool
        The cells xlrec wrote.
    """
    if not np.any(written):
        return []
    r0, c0 = origin
    # prefix sums: whether a rectangle holds a written cell, in constant time per reference
    sums = np.zeros((written.shape[0] + 1, written.shape[1] + 1), dtype=np.int64)
    sums[1:, 1:] = np.cumsum(np.cumsum(written, axis=0), axis=1)
    n, m = written.shape
    out = []
    for key, v in values.items():
        if not (isinstance(v, str) and v.startswith("=")):
            continue
        for a, b, c, d in references(v, sheet):
            top, left = max(a - r0, 0), max(b - c0, 0)
            bottom, right = min(c - r0 + 1, n), min(d - c0 + 1, m)
            if top < bottom and left < right and (sums[bottom, right] - sums[top, right] - sums[bottom, left]
                                                  + sums[top, left]) > 0:
                out.append(key)
                break
    return sorted(out)


def formulas_phrase(cells) -> str | None:
    """What the summary says of the formulas at ``cells`` [(row, column)] that add up predictions (None for
    none)."""
    if not cells:
        return None
    names = ", ".join(cell_address(r, c) for r, c in cells[:5]) + (f" and {len(cells) - 5} more" if len(cells) > 5
                                                                     else "")
    several = len(cells) > 1
    return (f"formula{'s' if several else ''} {names} now add{'' if several else 's'} up predicted cells "
            "(left as they are)")
