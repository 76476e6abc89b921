"""The spreadsheet functions' logic, shared by the Excel UDFs (:mod:`xlrec.excel.udfs`) and ``xlrec convert``.

Each function takes ``fit(cells, **params) -> Fitted`` (how the caller caches fitted models), the matrix as a
list of rows (client names in the first row, salesperson names in the first column) and the function's
arguments as a spreadsheet passes them (blank = omitted). In place of the matrix a function takes a model: one
cell naming a model file (:mod:`xlrec.sheet.models`); ``fit(reference)``, without parameters, then gives the
model it holds, and the function's model arguments must be blank (the file fixes them). It returns a number or a table (a list of rows) and
raises :class:`~xlrec.exceptions.NotFoundError` for what Excel shows as ``#N/A`` (an unknown name, no
prediction possible) and :class:`~xlrec.exceptions.XlrecError` for a bad matrix or argument. Only numpy and
scipy are needed, so xlwings Lite runs these too.
"""

from __future__ import annotations

import math

from .exceptions import InputError, NotFoundError
from .sheet.models import model_reference
from .sheet.settings import blank, params

__all__ = ["FUNCTIONS", "ARGUMENTS", "predict_booking", "explain_booking", "similar_salespeople",
           "recommend_clients", "fill_matrix", "evaluate_model", "predict_booking_table", "model_info",
           "assign_clients", "tune_model"]


def _fit(fit, matrix, model=None, settings=None, **given):
    """``fit`` of the matrix with the model its arguments name, or of the model file ``matrix`` names (whose
    parameters are its own: then every model argument must be blank)."""
    if model_reference(matrix) is not None:
        for name, value in (("model", model), ("settings", settings), *given.items()):
            if not blank(value):
                raise InputError(f"{name}: a model file fixes the model and its parameters; leave {name} blank "
                                 "when the first argument names a model file")
        return fit(matrix)
    return fit(matrix, **params(model, settings, **given))


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
    fitted = _fit(fit, matrix, model, settings, k=k, metric=metric, weighting=weighting, by=by)
    value = fitted.value(salesperson, client)
    if math.isnan(value):
        raise NotFoundError(f"no prediction: {fitted.predict(salesperson, client).reason}")
    return value


def explain_booking(fit, matrix, salesperson, client, k=None, metric=None, weighting=None, by=None, model=None,
                    settings=None):
    return _fit(fit, matrix, model, settings, k=k, metric=metric, weighting=weighting, by=by).predict(
        salesperson, client).table()


def similar_salespeople(fit, matrix, salesperson, n=None, metric=None):
    fitted = _fit(fit, matrix, metric=metric)
    if not hasattr(fitted.model, "similar"):
        raise InputError(f"SIMILAR_SALESPEOPLE lists the neighbours of model neighbors; the model file holds "
                         f"model {fitted.model.name}")
    rows = [["Salesperson", "Distance", "Shared clients"]]
    rows += [[name, d, s] for name, d, s in fitted.model.similar(salesperson, _count(n))]
    return rows


def recommend_clients(fit, matrix, salesperson, n=None, k=None, metric=None, weighting=None, model=None,
                      settings=None):
    fitted = _fit(fit, matrix, model, settings, k=k, metric=metric, weighting=weighting)
    m = fitted.matrix
    i = m.salesperson_index(salesperson)
    values = fitted.filled.values
    cols = [j for j in range(len(m.clients)) if not m.known[i, j] and not math.isnan(values[i, j])]
    cols.sort(key=lambda j: (-values[i, j], j))
    return [["Client", "Predicted bookings"]] + [[m.clients[j], float(values[i, j])] for j in cols[:_count(n)]]


def predict_booking_table(fit, table, salesperson, client, period=None, model=None, settings=None):
    """The bookings of a salesperson with a client in a period (the next after the table's last by default),
    from a bookings table; a known booking is itself."""
    if model_reference(table) is not None:
        fitted = _fit(fit, table, model, settings)
        if fitted.model.name != "cp":
            raise InputError(f"the model file holds model {fitted.model.name}, which predicts from a sales matrix "
                             "(PREDICT_BOOKING); periods are predicted by model cp")
        tensor = fitted.model.tensor_
    else:
        options = params("cp" if blank(model) else model, settings)
        if options["model"] != "cp":
            raise InputError(f"model {options['model']!r} predicts from a sales matrix (PREDICT_BOOKING); a "
                             "bookings table over periods is read by model cp")
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
    fitted = _fit(fit, matrix, model, settings, k=k, metric=metric, weighting=weighting, by=by)
    m, values = fitted.matrix, fitted.filled.values
    title = matrix[0][0] if model_reference(matrix) is None and matrix and matrix[0] else None
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

    folds, seed = _count(folds, 5, "folds", 2), _count(seed, 0, "seed", 0)
    repeats = _count(repeats, 1, "repeats", 1)
    if model_reference(matrix) is not None:  # the model file's model and its training data
        fitted = _fit(fit, matrix, model, settings)
        data, unfitted = fitted.matrix, fitted.model.clone()
    else:
        p = params(model, settings)
        data, unfitted = fit(matrix, **p).matrix, make_model(**p)
    evaluation = cross_validate(data, unfitted, folds=folds, repeats=repeats, seed=seed)
    rows = evaluation.table()
    width = len(rows[0])
    return rows + [[""] * width, [evaluation.verdict()] + [""] * (width - 1)]


def model_info(fit, model):
    """The card of a model file: rows of (what, value)."""
    from .core.persist import card_rows

    if model_reference(model) is None:
        raise InputError("MODEL_INFO takes a model file: its path, or its name in the models folder")
    return card_rows(_fit(fit, model).model.card_)


def assign_clients(fit, matrix, capacity=None, keep_bonus=None, keep_share=None, owners_per_client=None,
                   max_share=None, model=None, settings=None):
    """The client table of the optimal assignment (:func:`xlrec.core.assign.assign`): client, owner, expected
    bookings, today's owner, kept / moved / new, booking or prediction; then a blank row and the summary."""
    from .core.assign import assign

    fitted = _fit(fit, matrix, model, settings)
    a = assign(fitted.matrix, filled=fitted.filled,
               capacity=None if blank(capacity) else _count(capacity, name="capacity", low=0),
               keep_bonus=0.0 if blank(keep_bonus) else _amount(keep_bonus, "keep_bonus"),
               keep_share=0.0 if blank(keep_share) else _amount(keep_share, "keep_share"),
               owners_per_client=_count(owners_per_client, 1, "owners_per_client"),
               max_share=None if blank(max_share) else _amount(max_share, "max_share"))
    rows = a.clients_table()
    width = len(rows[0])
    return rows + [[""] * width, [a.summary()] + [""] * (width - 1)]


def _amount(value, name):
    try:
        out = float(value[:-1]) / 100 if isinstance(value, str) and value.strip().endswith("%") else float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, not {value!r}") from None
    return out


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
    "MODEL_INFO": (model_info, "table"),
    "ASSIGN_CLIENTS": (assign_clients, "table"),
}

#: name -> its arguments, in order (the first is always the matrix, or a model file)
ARGUMENTS = {name: f.__code__.co_varnames[1:f.__code__.co_argcount] for name, (f, _) in FUNCTIONS.items()}
