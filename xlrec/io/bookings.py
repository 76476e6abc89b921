"""Sales tensors from files: a long bookings export (as ``xlrec pivot`` reads it), or a workbook of period
sheets (as ``xlrec pivot --date COL --period P`` writes it: one sheet per period, each a sales matrix).

The tensor models (``cp``) read their bookings here; the maths is in :mod:`xlrec.core.tensor`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.tensor import SalesTensor
from ..exceptions import InputError
from .pivot import collect

__all__ = ["read_bookings", "read_period_workbook", "read_tensor", "is_bookings_table"]


def is_bookings_table(path) -> bool:
    """Whether ``path`` names a long bookings table (.csv, .csv.gz) rather than a workbook."""
    name = Path(path).name.lower()
    return name.endswith((".csv", ".csv.gz"))


def read_bookings(path, *, salesperson, client, amount, date=None, period=None, date_format=None):
    """A :class:`SalesTensor` from a bookings export (.csv, .csv.gz, .xlsx: one row per booking line), the
    columns named as for ``xlrec pivot``; returns (tensor, report) with pivot's :class:`~.pivot.PivotReport`
    of what was read and left out. Without ``date`` the tensor has one period, "Bookings"."""
    sums, (people, clients), report = collect(path, salesperson=salesperson, client=client, amount=amount,
                                              date=date, period=period, date_format=date_format)
    rows = [(people[sp], clients[cl], key, v) for key, cells in sums.items() for (sp, cl), v in cells.items()]
    rows.sort(key=lambda r: (r[2], r[0].casefold(), r[1].casefold()))  # names in the order pivot writes them
    return SalesTensor.from_rows(rows), report


def read_period_workbook(path) -> SalesTensor:
    """A :class:`SalesTensor` from a workbook of one sales matrix per sheet, the sheet names being the periods
    (``2024-Q1``...). Sheets that hold no matrix (a cover sheet, xlrec's hidden record) are left out; cells
    xlrec filled earlier (its record says which) are read as blanks."""
    from .workbook import (
        _locate_and_read,
        _workbook_records,
        legacy_record,
        load_workbook,
        looks_like_matrix,
        match_record,
        sheet_values,
    )

    wb = load_workbook(path, force=True)  # nothing is written
    records = _workbook_records(wb)
    kept = {at for _, at in records.values()}
    matrices = {}
    for ws in wb.worksheets:
        if ws.title in kept or not looks_like_matrix(sheet_values(ws), ws.title):
            continue
        _, bounds, _, matrix = _locate_and_read(wb, path, ws.title, None)
        record = records.get(ws.title, (None, None))[0] or legacy_record(ws, bounds, ws.title)
        earlier = match_record(matrix, record)[0]
        if np.all(earlier | ~matrix.known):
            continue  # only xlrec's own predictions: no booking in this period
        matrices[ws.title.strip()] = matrix.with_blanks(earlier)
    if not matrices:
        raise InputError(f"{path}: no sheet holds a sales matrix (a workbook of period sheets, as 'xlrec pivot "
                         "--date COL --period quarter' writes, has one per sheet)")
    return SalesTensor.from_matrices(matrices)


def read_tensor(path, *, salesperson=None, client=None, amount=None, date=None, period=None, date_format=None):
    """The tensor of ``path``: a bookings table when its columns are named (.csv, .csv.gz, or a workbook whose
    first sheet lists the bookings), else a workbook of period sheets (.xlsx, .xlsm)."""
    columns = {"--salesperson": salesperson, "--client": client, "--amount": amount}
    if is_bookings_table(path) or any(v is not None for v in columns.values()):
        missing = [name for name, v in columns.items() if v is None]
        if missing:
            raise InputError(f"{path}: a bookings table needs its columns named: give {', '.join(missing)} (and "
                             "--date COL --period month|quarter|year for periods), as for 'xlrec pivot'")
        return read_bookings(path, salesperson=salesperson, client=client, amount=amount, date=date, period=period,
                             date_format=date_format)[0]
    given = [name for name, v in {"--date": date, "--period": period, "--date-format": date_format}.items()
             if v is not None]
    if given:
        raise InputError(f"{path}: {', '.join(given)} read the columns of a bookings table: name them with "
                         "--salesperson, --client and --amount (a workbook of period sheets needs none of these)")
    return read_period_workbook(path)
