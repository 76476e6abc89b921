"""The error values a spreadsheet cell can show: xlrec's one list of them.

Read as text, an error value is an error, never a number or a blank (:func:`xlrec.sheet.cells.parse_booking`);
``xlrec convert`` reads a cell holding one as that error (:mod:`xlrec.io.convert`).
"""

from __future__ import annotations

__all__ = ["ERROR_CODES"]

#: The error values Excel shows in a cell (``#N/A``, ``#VALUE!``...), including those of dynamic arrays and
#: data types (``#SPILL!``, ``#CALC!``, ``#FIELD!``...).
ERROR_CODES = frozenset(
    {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!",
     "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#N/A!"}
)
