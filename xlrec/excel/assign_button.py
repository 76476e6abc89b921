"""The "Assign clients" button: the Assignment sheet for the selected sales matrix, written through xlwings.

:func:`assign_main` is what the add-in's second ribbon button runs (its VBA ``RunAssignClients`` calls
``xlrec.assign_main()``). :func:`assign_clients` reads the selected matrix as the Fill blanks button does (the
selection, or the block around the active cell; the model and its parameters, or a ``model_file``, from the
workbook's ``xlrec.conf`` sheet), assigns the clients (:func:`xlrec.core.assign.assign`) with the assignment
settings of that sheet (:data:`ASSIGN_SETTINGS`; none: no limits) and writes a new sheet "Assignment" (or
"Assignment 2"...) with the totals and the lift, the salespeople table and the client table. No chart: xlwings
cannot add one through Office.js (``xlrec assign`` writes it).

A setting that is not a number, or not in its range, is one message naming the sheet, the cell, the value
and what it must be; nothing is written then.
"""

from __future__ import annotations

import math

import xlwings as xw

from ..core.assign import assign
from ..exceptions import InputError, XlrecError
from ..sheet.cells import cell_address, matrix_from_cells, parse_number_text
from ..sheet.settings import CONF_SHEET, blank

__all__ = ["ASSIGN_SETTINGS", "assign_clients", "assign_clients_script", "assign_main"]

#: the xlrec.conf settings the button reads for the assignment (the other rows set the model), with what each
#: must be: a whole number of at least this (an int), an amount of at least 0 ("amount"), or a share ("share",
#: 0.1 or 10%; "share>0": above 0 and at most 100%)
ASSIGN_SETTINGS = {"capacity": 0, "min_clients": 0, "owners_per_client": 1, "keep_bonus": "amount",
                   "keep_share": "share", "max_share": "share>0"}

_WHAT = {"amount": "an amount of at least 0", "share": "a share of at least 0, such as 0.1 or 10%",
         "share>0": "a share above 0 and at most 100%, such as 0.25 or 25%"}


def _key(text) -> str:
    return str(text).strip().lower().replace(" ", "_").replace("-", "_")


def _setting(key, value, where):
    """The value of the assignment setting ``key`` as a spreadsheet cell holds it, converted and checked."""
    kind = ASSIGN_SETTINGS[key]
    what = f"a whole number of at least {kind}" if isinstance(kind, int) else _WHAT[kind]
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        percent = kind in ("share", "share>0") and text.endswith("%")
        number = parse_number_text(text[:-1] if percent else text)
        if number is not None and percent:
            number /= 100
    ok = number is not None and math.isfinite(number)
    if ok and isinstance(kind, int):
        ok = number.is_integer() and number >= kind
    elif ok:
        ok = 0 < number <= 1 if kind == "share>0" else number >= 0
    if not ok:
        raise InputError(f"{where}: {key} must be {what}, got {value!r}")
    return int(number) if isinstance(kind, int) else number


def _split_conf(book):
    """(model settings rows, their (row, column) on the sheet, assignment settings) of the book's xlrec.conf
    sheet."""
    for sheet in book.sheets:
        if sheet.name.strip().lower() == CONF_SHEET:
            used = sheet.used_range
            rows = used.options(ndim=2).value or []
            model_rows, origin, options = [], [], {}
            for k, row in enumerate(rows):
                key = _key(row[0]) if row and not blank(row[0]) else ""
                if key in ASSIGN_SETTINGS:
                    value = row[1] if len(row) > 1 else None
                    if not blank(value):
                        where = f"sheet {CONF_SHEET}, cell {cell_address(used.row + k, used.column + 1)}"
                        options[key] = _setting(key, value, where)
                else:
                    model_rows.append(row)
                    origin.append((used.row + k, used.column))
            return model_rows, origin, options
    return [], [], {}


def assign_clients(book):
    """Write the Assignment sheet of the selected matrix of ``book``; returns the one-line summary."""
    from ..sheet.settings import conf_params
    from .macros import _as_text, _target, _tell

    try:
        model_rows, origin, options = _split_conf(book)
        params = conf_params(model_rows, origin) if model_rows else {}
        sheet, r0, c0, cells = _target(book)
        matrix = matrix_from_cells(cells, sheet=sheet.name, origin=(r0, c0))
        if "model_file" in params:  # trained elsewhere: applied without fitting, new names folded in
            from ..sheet.models import load_cached

            filled = None if matrix.known.all() else load_cached(params["model_file"]).fold_in(matrix).fill()
            a = assign(matrix, **options, filled=filled)
        else:
            a = assign(matrix, **options, **params)
        names = {s.name.casefold() for s in book.sheets}
        title, k = "Assignment", 2
        while title.casefold() in names:
            title, k = f"Assignment {k}", k + 1
        out = book.sheets.add(name=title, after=book.sheets[len(book.sheets) - 1])
        people, clients = a.salespeople_table(), a.clients_table()
        rows = [["Who should own each client: xlrec assign"], [a.summary()], [],
                ["", "New assignment", "Today's owners", "Lift"],
                ["Total expected bookings", a.total, a.today_total, a.lift], []]
        rows += people + [[]] + clients
        width = max(len(r) for r in rows)
        out["A1"].value = [[_as_text(v) for v in r] + [None] * (width - len(r)) for r in rows]
        message = f"xlrec: sheet {title}: {a.summary()}"
    except XlrecError as exc:
        message = f"xlrec: {exc}"
    _tell(book, message)
    return message


def assign_main():
    """Write the Assignment sheet of the selected matrix of the calling workbook (the Assign clients button)."""
    return assign_clients(xw.Book.caller())


@xw.script
def assign_clients_script(book: xw.Book):
    """Assign clients, as a script of xlwings Lite / Server (the button's code, given the book)."""
    assign_clients(book)
