"""The tuning report: ``xlrec tune --report OUT.xlsx``.

Sheets, and native charts (openpyxl's chart module, so Excel and LibreOffice draw them):

- **Summary**: the winner, its settings, its nested score, how the search went; the top of the ranking;
- **Ranking**: every setting scored, best first (rank, model, each parameter, RMSE, MAE, coverage, the folds'
  RMSE, seconds per fold, the folds it was scored on: a successive halving drops settings after fewer folds);
- **By k** (when the neighbour model was searched): RMSE against k for every metric, with the winner's
  weighting and ``by`` (or the neighbour model's best ones); a line chart;
- **By rank** (when mf was searched): RMSE against the l2 regularization, one line per rank (the best l1 of
  each); a line chart;
- **Held out** (when nested): every outer held-out cell, actual against predicted by the winner of a search
  that never saw it; a scatter chart with the line y = x.

Every string goes through :func:`~xlrec.io.cells.put`; the file is written through a temporary file and a rename.
"""

from __future__ import annotations

import openpyxl
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Font

from ..core.distances import METRICS
from ..core.tune import TuneResult
from ..files import write_atomic
from .cells import exact_numbers, put, put_row
from .report import predicted_against_actual, show_axes

__all__ = ["write_tune_report"]

_AMOUNT, _PERCENT, _SECONDS = "#,##0.00", "0.0%", "0.0000"
_BOLD = Font(bold=True)


def _row(ws, r, values, formats=(), bold=False):
    put_row(ws, r, ["none" if v is None else v for v in values], formats, bold)


def write_tune_report(result: TuneResult, path) -> None:
    """Write ``result`` as a workbook at ``path``."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Summary"
    best = result.best
    put(ws["A1"], "Which model, with which settings? xlrec tune").font = Font(bold=True, size=14)
    put(ws["A2"], result.summary())
    r = 4
    put(ws.cell(r, 1), "Winner").font = _BOLD
    facts = [("Model", best["model"])] + [(f"  {k}", v) for k, v in best["params"].items()]
    facts += [("RMSE in the search", best["mean_test_score"]), ("MAE in the search", best["mae"])]
    if result.nested_rmse is not None:
        facts += [("RMSE by nested cross-validation", result.nested_rmse),
                  ("MAE by nested cross-validation", result.nested_mae)]
    facts += [("Folds", result.folds), ("Seed", result.seed),
              ("Budget (seconds)", "none" if result.budget is None else result.budget),
              ("Search", (f"{result.search.describe()}; {len(result.search.results):,} of "
                          f"{result.search.n_candidates:,} settings scored")),
              ("Seconds", result.seconds), ("Bookings (known cells)", int(result.matrix.known.sum())),
              ("Typical booking (mean absolute known booking)", result.typical)]
    for label, value in facts:
        r += 1
        put(ws.cell(r, 1), label)
        cell = put(ws.cell(r, 2), "none" if value is None else value)
        if isinstance(value, float):
            cell.number_format = _AMOUNT
    if result.outer:
        r += 2
        put(ws.cell(r, 1), "Nested cross-validation: each outer fold's own search and its winner").font = _BOLD
        r += 1
        _row(ws, r, ["Outer fold", "Winner", "Settings", "RMSE on the fold", "Its search's RMSE", "Cells"], bold=True)
        for o in result.outer:
            r += 1
            settings = ", ".join(f"{k}={'none' if v is None else v}" for k, v in o["params"].items())
            _row(ws, r, [o["fold"], o["model"], settings, o["rmse"], o["inner_rmse"], o["cells"]],
                 (None, None, None, _AMOUNT, _AMOUNT))
    r += 2
    put(ws.cell(r, 1), "The best 20 settings (all on the Ranking sheet)").font = _BOLD
    formats = (None, None, None, _AMOUNT, _AMOUNT, _PERCENT, _AMOUNT, _SECONDS)
    for i, row in enumerate(result.table(20)):
        _row(ws, r + 1 + i, row, formats if i else (), bold=not i)
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 18
    ws.column_dimensions["C"].width = 50

    _ranking(wb, result)
    anchor = iter(["J4", "J24", "J44"])
    _by_k(wb, ws, result, anchor)
    _by_rank(wb, ws, result, anchor)
    _held_out(wb, ws, result, anchor)

    def save(tmp):
        with exact_numbers():
            wb.save(tmp)

    write_atomic(path, save)


def _ranking(wb, result):
    ws = wb.create_sheet("Ranking")
    names = list(dict.fromkeys(k for r in result.search.results for k in r["params"]))
    splits = [f"split{f}_test_score" for f in range(result.folds)]
    head = ["Rank", "Model", *names, "RMSE", "MAE", "Coverage", *[f"RMSE fold {f + 1}" for f in range(result.folds)],
            "Seconds per fold", "Folds scored"]
    _row(ws, 1, head, bold=True)
    n = len(names)
    formats = [None, None] + [None] * n + [_AMOUNT, _AMOUNT, _PERCENT] + [_AMOUNT] * result.folds + [_SECONDS]
    for i, res in enumerate(result.search.results, 2):
        values = [res["rank_test_score"], res["model"]] + [res["params"].get(k, "") for k in names]
        # a fold a halving search did not score this setting on stays empty
        values += [res["mean_test_score"], res["mae"], res["coverage"],
                   *["" if res[s] is None else res[s] for s in splits], res["mean_fit_time"], res["folds_scored"]]
        _row(ws, i, values, formats)
    ws.freeze_panes = "A2"


def _error_chart(wb, summary, anchor, sheet, header, rows, title, x_title):
    """A sheet of RMSE by (the first column's value x the header's series), and its line chart on the summary."""
    ws = wb.create_sheet(sheet)
    _row(ws, 1, header, bold=True)
    for i, values in enumerate(rows, 2):
        _row(ws, i, values, (None,) + (_AMOUNT,) * (len(header) - 1))
    chart = LineChart()
    chart.title, chart.x_axis.title, chart.y_axis.title = title, x_title, "RMSE (cross-validated)"
    chart.y_axis.numFmt = "#,##0"
    chart.width, chart.height = 18, 9
    show_axes(chart)
    chart.add_data(Reference(ws, min_col=2, max_col=len(header), min_row=1, max_row=len(rows) + 1),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(rows) + 1))
    summary.add_chart(chart, next(anchor))


def _by_k(wb, summary, result, anchor):
    rows = [r for r in result.search.results if r["model"] == "neighbors"]
    if not rows:
        return
    lead = rows[0]["params"]  # the best neighbour setting: the results are sorted
    keep = [r for r in rows if r["params"]["weighting"] == lead["weighting"] and r["params"]["by"] == lead["by"]]
    found = {r["params"]["metric"] for r in keep}
    metrics = [m for m in METRICS if m in found]  # in the declaration's order
    ks = sorted({r["params"]["k"] for r in keep})
    score = {(r["params"]["metric"], r["params"]["k"]): r["mean_test_score"] for r in keep}
    _error_chart(wb, summary, anchor, "By k", ["k", *metrics],
                 [[k, *[score.get((m, k), "") for m in metrics]] for k in ks],
                 f"Error against k ({lead['weighting']} weights, by {lead['by']})", "k (neighbours voting)")


def _by_rank(wb, summary, result, anchor):
    rows = [r for r in result.search.results if r["model"] == "mf"]
    if not rows:
        return
    best = {}
    for r in rows:  # the best l1 for each (rank, l2): the results are sorted, so the first seen is the best
        best.setdefault((r["params"]["rank"], r["params"]["l2"]), r["mean_test_score"])
    ranks = sorted({k for k, _ in best})
    l2s = sorted({l2 for _, l2 in best})
    _error_chart(wb, summary, anchor, "By rank", ["l2", *[f"rank {k}" for k in ranks]],
                 [[l2, *[best.get((k, l2), "") for k in ranks]] for l2 in l2s],
                 "Matrix factorization: error against regularization, by rank (best l1)", "l2 regularization")


def _held_out(wb, summary, result, anchor):
    h = result.held_out
    if not len(h["actual"]):
        return
    m = result.matrix
    ws = wb.create_sheet("Held out")
    _row(ws, 1, ["Salesperson", "Client", "Actual", "Predicted", "Error"], bold=True)
    for r, (i, j, a, p) in enumerate(zip(h["rows"].tolist(), h["cols"].tolist(), h["actual"].tolist(),
                                         h["predicted"].tolist()), 2):
        _row(ws, r, [m.salespeople[i], m.clients[j], a, p, p - a], (None, None, _AMOUNT, _AMOUNT, _AMOUNT))
    scatter = predicted_against_actual(ws, h["actual"], h["predicted"], 7, "Predicted against actual: each outer "
                                       "fold's winner on the cells its search never saw")
    summary.add_chart(scatter, next(anchor))
