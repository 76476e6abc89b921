"""The evaluation report: a workbook a sales manager reads (``xlrec evaluate --report OUT.xlsx``).

Three sheets and two native charts (openpyxl's chart module, so Excel and LibreOffice draw them):

- **Summary**: the verdict, the table (RMSE, MAE, relative error, coverage, time per model), the settings
  and what the figures mean; a bar chart of RMSE and MAE by model and a scatter chart of predicted against
  actual for every held-out cell, with the line y = x (a perfect prediction) as a second series;
- **Folds**: every model's figures on every fold;
- **Held out**: every held-out cell: salesperson, client, actual, predicted, error, who predicted it.

Every string goes through :func:`~xlrec.io.cells.put` (text, never a formula: names come from strangers'
workbooks), and the file is written through a temporary file and a rename.
"""

from __future__ import annotations

import openpyxl
from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.styles import Font

from ..core.evaluate import Evaluation, ForecastEvaluation
from ..files import write_atomic
from .cells import exact_numbers, put, put_row

__all__ = ["write_report", "DEFINITIONS"]

#: what the figures mean, as the Summary sheet says it (of a cross-validation)
DEFINITIONS = Evaluation.DEFINITIONS

_AMOUNT, _PERCENT, _SECONDS = "#,##0.00", "0.0%", "0.000"
_BOLD = Font(bold=True)





def show_axes(chart):
    """Recent Excel hides the axes openpyxl does not say to show."""
    for axis in (chart.x_axis, chart.y_axis):
        axis.delete = False


def predicted_against_actual(ws, actual, predicted, line_col, title):
    """The scatter chart of predicted against actual for the cells listed on ``ws`` (actual in column C,
    predicted in column D, from row 2, a header above), with the line y = x drawn from two points written in
    columns ``line_col`` and ``line_col + 1``."""
    n = len(actual)
    low = float(min(actual.min(), predicted.min()))
    high = float(max(actual.max(), predicted.max()))
    put(ws.cell(1, line_col), "Line y = x (for the chart)").font = _BOLD
    put(ws.cell(1, line_col + 1), "y = x").font = _BOLD
    for r, v in ((2, low), (3, high)):
        put(ws.cell(r, line_col), v).number_format = _AMOUNT
        put(ws.cell(r, line_col + 1), v).number_format = _AMOUNT
    scatter = ScatterChart()
    scatter.title = title
    scatter.style = 13
    scatter.x_axis.title, scatter.y_axis.title = "Actual booking", "Predicted booking"
    points = Series(Reference(ws, min_col=4, min_row=1, max_row=n + 1),
                    Reference(ws, min_col=3, min_row=2, max_row=n + 1), title_from_data=True)
    points.marker.symbol = "circle"
    points.marker.size = 4
    points.graphicalProperties.line.noFill = True  # points only
    line = Series(Reference(ws, min_col=line_col + 1, min_row=1, max_row=3),
                  Reference(ws, min_col=line_col, min_row=2, max_row=3), title_from_data=True)
    line.marker.symbol = "none"
    scatter.series.extend([points, line])
    show_axes(scatter)
    scatter.width, scatter.height = 18, 12
    return scatter


def write_report(evaluation: Evaluation | ForecastEvaluation, path) -> None:
    """Write ``evaluation`` (a cross-validation, or a forecast of the last period: no Folds sheet then) as a
    workbook at ``path`` (through a temporary file and a rename)."""
    ev = evaluation
    wb = openpyxl.Workbook()
    summary = wb.active
    summary.title = "Summary"
    folds_ws = wb.create_sheet("Folds") if ev.fold_scores else None
    cells_ws = wb.create_sheet("Held out")

    # -- Summary: verdict, table, settings, definitions
    put(summary["A1"], "How good are the predictions? xlrec evaluate").font = Font(bold=True, size=14)
    put(summary["A2"], ev.verdict())
    top = 4
    table = ev.table()
    put_row(summary, top, table[0], bold=True)
    for r, row in enumerate(table[1:], top + 1):
        put_row(summary, r, row, (None, _AMOUNT, _AMOUNT, _PERCENT, _PERCENT, _SECONDS))
    last = top + len(table) - 1
    r = last + 2
    put(summary.cell(r, 1), "Settings").font = _BOLD
    settings = ev.settings()
    for label, value in settings:
        r += 1
        put(summary.cell(r, 1), label)
        cell = put(summary.cell(r, 2), value)
        if isinstance(value, float):
            cell.number_format = _AMOUNT
    r += 2
    put(summary.cell(r, 1), "What the figures mean").font = _BOLD
    for name, text in ev.DEFINITIONS:
        r += 1
        put(summary.cell(r, 1), name)
        put(summary.cell(r, 2), text)
    summary.column_dimensions["A"].width = 28
    for col in "BCDEF":
        summary.column_dimensions[col].width = 16

    # -- Folds (a cross-validation's)
    if folds_ws is not None:
        put_row(folds_ws, 1, ["Model", "Repeat", "Fold", "Cells held out", "RMSE", "MAE", "Coverage", "Seconds"],
             bold=True)
        for r, s in enumerate(ev.fold_scores, 2):
            put_row(folds_ws, r, [s.model, s.repeat, s.fold, s.cells, s.rmse, s.mae, s.coverage, s.seconds],
                 (None, None, None, None, _AMOUNT, _AMOUNT, _PERCENT, _SECONDS))
        folds_ws.column_dimensions["A"].width = 18

    # -- Held out: every cell (salesperson, client, actual, predicted, ...), and the two points of y = x
    h = ev.held_out
    header, rows = ev.held_out_table()
    put_row(cells_ws, 1, header, bold=True)
    for r, row in enumerate(rows, 2):  # amounts as amounts; counts (repeat, fold) and text as they are
        put_row(cells_ws, r, row, [_AMOUNT if isinstance(v, float) else None for v in row])
    scatter = predicted_against_actual(cells_ws, h["actual"], h["predicted"], 10,
                                       f"Predicted against actual: {ev.model.name}, every held-out booking")
    for col, width in zip("ABCDEFJK", (22, 22, 14, 14, 14, 14, 26, 14)):
        cells_ws.column_dimensions[col].width = width

    # -- charts, on the Summary sheet
    bars = BarChart()
    bars.type = "col"
    bars.title = "Error by model (lower is better)"
    bars.y_axis.title = "Error"
    bars.x_axis.title = "Model"
    bars.add_data(Reference(summary, min_col=2, max_col=3, min_row=top, max_row=last), titles_from_data=True)
    names = Reference(summary, min_col=1, min_row=top + 1, max_row=last)
    for series in bars.series:  # the model names are text: a string reference (set_categories makes a number one)
        series.cat = AxDataSource(strRef=StrRef(f=str(names)))
    bars.y_axis.numFmt = "#,##0"
    bars.width, bars.height = 18, 9
    summary.add_chart(bars, "H4")

    show_axes(bars)
    summary.add_chart(scatter, "H24")

    def save(tmp):
        with exact_numbers():
            wb.save(tmp)

    write_atomic(path, save)
