"""The spreadsheet functions' logic, shared by the Excel UDFs (:mod:`xlrec.excel.udfs`) and ``xlrec convert``.

Each function takes ``fit(cells, **params) -> Fitted`` (how the caller caches fitted models), the matrix as a
list of rows (client names in the first row, salesperson names in the first column) and the function's
arguments as a spreadsheet passes them (blank = omitted). It returns a number or a table (a list of rows) and
raises :class:`~xlrec.exceptions.NotFoundError` for what Excel shows as ``#N/A`` (an unknown name, no
prediction possible) and :class:`~xlrec.exceptions.XlrecError` for a bad matrix or argument. Only numpy and
scipy are needed, so xlwings Lite runs these too.
"""

from __future__ import annotations

import math

from .exceptions import InputError, NotFoundError
from .sheet.settings import blank, params

__all__ = ["FUNCTIONS", "ARGUMENTS", "predict_booking", "explain_booking", "similar_salespeople",
           "recommend_clients", "fill_matrix", "evaluate_model", "tune_model", "predict_booking_table"]


def _count(n, default=5, name="n", low=1):
    if blank(n):
        return default
    try:
        value = float(n)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a whole number, not {n!r}") from None
    if not value.is_integer() or value < low:
        raise InputError(f"{name} must be a whole number of at least {low}, not {n!r}")
    return int(value)


def predict_booking(fit, matrix, salesperson, client, k=None, metric=None, weighting=None, by=None, model=None,
                    settings=None):
    fitted = fit(matrix, **params(model, settings, k=k, metric=metric, weighting=weighting, by=by))
    value = fitted.value(salesperson, client)
    if math.isnan(value):
        raise NotFoundError(f"no prediction: {fitted.predict(salesperson, client).reason}")
    return value


def explain_booking(fit, matrix, salesperson, client, k=None, metric=None, weighting=None, by=None, model=None,
                    settings=None):
    return fit(matrix, **params(model, settings, k=k, metric=metric, weighting=weighting, by=by)).predict(
        salesperson, client).table()


def similar_salespeople(fit, matrix, salesperson, n=None, metric=None):
    fitted = fit(matrix, **params(metric=metric))
    rows = [["Salesperson", "Distance", "Shared clients"]]
    rows += [[name, d, s] for name, d, s in fitted.model.similar(salesperson, _count(n))]
    return rows


def recommend_clients(fit, matrix, salesperson, n=None, k=None, metric=None, weighting=None, model=None,
                      settings=None):
    fitted = fit(matrix, **params(model, settings, k=k, metric=metric, weighting=weighting))
    m = fitted.matrix
    i = m.salesperson_index(salesperson)
    values = fitted.filled.values
    cols = [j for j in range(len(m.clients)) if not m.known[i, j] and not math.isnan(values[i, j])]
    cols.sort(key=lambda j: (-values[i, j], j))
    return [["Client", "Predicted bookings"]] + [[m.clients[j], float(values[i, j])] for j in cols[:_count(n)]]


def predict_booking_table(fit, table, salesperson, client, period=None, model=None, settings=None):
    """The bookings of a salesperson with a client in a period (the next after the table's last by default),
    from a bookings table; a known booking is itself."""
    options = params("cp" if blank(model) else model, settings)
    if options["model"] != "cp":
        raise InputError(f"model {options['model']!r} predicts from a sales matrix (PREDICT_BOOKING); a bookings "
                         "table over periods is read by model cp")
    fitted = fit(table, table=True, **options)
    tensor = fitted.matrix
    label = tensor.next_period if blank(period) else _period_text(period)
    value = fitted.model.predict(salesperson, client, label).value
    if value is None or math.isnan(value):
        raise NotFoundError("no prediction")
    return value


def _period_text(period) -> str:
    if isinstance(period, float) and period.is_integer():
        return str(int(period))  # a year typed as a number
    return str(period).strip()


def fill_matrix(fit, matrix, k=None, metric=None, weighting=None, by=None, model=None, settings=None):
    fitted = fit(matrix, **params(model, settings, k=k, metric=metric, weighting=weighting, by=by))
    m, values = fitted.matrix, fitted.filled.values
    title = matrix[0][0] if matrix and matrix[0] else None
    rows = [[title if title is not None else ""] + list(m.clients)]
    for name, row in zip(m.salespeople, values):
        rows.append([name] + ["" if math.isnan(v) else float(v) for v in row])
    return rows


def evaluate_model(fit, matrix, model=None, folds=None, seed=None, repeats=None, settings=None):
    """The cross-validation table of :func:`xlrec.core.evaluate.cross_validate` (the model, then the baselines:
    RMSE, MAE, relative error, coverage, seconds per fold), then a blank row and the verdict. ``fit`` reads
    the matrix (the caller's parsing, with its cell addresses in errors, and a check of the parameters); the
    folds fit models of their own."""
    from .core.evaluate import cross_validate
    from .core.models import make_model

    p = params(model, settings)
    folds, seed = _count(folds, 5, "folds", 2), _count(seed, 0, "seed", 0)
    repeats = _count(repeats, 1, "repeats", 1)
    evaluation = cross_validate(fit(matrix, **p).matrix, make_model(**p), folds=folds, repeats=repeats, seed=seed)
    rows = evaluation.table()
    width = len(rows[0])
    return rows + [[""] * width, [evaluation.verdict()] + [""] * (width - 1)]


def tune_model(fit, matrix, models=None, budget=None, folds=None, seed=None, top=None):
    """The ranking of :func:`xlrec.core.tune.tune` (rank, model, settings, RMSE, MAE, coverage, the folds'
    spread, seconds per fold), the best ``top`` rows (default 20), then a blank row and the summary: the winner
    and its nested score. ``budget`` defaults to :data:`TUNE_BUDGET` seconds: a worksheet waits for it."""
    from .core.tune import tune

    if isinstance(models, (list, tuple)):  # a range of names
        models = ",".join(str(v) for row in models for v in (row if isinstance(row, (list, tuple)) else [row])
                          if not blank(v))
    models = None if blank(models) else str(models)
    if blank(budget):
        budget = TUNE_BUDGET
    else:
        try:
            budget = float(budget)
        except (TypeError, ValueError):
            raise InputError(f"budget must be a number of seconds, not {budget!r}") from None
    folds, seed, top = _count(folds, 5, "folds", 2), _count(seed, 0, "seed", 0), _count(top, 20, "top", 1)
    result = tune(fit(matrix).matrix, models=models, folds=folds, seed=seed, budget=budget)
    rows = result.table(top)
    width = len(rows[0])
    return rows + [[""] * width, [result.summary()] + [""] * (width - 1)]


#: TUNE_MODEL's time budget when none is given, in seconds
TUNE_BUDGET = 30.0

#: name -> (function, "scalar" or "table")
FUNCTIONS = {
    "PREDICT_BOOKING": (predict_booking, "scalar"),
    "EXPLAIN_BOOKING": (explain_booking, "table"),
    "SIMILAR_SALESPEOPLE": (similar_salespeople, "table"),
    "RECOMMEND_CLIENTS": (recommend_clients, "table"),
    "FILL_MATRIX": (fill_matrix, "table"),
    "EVALUATE_MODEL": (evaluate_model, "table"),
    "TUNE_MODEL": (tune_model, "table"),
    "PREDICT_BOOKING_TABLE": (predict_booking_table, "scalar"),
}

#: name -> its arguments, in order (the first is always the matrix)
ARGUMENTS = {name: f.__code__.co_varnames[1:f.__code__.co_argcount] for name, (f, _) in FUNCTIONS.items()}
