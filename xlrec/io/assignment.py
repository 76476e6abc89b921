"""``xlrec assign``: the Assignment sheet, added to a copy of the workbook.

The copy is written through openpyxl (a new sheet with a chart needs drawing parts the package editor of
``fill`` does not write), so, as ``fill`` does on that path, a workbook holding what openpyxl drops (images,
charts, shapes, ...) is refused unless ``force``; the input is never written and the output is written
through a temporary file and a rename.

The sheet holds the total expected bookings of the new assignment against today's owners and the lift; one
row per salesperson (clients, expected bookings, capacity and its use, today's clients and bookings); a native
bar chart of expected bookings per salesperson, today against the new assignment; one row per client (owner,
expected bookings, today's owner, kept / moved / new, whether the amount is a booking or a prediction). Every
string goes through :func:`~xlrec.io.cells.put`: names are text, never formulas.
"""

from __future__ import annotations

import csv
import io
import json

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.styles import Font

from ..core.assign import Assignment
from .cells import put, put_row
from .package import refusal
from .workbook import check_file, check_output, load_workbook, save_atomic

__all__ = ["write_assignment", "add_assignment_sheet", "assignment_csv", "assignment_json", "read_table", "SHEET"]

SHEET = "Assignment"
_AMOUNT, _PERCENT = "#,##0.00", "0%"
_BOLD = Font(bold=True)


def _free_title(names, title=SHEET):
    taken = {n.casefold() for n in names}
    if title.casefold() not in taken:
        return title
    k = 2
    while f"{title} {k}".casefold() in taken:
        k += 1
    return f"{title} {k}"




def add_assignment_sheet(wb, assignment: Assignment, settings=()):
    """Add the Assignment sheet (a free name: "Assignment", "Assignment 2"...) to the openpyxl workbook ``wb``;
    ``settings``: (label, value) rows saying how it was made. Returns the sheet."""
    a = assignment
    ws = wb.create_sheet(_free_title(wb.sheetnames))
    put(ws["A1"], "Who should own each client: xlrec assign").font = Font(bold=True, size=14)
    put(ws["A2"], a.summary())
    put_row(ws, 4, ["", "New assignment", "Today's owners", "Lift", "Lift %"], bold=True)
    pct = a.lift / abs(a.today_total) if a.today_total else ""
    put_row(ws, 5, ["Total expected bookings", a.total, a.today_total, a.lift, pct],
         (None, _AMOUNT, _AMOUNT, _AMOUNT, "0.0%"))
    r = 6
    for label, value in settings:
        r += 1
        put(ws.cell(r, 1), label)
        put(ws.cell(r, 2), value)
    top = r + 2
    people = a.salespeople_table()
    put_row(ws, top, people[0], bold=True)
    for k, row in enumerate(people[1:], top + 1):
        put_row(ws, k, row, (None, None, _AMOUNT, None, _PERCENT, None, _AMOUNT))
    last = top + len(people) - 1

    chart = BarChart()
    chart.type = "col"
    chart.title = "Expected bookings per salesperson: today and the new assignment"
    chart.y_axis.title = "Expected bookings"
    chart.x_axis.title = "Salesperson"
    for col in (7, 3):  # today, then new
        chart.add_data(Reference(ws, min_col=col, min_row=top, max_row=last), titles_from_data=True)
    names = Reference(ws, min_col=1, min_row=top + 1, max_row=last)
    for series in chart.series:  # the names are text: a string reference
        series.cat = AxDataSource(strRef=StrRef(f=str(names)))
    chart.y_axis.numFmt = "#,##0"
    for axis in (chart.x_axis, chart.y_axis):
        axis.delete = False
    chart.width, chart.height = 22, 10
    ws.add_chart(chart, "J4")

    start = last + 3
    clients = a.clients_table()
    put_row(ws, start, clients[0], bold=True)
    for k, row in enumerate(clients[1:], start + 1):
        put_row(ws, k, row, (None, None, _AMOUNT))
    for col, width in zip("ABCDEFG", (26, 22, 18, 22, 14, 14, 22)):
        ws.column_dimensions[col].width = width
    return ws


def write_assignment(input_path, output_path, assignment: Assignment, *, force=False, settings=()):
    """A copy of ``input_path`` with the Assignment sheet added, at ``output_path``. Returns the sheet's name."""
    input_path, output_path = check_output(input_path, output_path)
    dropped = check_file(input_path, force=True)
    if dropped and not force:
        raise refusal(input_path, dropped)
    wb = load_workbook(input_path, force=True)
    ws = add_assignment_sheet(wb, assignment, settings)
    wb.active = wb.sheetnames.index(ws.title)
    for sheet in wb.worksheets:
        sheet.sheet_view.tabSelected = sheet is ws
    save_atomic(wb, output_path)
    return ws.title


def assignment_csv(assignment: Assignment) -> str:
    """The client table as CSV."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(assignment.clients_table())
    return out.getvalue()


def assignment_json(assignment: Assignment) -> str:
    return json.dumps(assignment.to_dict(), indent=1, allow_nan=False)


def read_table(spec, workbook_path, what) -> list:
    """The rows of a small table given on the command line: a CSV file, or a range of the input workbook
    (``Sheet!A1:B20``, or ``A1:B20`` on the active sheet). A first row whose second cell is not a number is
    a header and skipped; blank rows are skipped. Values: text as it is, numbers as floats."""
    from pathlib import Path

    from openpyxl.utils.cell import range_boundaries

    from ..exceptions import InputError
    from .workbook import get_sheet

    path = Path(spec)
    if path.is_file():
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [[c.strip() for c in row] for row in csv.reader(f)]
    else:
        sheet, _, ref = spec.rpartition("!")
        try:
            c0, r0, c1, r1 = range_boundaries(ref.replace("$", ""))
        except (ValueError, TypeError):
            raise InputError(f"{what} {spec!r}: neither a file nor a range such as Sheet1!A1:B20") from None
        wb = load_workbook(workbook_path, force=True)
        ws = get_sheet(wb, sheet.strip("'") or None)
        rows = [["" if v is None else v for v in row]
                for row in ws.iter_rows(min_row=r0, max_row=r1, min_col=c0, max_col=c1, values_only=True)]
    rows = [row for row in rows if any(str(v).strip() for v in row)]

    def number(v):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        try:
            return float(str(v).replace(",", ""))
        except ValueError:
            return None

    if rows and len(rows[0]) > 1 and number(rows[0][1]) is None and what != "--owners":
        rows = rows[1:]
    elif rows and what == "--owners" and str(rows[0][0]).strip().casefold() in ("client", "customer", "account"):
        rows = rows[1:]
    return [[number(v) if k > 0 and what != "--owners" else (str(int(v)) if isinstance(v, float) and v.is_integer()
                                                             else str(v)) for k, v in enumerate(row)]
            for row in rows]
