"""The "Assign clients" button: the Assignment sheet for the selected sales matrix, written through xlwings.

:func:`assign_clients` reads the selected matrix as the Fill blanks button does (the selection, or the block
around the active cell; the model and its parameters from the workbook's ``xlrec.conf`` sheet), assigns the
clients (:func:`xlrec.core.assign.assign`) with the ``assign`` settings of that sheet (``capacity``,
``min_clients``, ``keep_bonus``, ``keep_share``, ``owners_per_client``, ``max_share``; none: no limits) and
writes a new sheet "Assignment" (or "Assignment 2"...) with the totals and the lift, the salespeople table
and the client table. No chart: xlwings cannot add one through Office.js (``xlrec assign`` writes it).
"""

from __future__ import annotations

import xlwings as xw

from ..core.assign import assign
from ..exceptions import InputError, XlrecError
from ..sheet.cells import matrix_from_cells
from ..sheet.settings import CONF_SHEET

__all__ = ["assign_clients", "assign_clients_script", "ASSIGN_SETTINGS"]

#: the xlrec.conf settings the button reads for the assignment (the rest go to the model)
ASSIGN_SETTINGS = ("capacity", "min_clients", "keep_bonus", "keep_share", "owners_per_client", "max_share")


def _split_conf(book):
    """(model settings rows, assignment settings) of the book's xlrec.conf sheet."""
    for sheet in book.sheets:
        if sheet.name.strip().lower() == CONF_SHEET:
            rows = sheet.used_range.options(ndim=2).value or []
            model_rows, options = [], {}
            for row in rows:
                key = str(row[0]).strip().lower() if row and row[0] is not None else ""
                if key in ASSIGN_SETTINGS:
                    value = row[1] if len(row) > 1 else None
                    if value not in (None, ""):
                        try:
                            options[key] = float(value)
                        except (TypeError, ValueError):
                            raise InputError(f"{CONF_SHEET}: {key} must be a number, not {value!r}") from None
                else:
                    model_rows.append(row)
            return model_rows, options
    return [], {}


def assign_clients(book):
    """Write the Assignment sheet of the selected matrix of ``book``; returns the one-line summary."""
    from ..sheet.settings import conf_params
    from .macros import _as_text, _target, _tell

    try:
        model_rows, options = _split_conf(book)
        params = conf_params(model_rows) if model_rows else {}
        sheet, r0, c0, cells = _target(book)
        matrix = matrix_from_cells(cells, sheet=sheet.name, origin=(r0, c0))
        for key in ("capacity", "min_clients", "owners_per_client"):
            if key in options:
                options[key] = int(options[key])
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


@xw.script
def assign_clients_script(book: xw.Book):
    """Assign clients, as a script of xlwings Lite / Server (the button's code, given the book)."""
    assign_clients(book)
