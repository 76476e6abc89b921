"""The Excel functions (xlwings UDFs): convert the arguments, call the core, format the result.

Name the module ``xlrec.excel`` in xlwings' "UDF Modules" setting. ``matrix`` is always a range with the client
names in its first row and the salesperson names in its first column. Repeated calls over the same matrix and
options share one fitted model (:data:`xlrec.sheet.cache.default_cache`).

A model named by name (not a path) is looked up in the models folder: the workbook's ``XLREC_MODELS`` row
of its ``xlwings.conf`` sheet when the function can read the workbook, else the environment variable
``XLREC_MODELS`` (:mod:`xlrec.sheet.models`). Only classic desktop xlwings (Windows, VBA + COM) hands a
function its calling cell, and so the workbook: it fills the parameter named ``caller`` (its reserved name),
which Excel never shows. Under xlwings Server and xlwings Lite (Office.js) a custom function receives its
arguments and nothing of the workbook, so there the parameter is removed from the signature xlwings sees and
the environment variable alone names the folder.

Errors never show a traceback: an unknown salesperson or client gives ``#N/A`` where the Excel runtime has
error values (xlwings Server and Lite), and the message otherwise; a bad matrix gives the message, naming the
cell within the range and its content (e.g. ``C4: 'n/a' is not a number``).
"""

from __future__ import annotations

import functools
import inspect
import os
import sys

import xlwings as xw

from .. import functions
from ..core.models import DEFAULT_MODEL, MODELS, format_amount
from ..core.tune import TUNABLE
from ..exceptions import NotFoundError, XlrecError
from ..functions import TUNE_BUDGET
from ..sheet.cache import fitted_for
from ..sheet.models import book_models_folder

__all__ = ["PREDICT_BOOKING", "EXPLAIN_BOOKING", "SIMILAR_SALESPEOPLE", "RECOMMEND_CLIENTS", "FILL_MATRIX",
           "EVALUATE_MODEL", "TUNE_MODEL", "PREDICT_BOOKING_TABLE", "MODEL_INFO", "ASSIGN_CLIENTS"]

# Office.js runtimes (xlwings Server, xlwings Lite) turn the text "#N/A" into a real error value
_ERROR_VALUES = os.environ.get("XLWINGS_ON_SERVER") == "true" or sys.platform == "emscripten"
# classic desktop xlwings (Windows, COM) passes the calling cell to a parameter named ``caller``; Office.js
# runtimes do not (they would show it as an argument in Excel): there it is removed from the signature
_CALLER_GIVEN = sys.platform.startswith("win") and not _ERROR_VALUES

_MATRIX_DOC = ("The sales matrix, with client names in its first row and salesperson names in its first column; "
               "or a model file: its path, or its name in the models folder (XLREC_MODELS)")


def _docs() -> dict:
    """The help of every argument, as Excel's function wizard shows it; a model parameter's comes from its
    declaration (:mod:`xlrec.core.models.params`)."""
    docs = {
        "matrix": _MATRIX_DOC,
        "salesperson": "The salesperson's name, as in the matrix's first column",
        "client": "The client's name, as in the matrix's first row",
        "n": "How many rows to list (default 5)",
        "table": "The bookings: a range of four columns (salesperson, client, period, amount) under a header row",
        "period": "The period to predict, as the table writes periods (e.g. 2025-Q1); default: the one after the "
                  "table's last",
        "model": f"The model: {', '.join(MODELS)}, or auto (chosen by a short search; default {DEFAULT_MODEL})",
        "models": f"The models to search, e.g. \"neighbors,mf\" (default: {', '.join(TUNABLE)})",
        "budget": f"Seconds the search may take, nested scores included (default {TUNE_BUDGET:g})",
        "top": "How many settings of the ranking to list (default 20)",
        "folds": "Cross-validation folds: each hides a share of the bookings and predicts them (at least 2; "
                 "default 5)",
        "seed": "How the bookings are dealt into folds (a whole number of at least 0; default 0)",
        "repeats": "Different dealings into folds, pooled (default 1)",
        "model_file": "A model file: its path, or its name in the models folder (XLREC_MODELS)",
        "settings": 'Other parameters of the model: a range of two columns (name, value) or text such as '
                    '"reg_client=5; iterations=20"',
    }
    for cls in MODELS.values():
        for p in cls.PARAMS:
            docs.setdefault(p.name, p.describe()[:1].upper() + p.describe()[1:])
    return docs


_DOCS = _docs()


def _fitted(matrix, **options):
    cells = matrix if matrix and isinstance(matrix[0], list) else [matrix]
    return fitted_for(cells, **options)


def _models_folder(caller):
    """The models folder the calling cell's workbook sets (a row ``XLREC_MODELS | folder`` of its
    ``xlwings.conf`` sheet, read as xlwings reads its own settings), or None: no caller (Office.js runtimes),
    no such sheet or row."""
    sheet = getattr(caller, "sheet", None)
    if sheet is None:
        return None
    from xlwings.utils import read_config_sheet  # xlwings' own reader of that sheet

    try:
        return book_models_folder(read_config_sheet(sheet.book))
    except Exception:  # noqa: BLE001 - a workbook that cannot be read here: the environment variable decides
        return None


def _caller(f):
    """A UDF's ``caller`` parameter, for runtimes that fill it (:data:`_CALLER_GIVEN`); elsewhere a wrapper
    whose signature leaves it out, so that Excel never shows it as an argument."""
    if _CALLER_GIVEN:
        return f

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)

    sig = inspect.signature(f)
    wrapper.__signature__ = sig.replace(parameters=[p for p in sig.parameters.values() if p.name != "caller"])
    del wrapper.__wrapped__  # xlwings reads the signature above, not the function's
    wrapper.__annotations__ = {k: v for k, v in f.__annotations__.items() if k != "caller"}
    return wrapper


def _safe(shape, f, *args, caller=None):
    """Run ``f`` over the shared cache; turn xlrec errors into what the cell shows: #N/A for unknown names (where
    Excel has error values), else the message. Scalar functions give a string, table functions a 1 x 1 table.
    A model named by name is looked up in the models folder of ``caller``'s workbook, if it sets one."""
    folder = _models_folder(caller)
    fit = _fitted if folder is None else functools.partial(_fitted, models_folder=folder)
    try:
        return f(fit, *args)
    except NotFoundError as exc:
        out = "#N/A" if _ERROR_VALUES else f"#N/A: {exc}"
    except XlrecError as exc:
        out = f"xlrec: {exc}"
    return out if shape == "scalar" else [[out]]


def _args(*names):
    def deco(f):
        for name in reversed(names):
            options = {"doc": _DOCS[name]}
            if name in ("matrix", "settings", "table"):
                options.update(ndim=2, empty=None)
            f = xw.arg(name, **options)(f)
        return f

    return deco


@xw.func
@_args("matrix", "salesperson", "client", "k", "metric", "weighting", "by", "model", "settings")
@_caller
def PREDICT_BOOKING(matrix, salesperson, client, k=None, metric=None, weighting=None, by=None, model=None,
                    settings=None, caller=None):
    """Predicted bookings of a salesperson with a client (the booking itself when it is known)."""
    return _safe("scalar", functions.predict_booking, matrix, salesperson, client, k, metric, weighting, by, model,
                 settings, caller=caller)


@xw.func
@_args("matrix", "salesperson", "client", "k", "metric", "weighting", "by", "model", "settings")
@_caller
def EXPLAIN_BOOKING(matrix, salesperson, client, k=None, metric=None, weighting=None, by=None, model=None,
                    settings=None, caller=None):
    """Where a prediction comes from (the neighbours that voted, a baseline's terms), then the prediction."""
    return _safe("table", functions.explain_booking, matrix, salesperson, client, k, metric, weighting, by, model,
                 settings, caller=caller)


@xw.func
@_args("matrix", "salesperson", "n", "metric")
@_caller
def SIMILAR_SALESPEOPLE(matrix, salesperson, n=None, metric=None, caller=None):
    """The salespeople most similar to one: name, distance and number of clients shared."""
    return _safe("table", functions.similar_salespeople, matrix, salesperson, n, metric, caller=caller)


@xw.func
@_args("matrix", "salesperson", "n", "k", "metric", "weighting", "model", "settings")
@_caller
def RECOMMEND_CLIENTS(matrix, salesperson, n=None, k=None, metric=None, weighting=None, model=None, settings=None,
                      caller=None):
    """The clients this salesperson has no booking with, highest predicted bookings first."""
    return _safe("table", functions.recommend_clients, matrix, salesperson, n, k, metric, weighting, model,
                 settings, caller=caller)


@xw.func
@_args("matrix", "k", "metric", "weighting", "by", "model", "settings")
@_caller
def FILL_MATRIX(matrix, k=None, metric=None, weighting=None, by=None, model=None, settings=None, caller=None):
    """The whole matrix with its names, every blank predicted (blank where nothing can be)."""
    return _safe("table", functions.fill_matrix, matrix, k, metric, weighting, by, model, settings, caller=caller)


@xw.func
@_args("matrix", "model", "folds", "seed", "repeats", "settings")
@_caller
def EVALUATE_MODEL(matrix, model=None, folds=None, seed=None, repeats=None, settings=None, caller=None):
    """How good the predictions are: cross-validated errors of a model beside the baselines."""
    return _safe("table", functions.evaluate_model, matrix, model, folds, seed, repeats, settings, caller=caller)


@xw.func
@_args("matrix", "models", "budget", "folds", "seed", "top")
def TUNE_MODEL(matrix, models=None, budget=None, folds=None, seed=None, top=None):
    """Which model and settings predict best: the ranking of a cross-validated search, then the winner."""
    return _safe("table", functions.tune_model, matrix, models, budget, folds, seed, top)


@xw.func
@_args("table", "salesperson", "client", "period", "model", "settings")
@_caller
def PREDICT_BOOKING_TABLE(table, salesperson, client, period=None, model=None, settings=None, caller=None):
    """Predicted bookings of a salesperson with a client in a period, from a table of bookings over periods."""
    return _safe("scalar", functions.predict_booking_table, table, salesperson, client, period, model, settings,
                 caller=caller)


@xw.func
@xw.arg("model", doc="A model file: its path, or its name in the models folder (XLREC_MODELS)")
@_caller
def MODEL_INFO(model, caller=None):
    """The card of a model file: the model, its parameters, its training data and scores."""
    return _safe("table", functions.model_info, model, caller=caller)


_ASSIGN_DOCS = {
    "capacity": "At most this many clients per salesperson (default: no limit)",
    "keep_bonus": "Added per client kept with today's owner (the largest booking): a move must pay more (default 0)",
    "keep_share": "Added per client kept, as a share of its expected bookings, e.g. 10% (default 0)",
    "owners_per_client": "Owners of every client (default 1)",
    "max_share": "No salesperson's expected bookings above this share of the total, e.g. 30% (default: none)",
}


@xw.func
@_args("matrix")
@xw.arg("capacity", doc=_ASSIGN_DOCS["capacity"])
@xw.arg("keep_bonus", doc=_ASSIGN_DOCS["keep_bonus"])
@xw.arg("keep_share", doc=_ASSIGN_DOCS["keep_share"])
@xw.arg("owners_per_client", doc=_ASSIGN_DOCS["owners_per_client"])
@xw.arg("max_share", doc=_ASSIGN_DOCS["max_share"])
@_args("model", "settings")
@_caller
def ASSIGN_CLIENTS(matrix, capacity=None, keep_bonus=None, keep_share=None, owners_per_client=None,
                   max_share=None, model=None, settings=None, caller=None):
    """Who should own each client: the assignment maximizing expected bookings, against today's owners."""
    return _safe("table", functions.assign_clients, matrix, capacity, keep_bonus, keep_share, owners_per_client,
                 max_share, model, settings, caller=caller)


def describe_prediction(p) -> str:
    """One line for a status bar or a message: the value and where it comes from."""
    return f"{p.salesperson}/{p.client}: {format_amount(p.value)}"
