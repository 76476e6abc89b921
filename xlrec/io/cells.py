"""The one way xlrec puts a value into an openpyxl cell: text is always text, never a formula.

Names and notes come from strangers' workbooks and CSV exports. openpyxl turns a string that starts with ``=``
into a live formula (``=HYPERLINK(...)``, a DDE ``=cmd|' /C calc'!A0``) and refuses control characters; every
openpyxl write of xlrec goes through :func:`put` so that neither can happen. (The package editor,
:mod:`xlrec.io.splice`, writes strings as inline strings, which are text by construction.)
"""

from __future__ import annotations

import contextlib
import math

from openpyxl.cell import _writer as _cell_writer
from openpyxl.cell.cell import ERROR_CODES as OPENPYXL_ERROR_CODES
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

__all__ = ["put", "put_error", "put_row", "clean_text", "exact_numbers"]


def clean_text(value: str) -> str:
    """``value`` without the control characters a workbook cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def put(cell, value):
    """Set ``cell`` (an openpyxl cell, write-only cells included) to ``value``; a string is stored as text
    whatever it starts with. Returns the cell."""
    if isinstance(value, str):
        value = clean_text(value)
        cell.value = value
        cell.data_type = "s"  # openpyxl made it a formula if it starts with "="
    else:
        cell.value = value
    return cell


def put_error(cell, code: str):
    """Set ``cell`` to the Excel error value ``code`` (``#N/A``...); a code openpyxl cannot store as an error
    value (``#SPILL!``) is stored as text. Returns the cell."""
    put(cell, code)
    # xlrec's list of error codes is xlrec.sheet.errors.ERROR_CODES; openpyxl's own, smaller, list is consulted
    # here only to know which of them openpyxl can store as an error value
    if code in OPENPYXL_ERROR_CODES:
        cell.data_type = "e"
    return cell


@contextlib.contextmanager
def exact_numbers():
    """While open, openpyxl writes every number with all its digits.

    openpyxl writes numbers with 16 significant digits (``"%.16g"``): a booking such as 0.1 + 0.2 =
    0.30000000000000004 would come back as 0.3, and the largest double as a number beyond it, which reads as
    infinity; a workbook xlrec writes must hold every known cell as it was. Python's ``repr`` gives the
    shortest text that reads back as the same double. (This swaps openpyxl's cell writer's formatting
    function, its one place for numbers, for the time of a save.)
    """
    original = getattr(_cell_writer, "safe_string", None)
    if original is None:  # an openpyxl laid out otherwise: its own formatting
        yield
        return

    def safe_string(value):
        if type(value) is float and math.isfinite(value):
            text = repr(value)  # whole numbers without ".0", as openpyxl writes them (0.0 and 0 read differently
            return text[:-2] if text.endswith(".0") else text  # in a date format: a time and a date)
        if type(value) is int:  # a whole number of any length, as the input had it
            return str(value)
        return original(value)

    _cell_writer.safe_string = safe_string
    try:
        yield
    finally:
        _cell_writer.safe_string = original


def put_row(ws, r, values, formats=(), bold=False):
    """Write ``values`` along row ``r`` from column A with :func:`put` (text as text), each with its number
    format from ``formats`` (None: none), in bold when asked: a table row of a report."""
    from openpyxl.styles import Font

    for c, v in enumerate(values, 1):
        cell = put(ws.cell(r, c), v)
        if c - 1 < len(formats) and formats[c - 1]:
            cell.number_format = formats[c - 1]
        if bold:
            cell.font = Font(bold=True)

