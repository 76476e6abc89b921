"""The one way xlrec puts a value into an openpyxl cell: text is always text, never a formula.

Names and notes come from strangers' workbooks and CSV exports. openpyxl turns a string that starts with ``=``
into a live formula (``=HYPERLINK(...)``, a DDE ``=cmd|' /C calc'!A0``) and refuses control characters; every
openpyxl write of xlrec goes through :func:`put` so that neither can happen. (The package editor,
:mod:`xlrec.io.splice`, writes strings as inline strings, which are text by construction.)
"""

from __future__ import annotations

from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

__all__ = ["put", "put_error", "clean_text"]


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
    if code in ERROR_CODES:
        cell.data_type = "e"
    return cell
