"""The Excel functions (xlwings UDFs): convert the arguments, call the core, format the result.

Name the module ``xlrec.excel`` in xlwings' "UDF Modules" setting. ``matrix`` is always a range with the client
names in its first row and the salesperson names in its first column. Repeated calls over the same matrix and
options share one fitted model (:data:`xlrec.core.cache.default_cache`).

Errors never show a traceback: an unknown salesperson or client gives ``#N/A`` where the Excel runtime has
error values (xlwings Server and Lite), and the message otherwise; a bad matrix gives the message, naming the
cell within the range and its content (e.g. ``C4: 'n/a' is not a number``).
"""

from __future__ import annotations

import math
import os
import sys

import xlwings as xw

from ..core.base import format_amount
from ..core.cache import default_cache
from ..exceptions import NotFoundError, XlrecError

__all__ = ["PREDICT_BOOKING", "EXPLAIN_BOOKING", "SIMILAR_SALESPEOPLE", "RECOMMEND_CLIENTS", "FILL_MATRIX"]

# Office.js runtimes (xlwings Server, xlwings Lite) turn the text "#N/A" into a real error value
_ERROR_VALUES = os.environ.get("XLWINGS_ON_SERVER") == "true" or sys.platform == "emscripten"

_MATRIX_DOC = "The sales matrix, with client names in its first row and salesperson names in its first column"
_DOCS = {
    "matrix": _MATRIX_DOC,
    "salesperson": "The salesperson's name, as in the matrix's first column",
    "client": "The client's name, as in the matrix's first row",
    "k": "How many similar salespeople vote (default 2)",
    "metric": 'Distance: "manhattan" (default), "euclidean", "supremum" or "nan_euclidean"',
    "weighting": 'Votes: "rank" (1, 1/2, ...; default), "uniform" or "distance"',
    "by": 'Neighbours are similar "salesperson" rows (default) or similar "client" columns',
    "n": "How many rows to list (default 5)",
}


def _blank(v):
    return v is None or (isinstance(v, str) and not v.strip())


def _params(k=None, metric=None, weighting=None, by=None):
    """Omitted optional arguments (blank) take the core's defaults."""
    out = {}
    if not _blank(k):
        out["k"] = k
    if not _blank(metric):
        out["metric"] = str(metric).strip().lower()
    if not _blank(weighting):
        out["weighting"] = str(weighting).strip().lower()
    if not _blank(by):
        out["by"] = str(by).strip().lower()
    return out


def _fitted(matrix, **params):
    cells = matrix if matrix and isinstance(matrix[0], list) else [matrix]
    return default_cache.get(cells, **params)


def _safe(shape, f, *args):
    """Run ``f``; turn xlrec errors into what the cell shows: #N/A for unknown names (where Excel has error
    values), else the message. Scalar functions give a string, table functions a 1 x 1 table."""
    try:
        return f(*args)
    except NotFoundError as exc:
        out = "#N/A" if _ERROR_VALUES else f"#N/A: {exc}"
    except XlrecError as exc:
        out = f"xlrec: {exc}"
    return out if shape == "scalar" else [[out]]


def _args(*names):
    def deco(f):
        for name in reversed(names):
            options = {"doc": _DOCS[name]}
            if name == "matrix":
                options.update(ndim=2, empty=None)
            f = xw.arg(name, **options)(f)
        return f

    return deco


@xw.func
@_args("matrix", "salesperson", "client", "k", "metric", "weighting", "by")
def PREDICT_BOOKING(matrix, salesperson, client, k=None, metric=None, weighting=None, by=None):
    """Predicted bookings of a salesperson with a client (the booking itself when it is known)."""
    return _safe("scalar", _predict_booking, matrix, salesperson, client, k, metric, weighting, by)


def _predict_booking(matrix, salesperson, client, k, metric, weighting, by):
    value = _fitted(matrix, **_params(k, metric, weighting, by)).value(salesperson, client)
    if math.isnan(value):
        return "#N/A" if _ERROR_VALUES else "#N/A: no similar salesperson has a booking with this client"
    return value


@xw.func
@_args("matrix", "salesperson", "client", "k", "metric", "weighting", "by")
def EXPLAIN_BOOKING(matrix, salesperson, client, k=None, metric=None, weighting=None, by=None):
    """The neighbours behind a prediction: name, distance, weight and booking, then the prediction."""
    return _safe("table", _explain_booking, matrix, salesperson, client, k, metric, weighting, by)


def _explain_booking(matrix, salesperson, client, k, metric, weighting, by):
    p = _fitted(matrix, **_params(k, metric, weighting, by)).predict(salesperson, client)
    if p.known:
        return [["Actual booking", "", "", p.value]]
    if p.value is None:
        return [["No prediction", p.reason, "", ""]]
    rows = [["Neighbour", "Distance", "Weight", "Booking"]]
    rows += [[n.name, n.distance, n.weight, n.value] for n in p.neighbors]
    label = "Prediction" if not p.fallback else f"Prediction ({p.fallback})"
    rows.append([label, "", "", p.value])
    return rows


@xw.func
@_args("matrix", "salesperson", "n", "metric")
def SIMILAR_SALESPEOPLE(matrix, salesperson, n=None, metric=None):
    """The salespeople most similar to one: name, distance and number of clients shared."""
    return _safe("table", _similar_salespeople, matrix, salesperson, n, metric)


def _similar_salespeople(matrix, salesperson, n, metric):
    n = 5 if _blank(n) else int(n)
    fitted = _fitted(matrix, **_params(metric=metric))
    rows = [["Salesperson", "Distance", "Shared clients"]]
    rows += [[name, d, s] for name, d, s in fitted.model.similar(salesperson, n)]
    return rows


@xw.func
@_args("matrix", "salesperson", "n", "k", "metric", "weighting")
def RECOMMEND_CLIENTS(matrix, salesperson, n=None, k=None, metric=None, weighting=None):
    """The clients this salesperson has no booking with, highest predicted bookings first."""
    return _safe("table", _recommend_clients, matrix, salesperson, n, k, metric, weighting)


def _recommend_clients(matrix, salesperson, n, k, metric, weighting):
    n = 5 if _blank(n) else int(n)
    fitted = _fitted(matrix, **_params(k, metric, weighting))
    m = fitted.matrix
    i = m.salesperson_index(salesperson)
    filled = fitted.filled
    cols = [j for j in range(len(m.clients)) if not m.known[i, j] and not math.isnan(filled.values[i, j])]
    cols.sort(key=lambda j: (-filled.values[i, j], j))
    return [["Client", "Predicted bookings"]] + [[m.clients[j], float(filled.values[i, j])] for j in cols[:n]]


@xw.func
@_args("matrix", "k", "metric", "weighting", "by")
def FILL_MATRIX(matrix, k=None, metric=None, weighting=None, by=None):
    """The whole matrix with its names, every blank predicted (blank where nothing can be)."""
    return _safe("table", _fill_matrix, matrix, k, metric, weighting, by)


def _fill_matrix(matrix, k, metric, weighting, by):
    fitted = _fitted(matrix, **_params(k, metric, weighting, by))
    m, values = fitted.matrix, fitted.filled.values
    title = matrix[0][0] if matrix and matrix[0] else None
    rows = [[title if title is not None else ""] + list(m.clients)]
    for name, row in zip(m.salespeople, values):
        rows.append([name] + ["" if math.isnan(v) else float(v) for v in row])
    return rows


def describe_prediction(p) -> str:
    """One line for a status bar or a message: the value and where it comes from."""
    return f"{p.salesperson}/{p.client}: {format_amount(p.value)}"
